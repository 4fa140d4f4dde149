"""The example continuous-training pipeline (examples/continuous_training.py), end to end
on two spans of the example data: it compiles with kfp's compiler to YAML that Conveyor
validates; the first run blesses, uploads and deploys the first model; the second run
takes the baseline span's steps from the cache, blesses its candidate against the model
in production, and starts a canary rollout of it on the endpoint."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kfp import compiler

from conveyor.client import Client
from conveyor.pipelines import spec as specs
from conveyor.pipelines import validate

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import continuous_training
    import make_data

    yield continuous_training, make_data
    for name in ("continuous_training", "make_data"):
        sys.modules.pop(name, None)


def blessing_of(client: Client, run_id: str) -> dict:
    for execution in client.get_run(run_id).executions:
        if execution.task_key == "condition-1/validate-model":
            return json.loads(Path(execution.outputs["blessing"][0].uri).read_text())
    raise AssertionError(f"run {run_id} has no blessing")


def test_the_example_compiles_to_a_valid_pipeline(tmp_path, example):
    continuous_training, _ = example
    compiled = tmp_path / "continuous_training.yaml"
    compiler.Compiler().compile(continuous_training.continuous_training, str(compiled))
    spec = specs.load(compiled)
    validate.check_spec(spec)
    executors = set(spec["deploymentSpec"]["executors"])
    for component in ("get-production-model", "infra-validate", "upload-model", "deploy-model"):
        assert f"exec-{component}" in executors
    assert spec["pipelineInfo"]["name"] == "churn-continuous-training"


def test_two_spans_end_to_end(tmp_path, example):
    continuous_training, make_data = example
    client = Client()
    data = tmp_path / "data"
    arguments = {"data": str(data / "span-{SPAN}" / "*.csv")}
    compiled = tmp_path / "continuous_training.yaml"
    compiler.Compiler().compile(continuous_training.continuous_training, str(compiled))

    make_data.write_span(data, 1)
    first = client.run(continuous_training.continuous_training, arguments)
    assert first.status == "SUCCEEDED", first.error
    assert not [t.name for t in first.tasks if t.status == "CACHED"]
    blessing = blessing_of(client, first.run_id)
    assert blessing["blessed"] is True and blessing["baseline"] is None
    assert client.get_model_version("churn@production").version_id == 1
    (deployed,) = client.get_endpoint("churn").deployed_models
    assert (deployed.alias, deployed.version_id) == ("production", 1)

    # The second run, from the compiled YAML: the same tasks, so the same cache entries.
    make_data.write_span(data, 2)
    second = client.run(str(compiled), arguments)
    assert second.status == "SUCCEEDED", second.error
    status = {t.name: t.status for t in second.tasks}
    assert {k for k, v in status.items() if v == "CACHED"} == {
        "extract-files-2",
        "compute-statistics-2",
        "infer-schema",
    }
    assert status["extract-files"] == "SUCCEEDED"  # the newest span: caching off
    assert status["condition-1/get-production-model"] == "SUCCEEDED"
    blessing = blessing_of(client, second.run_id)
    assert blessing["baseline"]["source"] == "model"
    changes = [c for c in blessing["checks"] if c["kind"] == "change"]
    assert changes and all(c["baseline"] is not None for c in changes)
    # The market moved: the model trained on span 2 beats span 1's on span 2's customers.
    assert blessing["blessed"] is True, blessing["reason"]
    assert status["condition-1/condition-2/upload-model"] == "SUCCEEDED"
    # Blessed, it is rolled out: a canary at 25 % beside production, which a server judges
    # (tests/serving/test_rollout_server.py); production stays until it is promoted.
    rollout = client.current_rollout("churn")
    assert (rollout.candidate, rollout.weight, rollout.alias) == ("churn@2", 25, "production")
    assert client.get_model_version("churn@candidate").version_id == 2
    assert client.get_model_version("churn@production").version_id == 1
    stable, canary = client.get_endpoint("churn").deployed_models
    assert (stable.alias, stable.version_id, stable.traffic_percentage) == ("production", 1, 75)
    assert (canary.alias, canary.version_id, canary.traffic_percentage) == (None, 2, 25)
    # Predicted in another process: a gradient-boosted model's OpenMP threads in this one
    # would make later tests start their fork server as a fresh interpreter.
    answer = json.loads(
        subprocess.run(
            [sys.executable, "-c", PREDICT],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert answer["modelVersionId"] == "1" and answer["predictions"] == [1]  # the largest share


PREDICT = """
import json
from conveyor.client import Client

customer = {"tenure_months": 3, "contract": "month-to-month", "internet_service": "fiber",
            "payment_method": "electronic-check", "monthly_charges": 95.0, "support_calls": 4,
            "senior_citizen": False, "paperless_billing": True}
print(json.dumps(Client().predict("churn", [customer])))
"""
