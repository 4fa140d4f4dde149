"""docs/components.md documents every component with each of its inputs and outputs,
and its defaults as the code has them."""

import re
from pathlib import Path

import pytest

import conveyor.components as components

DOCS = Path(__file__).parents[2] / "docs" / "components.md"


def sections() -> dict[str, str]:
    text = DOCS.read_text()
    parts = re.split(r"^### `(\w+)`$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("name", components.__all__)
def test_every_input_and_output_is_in_the_reference(name):
    section = sections().get(name)
    assert section is not None, f"docs/components.md has no section for {name}"
    spec = getattr(components, name).component_spec
    inputs, _, outputs = section.partition("| Output |")
    rows = table(inputs)
    for key, value in spec.inputs.items():
        assert key in rows, f"{name}: input {key} is not documented"
        if value.default not in (None, ""):
            shown = (
                str(value.default).lower()
                if isinstance(value.default, bool)
                else str(value.default)
            )
            assert f"| {shown} |" in rows[key] or f"| `{shown}` |" in rows[key], (
                f"{name}: the documented default of {key} is not {value.default!r}"
            )
    assert set(rows) == set(spec.inputs), f"{name}: the inputs documented are not the inputs"
    assert set(table(outputs)) == set(spec.outputs or {}), f"{name}: the outputs documented differ"


def table(text: str) -> dict[str, str]:
    """Row of each `name` in a Markdown table."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", text, re.M)}
