"""Monitoring jobs over the prediction log written by the real logger: drift, skew against
the training data found through lineage, output drift, insufficient data, the
significance gate, alerts with cooldown and recovery, FAILED jobs naming their cause, the
job's execution and lineage, and the queries; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jobs_support import NOW, SCHEMA, frame, log_traffic, training_run
from sqlalchemy import select

from conveyor.monitoring import JobState, MonitorNotFound, Monitors, MonitorUsageError, Objective
from conveyor.monitoring.errors import JobNotFound
from conveyor.registry import Registry
from conveyor.serving.prediction_log import LOG_TYPE, prediction_logs, read_prediction_logs
from conveyor.serving.prediction_log import SCHEMA as SCHEMA_V1
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.models import Event
from conveyor.store.metadata.monitoring_models import AlertDelivery, ModelMonitoringAlert

DAY = timedelta(days=1)
TARGET = {"start_time": NOW - DAY, "end_time": NOW}


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore.open(tmp_path / "artifacts", local_dir=tmp_path / "local")


@pytest.fixture
def lineage(store: MetadataStore, tmp_path: Path, monkeypatch):
    """`churn` version 1 registered from a training run that read `train_data`."""
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    execution, ids = training_run(store, tmp_path / "data", frame(5000, seed=1))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    registry = Registry(store)
    registry.upload(
        "churn", folder, framework="custom", input_schema=SCHEMA, execution_id=execution,
        aliases=["production"],
    )  # fmt: skip
    monitors = Monitors(store, registry, cache_dir=tmp_path / "cache")
    return monitors, ids


def drifted_traffic(store, artifacts):
    log_traffic(store, artifacts, frame(2000, seed=2), start=NOW - 2 * DAY, span=DAY)
    moved = frame(2000, seed=3, tenure_shift=15, plans=(0.1, 0.3, 0.6))
    log_traffic(store, artifacts, moved, start=NOW - DAY, span=DAY)


def by_key(metrics):
    return {(m.objective, m.feature): m for m in metrics}


def test_drift_skew_and_output_drift_are_found_on_what_moved(lineage, store, artifacts):
    monitors, ids = lineage
    drifted_traffic(store, artifacts)
    monitors.create("churn-watch", "churn@production")
    job = monitors.run("churn-watch", **TARGET)
    assert job.state is JobState.SUCCEEDED, job.error
    assert (job.model, job.model_version_id) == ("churn", 1)
    found = by_key(monitors.search_metrics("churn-watch"))
    for objective in (Objective.FEATURE_DRIFT, Objective.FEATURE_SKEW):
        assert found[objective, "tenure"].anomaly
        assert found[objective, "plan"].anomaly
        charges = found[objective, "charges"]
        assert not charges.anomaly and not charges.insufficient_data
        assert charges.value < charges.threshold
    output = found[Objective.PREDICTION_OUTPUT_DRIFT, "prediction"]
    assert output.anomaly and output.value > output.chance_level
    tenure = found[Objective.FEATURE_SKEW, "tenure"]
    assert (tenure.baseline_count, tenure.target_count) == (5000, 2000)
    assert set(tenure.statistics) == {"baseline", "target"}
    assert tenure.statistics["target"]["kind"] == "numeric"
    assert "values" in found[Objective.FEATURE_SKEW, "plan"].statistics["baseline"]
    assert job.summary["rows_read"] == 2000
    assert job.summary["objectives"]["feature_skew"] == {
        "anomaly": 2, "normal": 1, "insufficient_data": 0,
    }  # fmt: skip
    assert job.summary["files_read"] == 2
    # The job's execution: lineage to the version, the training data and the log files
    with store.transaction() as conn:
        events = list(conn.execute(select(Event).where(Event.execution_id == job.execution_id)))
    inputs = {}
    for event in events:
        inputs.setdefault(event.name, []).append(event.artifact_id)
    version = monitors.target_version("churn-watch")
    assert inputs["model"] == [version.artifact_id]
    assert inputs["baseline"] == [ids["train_data"]]  # the input named for training
    assert len(inputs["prediction_logs"]) == 2
    # The anomalies alerted, once each, on the alert log
    with store.transaction() as conn:
        alerts = list(conn.execute(select(ModelMonitoringAlert)))
        deliveries = list(conn.execute(select(AlertDelivery)))
    assert len(alerts) == 5 and all(a.kind == "anomaly" for a in alerts)
    assert {d.channel for d in deliveries} == {"log"} and len(deliveries) == 5
    assert all(d.state == "PENDING" and d.attempts == 0 for d in deliveries)
    message = next(a.message for a in alerts if a.feature == "tenure")
    assert "tenure" in message and "threshold 0.3" in message and "chance level" in message


def test_cooldown_silences_repeats_and_a_recovery_follows(lineage, store, artifacts):
    monitors, _ = lineage
    moved = frame(2000, seed=3, tenure_shift=15, plans=(0.1, 0.3, 0.6))
    log_traffic(store, artifacts, moved, start=NOW - DAY, span=DAY)
    log_traffic(store, artifacts, frame(2000, seed=4), start=NOW, span=DAY)
    monitors.create(
        "churn-skew", "churn@production",
        tabular_objective={"feature_skew_spec": {}},
        notification_spec={"webhook": {"url": "https://hooks.example.com/ml"},
                           "user_emails": ["a@example.com", "b@example.com"]},
    )  # fmt: skip
    first = monitors.run("churn-skew", **TARGET)
    again = monitors.run("churn-skew", **TARGET)
    back = monitors.run("churn-skew", start_time=NOW, end_time=NOW + DAY)
    assert first.summary["alerts"] == {"anomaly": 2, "recovery": 0}
    assert again.summary["alerts"] == {"anomaly": 0, "recovery": 0}  # within the cooldown
    assert back.summary["alerts"] == {"anomaly": 0, "recovery": 2}
    with store.transaction() as conn:
        alerts = list(conn.execute(select(ModelMonitoringAlert).order_by(ModelMonitoringAlert.id)))
        deliveries = list(conn.execute(select(AlertDelivery)))
    assert [(a.kind, a.feature) for a in alerts] == [
        ("anomaly", "tenure"), ("anomaly", "plan"), ("recovery", "tenure"), ("recovery", "plan"),
    ]  # fmt: skip
    assert len(deliveries) == 4 * 4  # log, webhook, two emails
    assert {(d.channel, d.destination) for d in deliveries} == {
        ("log", "alert-log"), ("webhook", "https://hooks.example.com/ml"),
        ("email", "a@example.com"), ("email", "b@example.com"),
    }  # fmt: skip
    assert "back to" in alerts[2].message


def test_few_rows_are_insufficient_data_and_never_alert(lineage, store, artifacts):
    monitors, _ = lineage
    log_traffic(store, artifacts, frame(60, seed=3, tenure_shift=40), start=NOW - DAY, span=DAY)
    monitors.create("churn-watch", "churn@production")
    job = monitors.run("churn-watch", **TARGET)
    assert job.state is JobState.SUCCEEDED, job.error
    metrics = monitors.search_metrics("churn-watch")
    assert metrics and all(m.insufficient_data and not m.anomaly for m in metrics)
    skew = by_key(metrics)[Objective.FEATURE_SKEW, "tenure"]
    assert (skew.value, skew.target_count) == (None, 60)
    assert job.summary["alerts"] == {"anomaly": 0, "recovery": 0}
    empty = monitors.run("churn-watch", start_time=NOW + DAY, end_time=NOW + 2 * DAY)
    assert empty.state is JobState.SUCCEEDED
    assert empty.summary["rows_read"] == 0


def test_the_significance_gate_stops_a_bare_threshold_alarm(lineage, store, artifacts, tmp_path):
    monitors, _ = lineage
    log_traffic(store, artifacts, frame(20000, seed=9), start=NOW - DAY, span=DAY, per_request=500)
    tiny = {"tenure": 1e-5, "charges": 1e-5, "plan": 1e-5}
    monitors.create(
        "churn-strict", "churn@production",
        tabular_objective={"feature_skew_spec": {"feature_alert_thresholds": tiny}},
    )  # fmt: skip
    job = monitors.run("churn-strict", **TARGET)
    assert job.state is JobState.SUCCEEDED, job.error
    for metric in monitors.search_metrics("churn-strict"):
        assert metric.value > metric.threshold  # a bare threshold would alarm
        assert metric.value < metric.chance_level  # chance explains it
        assert not metric.anomaly
    assert (tmp_path / "cache" / "nulls.json").exists()
    assert list((tmp_path / "cache" / "baselines").glob("*.json"))


def test_a_feature_missing_from_the_log_fails_the_job_by_name(lineage, store, artifacts):
    monitors, _ = lineage
    log_traffic(store, artifacts, frame(500, seed=2), start=NOW - DAY, span=DAY)
    monitors.create(
        "churn-age", "churn@production",
        model_monitoring_schema=[*SCHEMA, {"name": "age", "type": "float"}],
        tabular_objective={"feature_skew_spec": {}},
    )  # fmt: skip
    job = monitors.run("churn-age", **TARGET)
    assert job.state is JobState.FAILED
    assert "'age' (column feature.age)" in job.error
    assert job.ended_at is not None and job.execution_id is not None
    assert monitors.search_metrics("churn-age") == []


def test_a_corrupt_parquet_file_fails_the_job_naming_the_file(lineage, store, artifacts):
    monitors, _ = lineage
    files = log_traffic(store, artifacts, frame(500, seed=2), start=NOW - DAY, span=DAY)
    path = Path(files[0].removeprefix("file://"))
    path.write_bytes(b"PAR1 this is not parquet")
    monitors.create("churn-watch", "churn@production")
    job = monitors.run("churn-watch", **TARGET)
    assert job.state is JobState.FAILED
    assert str(path) in job.error and "fix or delete" in job.error


def test_a_baseline_without_the_feature_fails_the_job(lineage, store, artifacts, tmp_path):
    monitors, _ = lineage
    log_traffic(store, artifacts, frame(500, seed=2), start=NOW - DAY, span=DAY)
    baseline = tmp_path / "other.csv"
    baseline.write_text("tenure,charges\n1,2.0\n3,4.0\n")
    monitors.create(
        "churn-csv", "churn@production", training_dataset={"uri": str(baseline)},
        tabular_objective={"feature_skew_spec": {}},
    )  # fmt: skip
    job = monitors.run("churn-csv", **TARGET)
    assert job.state is JobState.FAILED
    assert "has no column 'plan'" in job.error


def test_jobs_and_metrics_are_queried_and_bad_input_refused(lineage, store, artifacts):
    monitors, _ = lineage
    drifted_traffic(store, artifacts)
    monitors.create("churn-watch", "churn@production")
    first = monitors.run("churn-watch", **TARGET)
    second = monitors.run("churn-watch", start_time=NOW - 2 * DAY, end_time=NOW - DAY)
    assert [j.id for j in monitors.jobs("churn-watch")] == [second.id, first.id]
    assert monitors.get_job(first.id) == first
    plan = monitors.search_metrics("churn-watch", feature="plan", objective="feature_skew")
    assert [m.window_end for m in plan] == [NOW - DAY, NOW]  # by window end
    recent = monitors.search_metrics("churn-watch", start_time=NOW - DAY)
    assert {m.job_id for m in recent} == {first.id}
    assert all(m.anomaly for m in monitors.search_metrics(anomalies_only=True))
    with pytest.raises(JobNotFound, match="no monitoring job 999"):
        monitors.get_job(999)
    with pytest.raises(MonitorNotFound):
        monitors.run("nope")
    with pytest.raises(MonitorUsageError, match="objective: 'drift' is not one of"):
        monitors.search_metrics(objective="drift")
    with pytest.raises(MonitorUsageError, match="limit"):
        monitors.jobs("churn-watch", limit=0)
    with pytest.raises(MonitorUsageError, match="window"):
        monitors.run("churn-watch", window="0d")
    with pytest.raises(MonitorUsageError, match="sampling_rate"):
        monitors.run("churn-watch", sampling_rate=2)
    with pytest.raises(MonitorUsageError, match="end_time"):
        monitors.run("churn-watch", start_time=NOW, end_time=NOW - DAY)


def test_sampling_reads_a_reproducible_share(lineage, store, artifacts):
    monitors, _ = lineage
    log_traffic(store, artifacts, frame(4000, seed=2), start=NOW - DAY, span=DAY)
    monitors.create("churn-watch", "churn@production", tabular_objective={"feature_skew_spec": {}})
    job = monitors.run("churn-watch", sampling_rate=0.25, **TARGET)
    assert 800 < job.summary["rows_read"] < 1200


def test_layout_1_files_are_read_from_their_json(lineage, store, artifacts, tmp_path):
    monitors, _ = lineage
    moved = frame(600, seed=3, tenure_shift=15, plans=(0.1, 0.3, 0.6))
    written = log_traffic(store, artifacts, moved, start=NOW - DAY, span=DAY)
    record = next(r for r in prediction_logs(store) if r.uri == written[0])
    table = read_prediction_logs([record])
    old = tmp_path / "old.parquet"  # as written before the typed columns
    pq.write_table(table.select(SCHEMA_V1.names), old)
    store.set_artifact_state(record.id, "DELETED")
    metadata = {k: v for k, v in record.metadata.items() if k != "layout"}
    found = store.create_artifact(str(old), LOG_TYPE, "predictions", metadata=metadata)
    store.publish_artifact(found, sha256="0" * 64, size=old.stat().st_size)
    monitors.create("churn-skew", "churn@production", tabular_objective={"feature_skew_spec": {}})
    job = monitors.run("churn-skew", **TARGET)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.summary["rows_read"] == 600
    found = by_key(monitors.search_metrics("churn-skew"))
    assert found[Objective.FEATURE_SKEW, "tenure"].anomaly
    assert not found[Objective.FEATURE_SKEW, "charges"].anomaly


def test_a_changed_column_type_fails_the_job(lineage, store, artifacts, tmp_path):
    monitors, _ = lineage
    written = log_traffic(store, artifacts, frame(500, seed=2), start=NOW - DAY, span=DAY)
    path = written[0].removeprefix("file://")
    table = pq.read_table(path)
    at = table.schema.get_field_index("feature.tenure")
    texts = table["feature.tenure"].cast(pa.string())
    pq.write_table(table.set_column(at, "feature.tenure", texts), path)  # tenure as text now
    monitors.create("churn-skew", "churn@production", tabular_objective={"feature_skew_spec": {}})
    job = monitors.run("churn-skew", **TARGET)
    assert job.state is JobState.FAILED
    assert "'tenure'" in job.error and "schema changed" in job.error


def test_a_target_gone_fails_the_job_naming_it(lineage, store, artifacts):
    monitors, _ = lineage
    monitors.create("churn-watch", "churn@production")
    monitors.registry.remove_alias("churn", "production")
    job = monitors.run("churn-watch", **TARGET)
    assert job.state is JobState.FAILED
    assert "churn@production" in job.error and job.model_version_id is None
