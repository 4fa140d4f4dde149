"""docs/monitoring.md names every public name of the monitors, every `Monitors` method,
every `monitors` command and every `/api/v1/monitors` route."""

import inspect
from pathlib import Path

import pytest
import typer

import conveyor.monitoring
from conveyor.api.monitors import router
from conveyor.cli.monitors import app
from conveyor.monitoring import Monitors

DOC = (Path(__file__).parents[2] / "docs" / "monitoring.md").read_text()
MODULES = {f"conveyor.monitoring.{m}" for m in ("errors", "monitors", "records", "specs")}
"""The monitors' own modules (the statistical core documents its own names)."""


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in conveyor.monitoring.__all__
        if getattr(getattr(conveyor.monitoring, n), "__module__", None) in MODULES
    ],
)
def test_public_names_are_documented(name):
    assert f"`{name}" in DOC or f" {name}" in DOC


@pytest.mark.parametrize(
    "method",
    [n for n, _ in inspect.getmembers(Monitors, inspect.isfunction) if not n.startswith("_")],
)
def test_monitors_methods_are_documented(method):
    assert f"`{method}(" in DOC


@pytest.mark.parametrize("command", sorted(typer.main.get_command(app).commands))
def test_commands_are_documented(command):
    assert f"conveyor monitors {command}" in DOC


@pytest.mark.parametrize(
    "route", [f"`{m} {r.path}`" for r in router.routes for m in sorted(r.methods)]
)
def test_routes_are_documented(route):
    assert route in DOC
