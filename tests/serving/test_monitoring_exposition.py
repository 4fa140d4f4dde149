"""Model monitoring's metrics on `conveyor serve`'s `/metrics`: the latest distance per model,
feature and objective, alert and job counts, job durations, read from the metadata store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from serving_support import start_server
from sqlalchemy import insert

from conveyor.api.server import create_app
from conveyor.monitoring.exposition import MonitoringCollector
from conveyor.serving.settings import ServerSettings
from conveyor.store.metadata.monitoring_models import (
    ModelMonitoringAlert,
    ModelMonitoringJob,
    ModelMonitoringMetric,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _job(conn, monitor_id: int, started: datetime, seconds: float, state="JOB_STATE_SUCCEEDED"):
    table = ModelMonitoringJob.__table__
    return conn.execute(
        insert(table).values(
            monitor_id=monitor_id,
            state=state,
            model_name="churn",
            model_version_id=1,
            window_start=started - timedelta(hours=1),
            window_end=started,
            created_at=started,
            ended_at=started + timedelta(seconds=seconds),
        )  # fmt: skip
    ).inserted_primary_key[0]


def _metric(conn, monitor_id, job_id, feature, value, *, anomaly=False, threshold=0.3):
    conn.execute(
        insert(ModelMonitoringMetric.__table__).values(
            job_id=job_id,
            monitor_id=monitor_id,
            feature=feature,
            objective="feature_drift",
            metric_type="jensen_shannon_divergence",
            value=value,
            threshold=threshold,
            chance_level=0.01,
            anomaly=anomaly,
            insufficient_data=value is None,
            baseline_count=1000,
            target_count=1000 if value is not None else 3,
        )  # fmt: skip
    )


@pytest.fixture
def watched(own_home, churn):
    """A monitor of churn@production with two jobs: the latest found `tenure` drifted and
    too few samples of `plan`; it raised one anomaly alert."""
    monitor = own_home.monitors.create("churn-drift", "churn@production")
    with own_home.store.transaction(write=True) as conn:
        first = _job(conn, 1, T0, 2.0)
        _metric(conn, 1, first, "tenure", 0.05)
        _metric(conn, 1, first, "plan", 0.02)
        second = _job(conn, 1, T0 + timedelta(hours=1), 3.0)
        _metric(conn, 1, second, "tenure", 0.42, anomaly=True)
        _metric(conn, 1, second, "plan", None)
        conn.execute(
            insert(ModelMonitoringAlert.__table__).values(
                monitor_id=1,
                job_id=second,
                feature="tenure",
                objective="feature_drift",
                kind="anomaly",
                value=0.42,
                threshold=0.3,
                created_at=T0,
                message="drifted",
            )  # fmt: skip
        )
    return monitor


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_latest_job_per_feature_and_the_counts(own_home, watched):
    registry = CollectorRegistry()
    registry.register(MonitoringCollector(own_home.store))
    samples = _samples(generate_latest(registry).decode())
    tenure = (("feature", "tenure"), ("model", "churn"), ("monitor", "churn-drift"),
              ("objective", "feature_drift"))  # fmt: skip
    plan = (("feature", "plan"), *tenure[1:])
    assert samples[("conveyor_monitoring_distance", tenure)] == 0.42  # the latest job's
    assert samples[("conveyor_monitoring_anomaly", tenure)] == 1.0
    assert samples[("conveyor_monitoring_threshold", tenure)] == 0.3
    assert ("conveyor_monitoring_distance", plan) not in samples  # too few samples: none
    assert samples[("conveyor_monitoring_anomaly", plan)] == 0.0
    who = (("monitor", "churn-drift"),)
    assert samples[("conveyor_monitoring_alerts_total", (("kind", "anomaly"), *who))] == 1
    succeeded = (("monitor", "churn-drift"), ("state", "JOB_STATE_SUCCEEDED"))
    assert samples[("conveyor_monitoring_jobs_total", succeeded)] == 2
    assert samples[("conveyor_monitoring_job_duration_seconds_count", who)] == 2
    assert samples[("conveyor_monitoring_job_duration_seconds_sum", who)] == pytest.approx(5.0)


def test_served_on_the_server_metrics_beside_the_prediction_ones(settings, watched):
    server = start_server(create_app(settings, ServerSettings.from_env(poll_seconds=0.05)))
    try:
        text = server.client.get("/metrics").text
    finally:
        server.stop()
    assert 'conveyor_monitoring_distance{feature="tenure"' in text
    assert "conveyor_prediction_requests_total" in text or "conveyor_prediction_requests" in text


def test_a_deleted_monitor_takes_its_series_away(own_home, watched):
    own_home.monitors.delete("churn-drift")
    registry = CollectorRegistry()
    registry.register(MonitoringCollector(own_home.store))
    assert "churn-drift" not in generate_latest(registry).decode()
