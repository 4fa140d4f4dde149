"""`/api/v1/monitors/{monitor}/jobs` and `/metrics` served for real: a job run over the
prediction log written by the real logger, listed, read back, its metrics searched; bad
input answers 400 or 404 naming the problem, never 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_support import error_of

from conveyor.serving.prediction_log import Entry, PredictionLogger

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]
END = datetime(2026, 6, 2, tzinfo=UTC)
WINDOW = {"start_time": (END - timedelta(days=1)).isoformat(), "end_time": END.isoformat()}


class Runtime:
    feature_names = ("tenure", "plan")

    def features(self):
        return SCHEMA


def rows(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    tenure = np.clip(rng.normal(30 + shift, 10, n), 0, None).round().astype(int)
    plan = rng.choice(["basic", "pro"], n, p=[0.7, 0.3] if not shift else [0.2, 0.8])
    return tenure, plan


@pytest.fixture
def churn(own_home, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    tenure, plan = rows(3000, 1)
    pq.write_table(pa.table({"tenure": tenure, "plan": plan}), tmp_path / "train.parquet")
    own_home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    own_home.monitors.create(
        "churn-skew", "churn@1", training_dataset={"uri": str(tmp_path / "train.parquet")},
        tabular_objective={"feature_skew_spec": {}},
    )  # fmt: skip
    logger = PredictionLogger(own_home.store, own_home.artifacts)
    tenure, plan = rows(1000, 2, shift=20)
    for r in range(20):
        part = slice(r * 50, (r + 1) * 50)
        logger.add(Entry(
            (END - timedelta(hours=23) + timedelta(minutes=r)).timestamp(), f"r{r}",
            "churn-prod", "1", "churn", 1, "vertex",
            [[int(t), str(p)] for t, p in zip(tenure[part], plan[part], strict=True)],
            ["stay"] * 50, None, 200, None, Runtime(),
        ))  # fmt: skip
    logger.flush()
    return own_home


def test_run_list_get_and_search(api, churn):
    made = api.post("/api/v1/monitors/churn-skew/jobs", json=WINDOW)
    assert made.status_code == 201, made.text
    job = made.json()
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert (job["model"], job["model_version_id"]) == ("churn", 1)
    assert job["summary"]["objectives"]["feature_skew"]["anomaly"] == 2
    assert made.headers["location"] == f"/api/v1/monitors/churn-skew/jobs/{job['id']}"
    listed = api.get("/api/v1/monitors/churn-skew/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert api.get(f"/api/v1/monitors/churn-skew/jobs/{job['id']}").json() == job
    metrics = api.get(
        "/api/v1/monitors/churn-skew/metrics",
        params={"feature": "plan", "objective": "feature_skew", "anomalies": "true"},
    ).json()["metrics"]
    assert [(m["feature"], m["anomaly"]) for m in metrics] == [("plan", True)]
    assert set(metrics[0]["statistics"]) == {"baseline", "target"}
    later = api.get(
        "/api/v1/monitors/churn-skew/metrics", params={"start_time": END.isoformat()}
    ).json()["metrics"]
    assert later == []
    default = api.post("/api/v1/monitors/churn-skew/jobs")  # the monitor's window, no body
    assert default.status_code == 201, default.text


def test_bad_input_is_400_or_404(api, churn):
    assert (
        "window"
        in error_of(api.post("/api/v1/monitors/churn-skew/jobs", json={"window": "0d"}), 400)[
            "message"
        ]
    )
    error_of(api.post("/api/v1/monitors/churn-skew/jobs", json={"sampling_rate": "0.5"}), 400)
    error_of(api.post("/api/v1/monitors/churn-skew/jobs", json={"colour": "red"}), 400)
    error_of(api.post("/api/v1/monitors/nope/jobs", json={}), 404)
    ended = {"start_time": END.isoformat(), "end_time": (END - timedelta(1)).isoformat()}
    assert (
        "end_time"
        in error_of(api.post("/api/v1/monitors/churn-skew/jobs", json=ended), 400)["message"]
    )
    error_of(api.get("/api/v1/monitors/churn-skew/jobs/999"), 404)
    error_of(api.get("/api/v1/monitors/churn-skew/jobs/0"), 400)
    error_of(api.get("/api/v1/monitors/churn-skew/metrics", params={"objective": "drift"}), 400)
    error_of(api.get("/api/v1/monitors/churn-skew/metrics", params={"limit": 0}), 400)
    error_of(api.get("/api/v1/monitors/churn-skew/metrics", params={"colour": "red"}), 400)
    error_of(api.get("/api/v1/monitors/churn-skew/jobs", params={"limit": "x"}), 400)
