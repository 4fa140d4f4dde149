"""monitor_model: a monitoring job run by a pipeline on Conveyor over a prediction log
written by the real logger. Drifted traffic: not passed, the anomalies listed, the
retraining branch taken; undrifted: passed, the other branch; fail_on_anomaly stops the
run; a FAILED job, an unknown monitor and a bad window fail the task naming the cause;
the pipeline compiles with kfp's compiler and the compiled YAML runs."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from component_runs import run_failed, run_ok
from kfp import compiler, dsl

from conveyor.client import Client
from conveyor.components import monitor_model
from conveyor.pipelines import spec as specs
from conveyor.pipelines import validate
from conveyor.serving.prediction_log import Entry, PredictionLogger

SCHEMA = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "float"},
    {"name": "plan", "type": "string"},
]
MONITOR = "churn-skew"


class Runtime:
    """What the prediction log asks of a runtime: its features and their schema."""

    feature_names = tuple(f["name"] for f in SCHEMA)

    def features(self):
        return SCHEMA


@dsl.component
def retrain(job_id: int) -> str:
    return f"retrain after job {job_id}"


@dsl.component
def carry_on(job_id: int) -> str:
    return f"carry on after job {job_id}"


@dsl.pipeline
def watch(monitor: str, window: str, offset: str, fail_on_anomaly: bool = False) -> str:
    checked = monitor_model(
        monitor=monitor, window=window, offset=offset, fail_on_anomaly=fail_on_anomaly
    ).set_caching_options(False)
    with dsl.If(checked.outputs["passed"] == False):  # noqa: E712 (a KFP condition)
        retrained = retrain(job_id=checked.outputs["job_id"])
    with dsl.Else():
        kept = carry_on(job_id=checked.outputs["job_id"])
    return dsl.OneOf(retrained.output, kept.output)


def rows(n: int, seed: int, *, tenure_shift: float = 0.0, plans=(0.5, 0.3, 0.2)) -> dict:
    """`n` rows of churn features; `tenure_shift` moves tenure, `plans` the plan shares."""
    rng = np.random.default_rng(seed)
    return {
        "tenure": np.clip(rng.normal(30 + tenure_shift, 10, n), 0, None).round().astype(int),
        "charges": rng.gamma(4.0, 20.0, n).round(2),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=list(plans)),
    }


def log_traffic(client: Client, data: dict, *, start: datetime, span: timedelta, tag: str):
    """Log `data` as requests of 50 rows to `churn@1`, spread over `span` from `start`."""
    logger = PredictionLogger(client.home.store, client.home.artifacts, max_buffered_rows=10**9)
    n, per_request = len(data["tenure"]), 50
    requests = -(-n // per_request)
    for r in range(requests):
        picked = range(r * per_request, min(n, (r + 1) * per_request))
        logger.add(
            Entry(
                timestamp=(start + span * r / requests).timestamp(),
                request_id=f"{tag}-{r}",
                endpoint="churn-prod",
                deployed_model_id="1",
                model="churn",
                model_version=1,
                protocol="vertex",
                instances=[
                    [int(data["tenure"][i]), float(data["charges"][i]), str(data["plan"][i])]
                    for i in picked
                ],
                predictions=["churn" if data["tenure"][i] > 30 else "stay" for i in picked],
                parameters=None,
                status=200,
                error=None,
                runtime=Runtime(),
            )
        )
    assert logger.flush()


@pytest.fixture
def client(tmp_path):
    """`churn@production` (version 1) watched for skew against a training file, with
    undrifted traffic 3 hours ago and traffic whose tenure and plans moved in the last hour."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    baseline = tmp_path / "train.parquet"
    pq.write_table(pa.table(rows(2000, seed=1)), baseline)
    with Client() as client:
        client.upload_model(
            "churn", folder, framework="custom", input_schema=SCHEMA, aliases=["production"]
        )
        client.create_monitor(
            MONITOR,
            "churn@production",
            training_dataset={"uri": str(baseline)},
            tabular_objective={"feature_skew_spec": {}},
            window="1h",
        )
        now = datetime.now(UTC)
        log_traffic(
            client,
            rows(1000, seed=2),
            start=now - timedelta(hours=2, minutes=55),
            span=timedelta(minutes=45),
            tag="before",
        )
        log_traffic(
            client,
            rows(1000, seed=3, tenure_shift=25, plans=(0.1, 0.2, 0.7)),
            start=now - timedelta(minutes=50),
            span=timedelta(minutes=40),
            tag="moved",
        )
        yield client


def parameters(run, task: str) -> dict:
    path = Path(run.task(task).log_path).parent / "executor_output.json"
    return json.loads(path.read_text()).get("parameterValues", {})


def anomalies_of(client: Client, run) -> dict:
    execution = next(
        e for e in client.get_run(run.run_id).executions if e.task_key == "monitor-model"
    )
    (artifact,) = execution.outputs["anomalies"]
    assert artifact.type == "system.Metrics"
    return dict(artifact.metadata)


def test_drifted_traffic_is_not_passed_and_takes_the_retraining_branch(client):
    run = run_ok(watch, {"monitor": MONITOR, "window": "1h", "offset": ""})

    outputs = parameters(run, "monitor-model")
    assert outputs["passed"] is False
    job = client.get_monitor_job(outputs["job_id"])
    assert job.state == "JOB_STATE_SUCCEEDED"
    assert run.outputs["Output"] == f"retrain after job {job.id}"
    assert run.task("condition-branches-1/condition-2/retrain").status == "SUCCEEDED"

    # The anomalies are the features that moved, each with the distance the job stored.
    metrics = {m.feature: m for m in client.list_monitor_job_metrics(job.id)}
    assert {f for f, m in metrics.items() if m.anomaly} == {"tenure", "plan"}
    assert anomalies_of(client, run) == {
        "feature_skew:tenure": pytest.approx(metrics["tenure"].value),
        "feature_skew:plan": pytest.approx(metrics["plan"].value),
        "anomalies": 2.0,
        "normal": 1.0,
        "insufficient_data": 0.0,
        "rows_read": 1000.0,
    }
    log = run.task("monitor-model").log_path.read_text()
    assert "NOT PASSED: 2 anomalies" in log
    assert "ANOMALY" in log and "feature_skew tenure" in log
    # A job like any other: its alerts raised and written to the alert log.
    alerts = client.search_monitoring_alerts(MONITOR)
    assert {(a.feature, a.kind) for a in alerts} == {("tenure", "anomaly"), ("plan", "anomaly")}
    assert {a.job_id for a in alerts} == {job.id}


def test_compiled_pipeline_over_undrifted_traffic_passes(client, tmp_path):
    compiled = tmp_path / "watch.yaml"
    compiler.Compiler().compile(watch, str(compiled))
    spec = specs.load(compiled)
    validate.check_spec(spec)
    executor = spec["deploymentSpec"]["executors"]["exec-monitor-model"]["container"]
    assert executor["image"] == "python:3.11"

    # The hour that ended two hours ago: the traffic before the move.
    run = run_ok(str(compiled), {"monitor": MONITOR, "window": "1h", "offset": "2h"})
    outputs = parameters(run, "monitor-model")
    assert outputs["passed"] is True
    assert run.outputs["Output"] == f"carry on after job {outputs['job_id']}"
    assert anomalies_of(client, run) == {
        "anomalies": 0.0,
        "normal": 3.0,
        "insufficient_data": 0.0,
        "rows_read": 1000.0,
    }
    assert "PASSED: no anomaly" in run.task("monitor-model").log_path.read_text()
    assert client.search_monitoring_alerts(MONITOR) == []

    # A window with no traffic at all: nothing judged, so no anomaly; the log says so.
    quiet = run_ok(str(compiled), {"monitor": MONITOR, "window": "1h", "offset": "10h"})
    assert parameters(quiet, "monitor-model")["passed"] is True
    assert anomalies_of(client, quiet)["insufficient_data"] == 3.0
    assert "3 fields with insufficient data" in quiet.task("monitor-model").log_path.read_text()


def test_fail_on_anomaly_stops_the_pipeline_only_on_an_anomaly(client):
    arguments = {"monitor": MONITOR, "window": "1h", "fail_on_anomaly": True}
    run = run_failed(watch, {**arguments, "offset": ""})
    assert run.task("monitor-model").status == "FAILED"
    assert "found 2 anomalies: feature_skew of 'tenure' is" in run.error
    assert "fail_on_anomaly is set" in run.error
    assert all("condition" not in t.name or t.status != "SUCCEEDED" for t in run.tasks)
    (job,) = client.list_monitor_jobs(MONITOR)
    assert job.state == "JOB_STATE_SUCCEEDED"  # the job itself stands, with its alerts

    passed = run_ok(watch, {**arguments, "offset": "2h"})
    assert parameters(passed, "monitor-model")["passed"] is True


def test_a_failed_job_an_unknown_monitor_and_a_bad_window_fail_the_task(client, tmp_path):
    partial = tmp_path / "partial.parquet"
    pq.write_table(pa.table({k: v for k, v in rows(500, seed=4).items() if k != "plan"}), partial)
    client.update_monitor(MONITOR, training_dataset={"uri": str(partial)})
    run = run_failed(watch, {"monitor": MONITOR, "window": "1h", "offset": ""})
    (job,) = client.list_monitor_jobs(MONITOR)
    assert job.state == "JOB_STATE_FAILED"
    assert f"monitoring job {job.id} of monitor '{MONITOR}' ended JOB_STATE_FAILED" in run.error
    assert "has no column 'plan'" in job.error and job.error in run.error

    run = run_failed(watch, {"monitor": "nope", "window": "1h", "offset": ""})
    assert "cannot run a job of monitor 'nope': " in run.error
    assert "no monitor" in run.error

    run = run_failed(watch, {"monitor": MONITOR, "window": "0d", "offset": ""})
    assert "window: '0d' is not a duration" in run.error
    run = run_failed(watch, {"monitor": " ", "window": "", "offset": ""})
    assert "monitor: give the name of a model monitor" in run.error
    assert len(client.list_monitor_jobs(MONITOR)) == 1  # refused before any job was made
