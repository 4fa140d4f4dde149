"""docs/serving.md names every `endpoints` command and `serve` option, every method of
`Endpoints`, every setting, route, metric and prediction log column."""

import inspect
from pathlib import Path

import pytest
import typer

from conveyor.cli.endpoints import app
from conveyor.cli.main import app as main_app
from conveyor.serving import oip, settings, vertex
from conveyor.serving.endpoints import Endpoints
from conveyor.serving.metrics import Metrics
from conveyor.serving.prediction_log import SCHEMA
from conveyor.serving.service import PredictionService
from conveyor.serving.settings import ServerSettings

DOC = (Path(__file__).parents[2] / "docs" / "serving.md").read_text()


@pytest.mark.parametrize("command", sorted(typer.main.get_command(app).commands))
def test_commands_are_documented(command):
    assert f"`conveyor endpoints {command}" in DOC


@pytest.mark.parametrize(
    "option",
    [o for p in typer.main.get_command(main_app).get_command(None, "serve").params for o in p.opts],
)
def test_serve_options_are_documented(option):
    assert option in DOC


@pytest.mark.parametrize(
    "method",
    [n for n, _ in inspect.getmembers(Endpoints, inspect.isfunction) if not n.startswith("_")],
)
def test_endpoints_methods_are_documented(method):
    assert f"`{method}(" in DOC


@pytest.mark.parametrize(
    "variable",
    sorted(set(settings.__doc__.split("`")[1::2]) - set(ServerSettings.__dataclass_fields__)),
)
def test_settings_are_documented(variable):
    assert variable in DOC


def test_routes_are_documented(own_home):
    service = PredictionService(own_home, ServerSettings())
    for route in [*vertex.routes(service), *oip.routes(service)]:
        path = route.path.replace("/v1/projects/{project}/locations/{location}", "/v1")
        path = path.replace("{target}", "{e}").replace(
            "{name}/versions/{version}", "{name}[/versions/{v}]"
        )
        path = (
            path
            if "[" in path or "/v2/models" not in path
            else path.replace("{name}", "{name}[/versions/{v}]")
        )
        assert path.split("{e}")[0] in DOC, path


def test_metrics_and_log_columns_are_documented():
    names = [m._name for m in vars(Metrics()).values() if hasattr(m, "_name")]
    assert len(names) == 9
    for name in names:
        assert f"`{name}" in DOC, name
    for column in SCHEMA.names:
        assert f"`{column}`" in DOC, column
