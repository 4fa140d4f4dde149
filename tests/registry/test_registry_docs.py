"""docs/registry.md names every public name of the registry and every `models` command."""

import inspect
from pathlib import Path

import pytest
import typer

import conveyor.registry
from conveyor.cli.models import app
from conveyor.registry import Registry

DOC = (Path(__file__).parents[2] / "docs" / "registry.md").read_text()


@pytest.mark.parametrize("name", conveyor.registry.__all__)
def test_public_names_are_documented(name):
    assert f"`{name}" in DOC or f" {name}" in DOC


@pytest.mark.parametrize(
    "method",
    [n for n, _ in inspect.getmembers(Registry, inspect.isfunction) if not n.startswith("_")],
)
def test_registry_methods_are_documented(method):
    assert f"`{method}(" in DOC


@pytest.mark.parametrize("command", sorted(typer.main.get_command(app).commands))
def test_commands_are_documented(command):
    assert f"`conveyor models {command}" in DOC
