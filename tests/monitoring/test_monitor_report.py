"""The HTML report of a monitoring job: built from the stored statistics, every field and
objective present with its plots (inline SVG, no script, no network), names escaped, the
distance over the last jobs, the alerts, and a page of a few hundred KB for 20 features."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import insert, text

from conveyor.monitoring import JobState, MonitorUsageError
from conveyor.monitoring.report import render
from conveyor.monitoring.statistics import baseline_statistics, target_statistics
from conveyor.store.metadata.monitoring_models import (
    ModelMonitoringAlert,
    ModelMonitoringJob,
    ModelMonitoringMetric,
)
from conveyor.store.metadata.recording import now

FEATURES = [f"num_{i}" for i in range(15)] + [f"cat_{i}" for i in range(4)] + ["<script>x"]


def statistics(n: int, seed: int, shift: float = 0.0) -> tuple[dict, dict]:
    """Baseline and target statistics of every feature of FEATURES, as a job stores them."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    columns = {f: rng.normal(0, 1, n) for f in FEATURES[:15]}
    columns |= {f: rng.choice([f"v{k}" for k in range(30)], n) for f in FEATURES[15:]}
    base = baseline_statistics(pa.table(columns))
    moved = {f: (v + shift if f.startswith("num") else v) for f, v in columns.items()}
    target = target_statistics(pa.table(moved), base)
    return base.features, target.features


def insert_job(store, monitor_name: str, *, jobs: int = 3, features=FEATURES) -> int:
    """`jobs` jobs of the monitor, each with one feature-drift metric per feature and an
    alert on the first feature in the last; the last job's id."""
    base, target = statistics(2000, 1, shift=0.5)
    stamp = now()
    with store.transaction(write=True) as conn:
        monitor_id = conn.execute(
            text("SELECT id FROM model_monitors WHERE name = :n"), {"n": monitor_name}
        ).scalar()
        job_id = 0
        for k in range(jobs):
            start = stamp - timedelta(days=jobs - k)
            job_id = conn.execute(
                insert(ModelMonitoringJob.__table__).values(
                    monitor_id=monitor_id,
                    state=JobState.SUCCEEDED.value,
                    model_name="churn",
                    model_version_id=1,
                    window_start=start,
                    window_end=start + timedelta(days=1),
                    created_at=stamp,
                    ended_at=stamp,
                    summary={"features": len(features), "anomalies": 1},
                )
            ).inserted_primary_key[0]
            for n, feature in enumerate(features):
                numeric = base[feature].kind == "numeric"
                conn.execute(
                    insert(ModelMonitoringMetric.__table__).values(
                        job_id=job_id,
                        monitor_id=monitor_id,
                        feature=feature,
                        objective="feature_drift",
                        metric_type="jensen_shannon_divergence" if numeric else "l_infinity",
                        value=0.1 * k + 0.01 * n,
                        threshold=0.3,
                        chance_level=0.02,
                        anomaly=n == 0 and k == jobs - 1,
                        insufficient_data=False,
                        baseline_count=2000,
                        target_count=2000,
                        window_start=start,
                        window_end=start + timedelta(days=1),
                        statistics={
                            "baseline": base[feature].to_json(),
                            "target": target[feature].to_json(),
                        },
                    )
                )
            if k == jobs - 1:
                conn.execute(
                    insert(ModelMonitoringAlert.__table__).values(
                        monitor_id=monitor_id,
                        job_id=job_id,
                        feature=features[0],
                        objective="feature_drift",
                        kind="anomaly",
                        value=0.2,
                        threshold=0.3,
                        created_at=stamp,
                        message=f"{features[0]} drifted <b>far</b>",
                    )
                )
                conn.execute(
                    insert(ModelMonitoringMetric.__table__).values(
                        job_id=job_id, monitor_id=monitor_id, feature="accuracy",
                        objective="model_performance", metric_type="accuracy", value=0.71,
                        threshold=0.8, chance_level=None, anomaly=True, insufficient_data=False,
                        baseline_count=0, target_count=140, window_start=start,
                        window_end=start + timedelta(days=1), statistics=None,
                    )
                )  # fmt: skip
    return job_id


@pytest.fixture
def made(monitors):
    monitors.create("churn-drift", "churn@production")
    return monitors


def test_the_report_shows_every_field_with_its_plots_and_the_alerts(made):
    job_id = insert_job(made.store, "churn-drift")

    page = made.report(job_id)

    assert page.startswith("<!doctype html>") and page.endswith("</html>")
    assert f"Monitoring job {job_id} of churn-drift" in page
    assert "churn@1" in page and "JOB_STATE_SUCCEEDED" in page and "churn@production" in page
    for feature in FEATURES[:-1]:
        assert f"<h3>{feature}</h3>" in page
    assert "Feature drift" in page and "Live performance" in page
    # each drift feature: its distributions and its history; accuracy: its history
    assert page.count("<svg") == 2 * len(FEATURES) + 1
    assert "(other)" in page  # 30 categories, 10 shown
    assert "anomaly" in page and "threshold 0.3" in page
    assert "drifted &lt;b&gt;far&lt;/b&gt;" in page  # the alert's message, escaped


def test_names_are_escaped_and_the_page_needs_no_script_or_network(made):
    page = made.report(insert_job(made.store, "churn-drift", jobs=1))

    assert "<h3>&lt;script&gt;x</h3>" in page
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)
    assert 'xlink:href="http' not in page


def test_twenty_features_make_a_page_of_a_few_hundred_kb(made):
    page = made.report(insert_job(made.store, "churn-drift", jobs=20))
    assert len(FEATURES) == 20
    size = len(page.encode())
    assert size < 400_000, size  # about 320 KB


def test_a_job_without_statistics_or_history_and_unknown_jobs(made):
    job_id = insert_job(made.store, "churn-drift", jobs=1, features=["num_0"])
    page = render(job_id, made)
    assert "<h3>num_0</h3>" in page
    from conveyor.monitoring.errors import JobNotFound

    with pytest.raises(JobNotFound, match="no monitoring job 999"):
        made.report(999)
    with pytest.raises(MonitorUsageError, match="job_id"):
        made.report(0)
    with pytest.raises(MonitorUsageError, match="history"):
        made.report(job_id, history=0)
