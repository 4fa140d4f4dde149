"""Property-based tests of the prediction routes against their OpenAPI document
(`conveyor.serving.openapi`): schemathesis generates requests from the document, valid and
invalid, and a real server on 127.0.0.1 must answer every one with no 5xx, a documented
status and content type, and a body of the documented schema.

Bounded for CI: a fixed number of examples per operation, derandomized (a fixed seed), so
each run sends the same requests in about the same time.
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from serving_support import SCHEMA, start_server

from conveyor.config import Settings
from conveyor.home import open_home
from conveyor.serving.app import create_app
from conveyor.serving.openapi import prediction_openapi
from conveyor.serving.settings import ServerSettings

pytestmark = pytest.mark.filterwarnings(
    # The runtime silences it as it loads a model, and pytest resets the filters per test,
    # while the server here loads its models once, for all of them.
    "ignore:X does not have valid feature names:UserWarning"
)
EXAMPLES = 50
STEERED = {
    "endpoint": ["churn-prod", "empty", "nowhere"],
    "name": ["churn", "nobody"],
    "version": ["1", "2", "candidate", "9"],
}
"""Path parameters drawn from names the server knows (and some it does not), so that the
generated requests reach models rather than all answering 404."""
NOT_APPLICABLE = [positive_data_acceptance]
"""A request the document allows can still not fit the model (a feature it lacks): 400."""


def document() -> dict:
    found = {"openapi": "3.0.3", "info": {"title": "predictions", "version": "1"}}
    found |= prediction_openapi()
    for operations in found["paths"].values():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["name"] in STEERED:
                    parameter["schema"] = {"type": "string", "enum": STEERED[parameter["name"]]}
    return found


SCHEMA_UNDER_TEST = schemathesis.openapi.from_dict(document())
SCHEMA_UNDER_TEST.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    deterministic=True,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained):
    """One server for the module: churn@1 and @2 (`candidate`), endpoint churn-prod serving
    churn@1, endpoint empty serving nothing."""
    folder = tmp_path_factory.mktemp("properties")
    with open_home(settings=Settings.from_env(folder / "home", environ={})) as home:
        for name, alias in (("v1", "production"), ("v2", "candidate")):
            copy = shutil.copytree(trained[name], folder / name)
            home.registry.upload(
                "churn", copy, framework="sklearn", input_schema=SCHEMA, aliases=[alias]
            )
        home.endpoints.create("churn-prod")
        home.endpoints.deploy("churn-prod", "churn@production")
        home.endpoints.create("empty")
        running = start_server(create_app(home, ServerSettings(log_flush_seconds=3600.0)))
        yield running
        running.stop()


@SCHEMA_UNDER_TEST.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_prediction_routes_keep_their_document(case, server):
    case.call_and_validate(base_url=server.url, excluded_checks=NOT_APPLICABLE)
