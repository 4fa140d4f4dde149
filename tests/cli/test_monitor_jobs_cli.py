"""`conveyor monitors run|jobs|metrics` through the real entry point: a job over the
prediction log written by the real logger, its table and summary, exit codes (0 with
anomalies, 1 with --fail-on-anomaly or a FAILED job, 2 for bad usage) and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conveyor.home import open_home
from conveyor.serving.prediction_log import Entry, PredictionLogger

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]
END = datetime(2026, 6, 2, tzinfo=UTC)


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
def churn(tmp_path):
    """Model `churn` with a skew monitor whose baseline is a Parquet file, and a day of
    drifted traffic in the log before END."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    tenure, plan = rows(3000, 1)
    pq.write_table(pa.table({"tenure": tenure, "plan": plan}), tmp_path / "train.parquet")
    with open_home() as home:
        home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
        home.monitors.create(
            "churn-skew", "churn@1", training_dataset={"uri": str(tmp_path / "train.parquet")},
            tabular_objective={"feature_skew_spec": {}},
        )  # fmt: skip
        logger = PredictionLogger(home.store, home.artifacts)
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
    return tmp_path


WINDOW = ["--start", (END - timedelta(days=1)).isoformat(), "--end", END.isoformat()]


def test_run_prints_each_field_and_a_summary(cli, churn):
    done = cli("monitors", "run", "churn-skew", *WINDOW)
    assert done.code == 0, done.err
    assert "JOB_STATE_SUCCEEDED" not in done.out and "SUCCEEDED" in done.out
    lines = {line.split()[1]: line for line in done.out.splitlines() if "feature_skew" in line}
    assert set(lines) == {"tenure", "plan"}
    assert lines["tenure"].rstrip().endswith("anomaly")
    assert "2 anomalies, 0 normal, 0 insufficient data; 1000 rows from 1 files" in done.out
    failing = cli("monitors", "run", "churn-skew", *WINDOW, "--fail-on-anomaly")
    assert failing.code == 1
    as_json = cli("monitors", "run", "churn-skew", *WINDOW, "--json")
    body = json.loads(as_json.out)
    assert body["state"] == "JOB_STATE_SUCCEEDED"
    assert {m["feature"] for m in body["metrics"]} == {"tenure", "plan"}

    listed = cli("monitors", "jobs", "churn-skew")
    assert listed.code == 0, listed.err
    assert len([line for line in listed.out.splitlines() if "SUCCEEDED" in line]) == 3
    metrics = cli("monitors", "metrics", "churn-skew", "--feature", "plan", "--json")
    assert [m["feature"] for m in json.loads(metrics.out)] == ["plan"] * 3
    anomalies = cli("monitors", "metrics", "churn-skew", "--anomalies")
    assert anomalies.code == 0 and "anomaly" in anomalies.out


def test_a_failed_job_exits_1_with_its_error(cli, churn):
    (churn / "train.parquet").write_bytes(b"not parquet at all")
    done = cli("monitors", "run", "churn-skew", *WINDOW)
    assert done.code == 1
    assert "FAILED" in done.out and "training baseline" in done.out


def test_bad_usage_exits_2_naming_the_problem(cli, churn):
    done = cli("monitors", "run", "churn-skew", "--window", "0d")
    assert done.code == 2 and "window" in done.err
    done = cli("monitors", "run", "nope")
    assert done.code == 2 and "no monitor 'nope'" in done.err
    done = cli("monitors", "metrics", "churn-skew", "--objective", "drift")
    assert done.code == 2 and "objective: 'drift' is not one of" in done.err
    done = cli("monitors", "run", "churn-skew", "--sampling-rate", "3")
    assert done.code == 2 and "sampling_rate" in done.err
