"""A sample repository of pipelines for `conveyor ci`: a passing pipeline with a CI profile,
one that does not compile, a passing test, and files the search must leave alone."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

GOOD = """
from kfp import dsl
from kfp.dsl import Dataset, Output


@dsl.component
def double(n: int) -> int:
    return 2 * n


@dsl.component
def write(n: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(n))


@dsl.pipeline(name="doubler")
def doubler(n: int = 2) -> int:
    doubled = double(n=n)
    write(n=doubled.output)
    return doubled.output
"""

BROKEN = """
from kfp import dsl


@dsl.component
def greet() -> str:
    return "hello"


@dsl.component
def double(n: int) -> int:
    return 2 * n


@dsl.pipeline(name="broken")
def broken():
    double(n=greet().output)  # a str into an int: kfp refuses it as it compiles
"""

PROFILE = """
[ci.profiles."pipelines/good.py:doubler"]
parameters = {n = 3}
outputs = ["double/Output", "write/data", "Output"]
"""

PASSING_TEST = """
def test_arithmetic():
    assert 1 + 1 == 2
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def sample_repository(root: Path, *, broken: bool = True) -> Path:
    """`root` holding `pipelines/good.py:doubler` (with a profile), `pipelines/broken.py:
    broken` (a compile error, unless `broken` is False), `tests/` with one passing test, and
    pipelines and scripts the search skips or never imports."""
    write(root / "pipelines" / "good.py", GOOD)
    if broken:
        write(root / "pipelines" / "broken.py", BROKEN)
    write(root / "conveyor.toml", PROFILE)
    write(root / "tests" / "test_sample.py", PASSING_TEST)
    # Not searched: tests/, hidden folders, .venv; not imported: files without a pipeline.
    write(root / "tests" / "pipeline_fixture.py", BROKEN)
    write(root / ".hidden" / "pipeline.py", BROKEN)
    write(root / ".venv" / "lib" / "pipeline.py", BROKEN)
    write(root / "scripts" / "script.py", 'raise SystemExit("a script, never imported")\n')
    return root


@pytest.fixture(autouse=True)
def quick_pytest(monkeypatch):
    """The sample repository's test session without this environment's pytest plugins
    (schemathesis, moto...): loading them takes seconds, and the sample needs none."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
