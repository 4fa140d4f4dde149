"""`POST /api/v1/monitors/{monitor}/feedback` and the job report over REST, served for real:
labels taken as JSON rows and matched to the prediction log, the live performance objective
in the monitor's body, and bad input answered 400 or 404 naming the problem, never 500."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_support import error_of
from sqlalchemy import insert, text

from conveyor.store.metadata.monitoring_models import ModelMonitoringJob

sys.path.insert(0, str(Path(__file__).parents[1] / "monitoring"))
from test_feedback import log_requests  # noqa: E402  (the monitoring tests' traffic)

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]


@pytest.fixture
def churn(own_home, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    own_home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    own_home.registry.set_alias("churn", "production", 1)
    return own_home


def test_labels_as_json_rows_and_the_performance_objective(api, churn):
    log_requests(churn.store, churn.artifacts, [("a", ["stay", "churn"])])
    made = api.post(
        "/api/v1/monitors",
        json={
            "name": "churn-live",
            "target": "churn@production",
            "tabular_objective": {
                "feature_drift_spec": {},
                "model_performance_spec": {"thresholds": {"accuracy": 0.8}, "min_samples": 2},
            },
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["tabular_objective"]["model_performance_spec"] == {
        "thresholds": {"accuracy": 0.8},
        "min_samples": 2,
        "task": None,
    }

    answer = api.post(
        "/api/v1/monitors/churn-live/feedback",
        json={
            "labels": [
                {"request_id": "a", "instance_index": 0, "label": "stay"},
                {"request_id": "a", "instance_index": 1, "label": "stay"},
                {"request_id": "zzz", "label": "stay"},
            ]
        },
    )

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["rows"], body["matched"], body["unmatched"]) == (3, 2, 1)
    assert body["examples"] == [{"request_id": "zzz", "instance_index": 0}]
    accuracy = {r.metric.value: r for r in churn.monitors.live_performance("churn-live")}
    assert accuracy["accuracy"].value == 0.5 and accuracy["accuracy"].anomaly


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"labels": []}, "labels"),
        ({"labels": [{"instance_index": 0, "label": 1}]}, "request_id"),
        ({"labels": [{"request_id": "a", "label": [1]}]}, "label"),
        ({"labels": [{"request_id": "a", "label": 1, "extra": 2}]}, "extra"),
        ({"labels": [{"request_id": "a", "instance_index": -1, "label": 1}]}, "instance_index"),
        ({"labels": [{"request_id": "a", "instance_index": "0", "label": 1}]}, "instance_index"),
    ],
)
def test_bad_rows_answer_400_naming_the_field(api, churn, body, where):
    api.post("/api/v1/monitors", json={"name": "churn-live", "target": "churn@production"})
    error = error_of(api.post("/api/v1/monitors/churn-live/feedback", json=body), 400)
    assert where in error["message"]


def test_mixed_label_types_unknown_monitors_and_bad_objectives(api, churn):
    api.post("/api/v1/monitors", json={"name": "churn-live", "target": "churn@production"})
    mixed = {"labels": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": "x"}]}
    error = error_of(api.post("/api/v1/monitors/churn-live/feedback", json=mixed), 400)
    assert error["message"].startswith("labels: the rows do not make a table")
    one = {"labels": [{"request_id": "a", "label": 1}]}
    error_of(api.post("/api/v1/monitors/nobody/feedback", json=one), 404)
    bad = {"tabular_objective": {"model_performance_spec": {"thresholds": {"auc": 0.9}}}}
    error = error_of(api.patch("/api/v1/monitors/churn-live", json=bad), 400)
    assert "auc" in error["message"]


def test_a_jobs_report_is_an_html_page(api, churn):
    api.post("/api/v1/monitors", json={"name": "churn-live", "target": "churn@production"})
    stamp = datetime.now(UTC)
    with churn.store.transaction(write=True) as conn:
        monitor_id = conn.execute(text("SELECT id FROM model_monitors")).scalar()
        job_id = conn.execute(
            insert(ModelMonitoringJob.__table__).values(
                monitor_id=monitor_id, state="JOB_STATE_FAILED", model_name="churn",
                model_version_id=1, window_start=stamp, window_end=stamp, created_at=stamp,
                ended_at=stamp, error="no prediction log in the window <b>",
            )
        ).inserted_primary_key[0]  # fmt: skip

    answer = api.get(f"/api/v1/monitors/churn-live/jobs/{job_id}/report")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "JOB_STATE_FAILED" in answer.text
    assert "no prediction log in the window &lt;b&gt;" in answer.text
    error_of(api.get(f"/api/v1/monitors/churn-live/jobs/{job_id + 1}/report"), 404)
    error_of(api.get(f"/api/v1/monitors/churn-live/jobs/{job_id}/report?history=0"), 400)
