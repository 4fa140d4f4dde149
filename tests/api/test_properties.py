"""Property-based tests of `/api/v1`: schemathesis reads the app's own `/openapi.json` and
sends what it describes, and what it does not (wrong types, missing fields, values off
their patterns), to a real server on 127.0.0.1. No answer is a 5xx, and every answer is
one the document declares, in the shape it declares.

The budget is fixed, and so is the seed, so that a run takes the same requests and stays
short (about 20 s on 2 cores): `EXAMPLES` per operation, and schemathesis's boundary
cases (its coverage phase). The home holds model `churn` (versions 1 to 3, `production`
on 3), endpoint `churn-prod`, monitor `churn-drift`, pipeline `churn-training`
(versions 1 to 3, `prod` on 3), schedule `nightly` running it and experiment `churn` with
run `depth-4`, the names the document gives as examples, so that generated requests reach
the registry, the endpoints, the monitors, the pipelines, the schedules and the
experiments, not only their 404s.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest
import schemathesis
from api_support import served
from hypothesis import HealthCheck, settings

from conveyor.api import create_app
from conveyor.config import Settings
from conveyor.home import open_home

EXAMPLES = 15
SEED = 20251006

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "database": "none", "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    }
)


def served_document() -> dict:
    """The document `/openapi.json` answers (the test checks it is): the app's, whatever
    its home."""
    with tempfile.TemporaryDirectory() as folder:
        with open_home(settings=Settings.from_env(folder, {})) as home:
            return create_app(home).openapi()


schema = schemathesis.openapi.from_dict(served_document(), config=CONFIG)


@pytest.fixture(scope="module")
def server(tmp_path_factory, saved):
    """The control API on its own home, served on 127.0.0.1: its client."""
    folder = tmp_path_factory.mktemp("properties")
    with open_home(settings=Settings.from_env(folder / "home", {"CONVEYOR_USER": "fuzz"})) as home:
        for n in (1, 2, 3):
            copy = folder / f"v{n}"
            shutil.copytree(saved, copy)
            home.registry.upload("churn", copy, framework="sklearn")
        home.registry.set_alias("churn", "production", 3)
        home.endpoints.create("churn-prod")
        home.endpoints.deploy("churn-prod", "churn@production")
        features = [{"name": f"x{i}", "type": "float"} for i in range(4)]
        home.monitors.create("churn-drift", "churn@production", model_monitoring_schema=features)
        for n in (1, 2, 3):
            home.pipelines.upload("churn-training", pipeline_spec(n), tags=["prod"])
        run = {"pipeline_job": {"pipeline": "churn-training@prod", "parameters": {"n": 1}}}
        home.schedules.create("nightly", "0 3 * * *", run)
        home.experiments.create("churn")
        home.experiments.start_run("churn", "depth-4")
        home.experiments.log_metrics("churn", "depth-4", {"accuracy": 0.91, "nan": float("nan")})
        with served(create_app(home)) as client:
            yield client


def pipeline_spec(n: int) -> dict:
    """A compiled pipeline spec whose parameter `n` defaults to `n`."""
    parameter = {"parameterType": "NUMBER_INTEGER", "defaultValue": n}
    return {
        "pipelineInfo": {"name": "churn-training"},
        "root": {"inputDefinitions": {"parameters": {"n": parameter}}},
    }


def test_the_document_is_the_servers(server):
    assert server.get("/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_5xx_and_answers_as_documented(case, server):
    case.call_and_validate(base_url=str(server.base_url))
