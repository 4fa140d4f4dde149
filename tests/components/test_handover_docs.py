"""docs/components.md documents every hand-over component with each of its inputs and
outputs and its defaults, as for the development components (test_docs.py)."""

import pytest
from test_docs import sections, table

import conveyor.components as components


@pytest.mark.parametrize("name", components.HANDOVER)
def test_every_hand_over_input_and_output_is_in_the_reference(name):
    assert getattr(components, name).component_spec.name == name.replace("_", "-")
    section = sections().get(name)
    assert section is not None, f"docs/components.md has no section for {name}"
    spec = getattr(components, name).component_spec
    inputs, _, outputs = section.partition("| Output |")
    rows = table(inputs)
    for key, value in spec.inputs.items():
        assert key in rows, f"{name}: input {key} is not documented"
        if value.default not in (None, ""):
            shown = str(value.default).lower() if isinstance(value.default, bool) else value.default
            assert f"| {shown} |" in rows[key] or f"| `{shown}` |" in rows[key], (
                f"{name}: the documented default of {key} is not {value.default!r}"
            )
    assert set(rows) == set(spec.inputs), f"{name}: the inputs documented are not the inputs"
    assert set(table(outputs)) == set(spec.outputs or {}), f"{name}: the outputs documented differ"


def test_hand_over_components_are_exported_but_kept_apart():
    for name in components.HANDOVER:
        assert name not in components.__all__
        assert callable(getattr(components, name))
