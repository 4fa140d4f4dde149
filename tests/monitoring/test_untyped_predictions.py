"""Predictions the log does not type (probabilities: a list per instance) have no values
to compare: a job reports their output drift as insufficient data, and still measures the
features, rather than failing every time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from jobs_support import NOW, SCHEMA, frame, log_traffic

from conveyor.monitoring import Monitors
from conveyor.registry import Registry
from conveyor.store.artifacts import ArtifactStore

HOUR = timedelta(hours=1)


def test_output_drift_over_probabilities_is_insufficient_data(store, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    registry = Registry(store)
    registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    artifacts = ArtifactStore.open(tmp_path / "artifacts", local_dir=tmp_path / "local")
    for start in (NOW - 2 * HOUR, NOW - HOUR):
        data = frame(500, seed=int(start.timestamp()) % 1000)
        probabilities = [[0.3, 0.7]] * 500
        log_traffic(store, artifacts, data, start=start, span=HOUR / 2,
                    predictions=probabilities)  # fmt: skip
    monitors = Monitors(store, registry, cache_dir=tmp_path / "cache")
    monitors.create(
        "churn-output", "churn",
        tabular_objective={"feature_drift_spec": {}, "prediction_output_drift_spec": {}},
    )  # fmt: skip
    job = monitors.run("churn-output", start_time=NOW - HOUR, end_time=NOW)
    assert job.state.value == "JOB_STATE_SUCCEEDED", job.error
    found = {(m.objective.value, m.feature): m for m in monitors.job_metrics(job.id)}
    assert found["prediction_output_drift", "prediction"].insufficient_data
    assert not found["feature_drift", "tenure"].insufficient_data
