"""`conveyor monitors feedback` and `conveyor monitors report` through the real entry point,
with `--performance-threshold` on create and update: exit codes and messages included."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert, text

from conveyor.home import open_home
from conveyor.store.metadata.monitoring_models import ModelMonitoringJob, ModelMonitoringMetric

sys.path.insert(0, str(Path(__file__).parents[1] / "monitoring"))
from test_feedback import log_requests  # noqa: E402  (the monitoring tests' traffic)

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]


@pytest.fixture
def churn(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    with open_home() as home:
        home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
        home.registry.set_alias("churn", "production", 1)
        log_requests(home.store, home.artifacts, [("a", ["stay", "churn"]), ("b", ["stay"])])
    return folder


def test_performance_thresholds_on_create_show_and_update(cli, churn):
    done = cli(
        "monitors", "create", "churn-live", "--model", "churn@production",
        "--performance-threshold", "accuracy=0.8", "--performance-threshold", "rmse=3",
    )  # fmt: skip
    assert done.code == 2
    assert "accuracy is a metric of classes, rmse of numbers" in done.err

    done = cli(
        "monitors", "create", "churn-live", "--model", "churn@production",
        "--performance-threshold", "accuracy=0.8", "--no-skew",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert done.out.strip().endswith("feature drift, output drift, performance")
    shown = cli("monitors", "show", "churn-live")
    assert "live metrics of labelled predictions (alerts when accuracy < 0.8" in shown.out

    done = cli("monitors", "update", "churn-live", "--performance-threshold", "f1=0.5", "--json")
    assert done.code == 0, done.err
    spec = json.loads(done.out)["tabular_objective"]["model_performance_spec"]
    assert spec["thresholds"] == {"accuracy": 0.8, "f1": 0.5}
    done = cli("monitors", "update", "churn-live", "--numeric-threshold", "0.2", "--json")
    assert done.code == 0, done.err  # drift options leave the performance spec alone
    assert json.loads(done.out)["tabular_objective"]["model_performance_spec"] == spec
    done = cli("monitors", "update", "churn-live", "--no-performance", "--json")
    assert json.loads(done.out)["tabular_objective"]["model_performance_spec"] is None

    for bad, message in [
        ("accuracy", "--performance-threshold takes METRIC=VALUE"),
        ("auc=0.9", "'auc' is not a live metric"),
        ("accuracy=2", "2.0 is not a bound of accuracy"),
    ]:
        done = cli("monitors", "update", "churn-live", "--performance-threshold", bad)
        assert done.code == 2 and message in done.err, done.err


def test_feedback_from_a_file_reports_what_matched(cli, churn, tmp_path):
    cli("monitors", "create", "churn-live", "--model", "churn@production")
    labels = tmp_path / "labels.parquet"
    pq.write_table(
        pa.table({"rid": ["a", "a", "b", "c"], "pos": [0, 1, 0, 0], "y": ["stay"] * 4}), labels
    )

    done = cli(
        "monitors", "feedback", "churn-live", "--labels", str(labels),
        "--request-id-column", "rid", "--index-column", "pos", "--label-column", "y",
    )  # fmt: skip

    assert done.code == 0, done.err
    lines = done.out.strip().splitlines()
    assert lines[0].startswith("Took 4 labels for churn (artifact ")
    assert lines[0].endswith("3 match a logged prediction")
    assert lines[1].startswith("1 match none yet (c#0)")

    as_json = cli("monitors", "feedback", "churn-live", "--labels", str(labels), "--json",
                  "--request-id-column", "rid", "--index-column", "pos", "--label-column", "y")  # fmt: skip
    assert json.loads(as_json.out)["matched"] == 3


def test_bad_label_files_exit_2_naming_the_problem(cli, churn, tmp_path):
    cli("monitors", "create", "churn-live", "--model", "churn@production")
    csv = tmp_path / "labels.csv"
    csv.write_text("id,label\na,1\n")
    done = cli("monitors", "feedback", "churn-live", "--labels", str(csv))
    assert done.code == 2
    assert "has no request id column 'request_id' (its columns: id, label)" in done.err
    done = cli("monitors", "feedback", "churn-live", "--labels", str(tmp_path / "none.csv"))
    assert done.code == 2 and "is not a file" in done.err
    done = cli("monitors", "feedback", "nobody", "--labels", str(csv))
    assert done.code == 2 and "no monitor 'nobody'" in done.err
    assert "Traceback" not in done.err


def test_report_writes_the_page_atomically(cli, churn, tmp_path):
    cli("monitors", "create", "churn-live", "--model", "churn@production")
    stamp = datetime.now(UTC)
    with open_home() as home, home.store.transaction(write=True) as conn:
        monitor_id = conn.execute(text("SELECT id FROM model_monitors")).scalar()
        job_id = conn.execute(
            insert(ModelMonitoringJob.__table__).values(
                monitor_id=monitor_id, state="JOB_STATE_SUCCEEDED", model_name="churn",
                model_version_id=1, window_start=stamp, window_end=stamp, created_at=stamp,
                ended_at=stamp, summary={"anomalies": 0},
            )
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            insert(ModelMonitoringMetric.__table__).values(
                job_id=job_id, monitor_id=monitor_id, feature="plan", objective="feature_drift",
                metric_type="l_infinity", value=0.05, threshold=0.3, chance_level=0.01,
                anomaly=False, insufficient_data=False, baseline_count=10, target_count=12,
                window_start=stamp, window_end=stamp,
                statistics={
                    "baseline": {"kind": "categorical", "count": 10, "missing": 0,
                                 "values": {"basic": 6, "pro": 4}, "other": 0},
                    "target": {"kind": "categorical", "count": 12, "missing": 1,
                               "values": {"basic": 6, "pro": 6}, "other": 0},
                },
            )
        )  # fmt: skip
    out = tmp_path / "report.html"

    done = cli("monitors", "report", str(job_id), "--html", str(out))

    assert done.code == 0, done.err
    assert done.out.startswith(f"Wrote the report of job {job_id} to {out}")
    page = out.read_text()
    assert "<h3>plan</h3>" in page and "<svg" in page
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
    done = cli("monitors", "report", str(job_id + 1), "--html", str(out))
    assert done.code == 2 and f"no monitoring job {job_id + 1}" in done.err
    done = cli("monitors", "report", str(job_id), "--html", str(tmp_path / "no" / "r.html"))
    assert done.code == 2 and "does not exist" in done.err
    stdout = cli("monitors", "report", str(job_id))
    assert stdout.code == 0 and stdout.out.startswith("<!doctype html>")
