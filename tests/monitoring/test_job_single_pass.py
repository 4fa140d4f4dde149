"""What makes a job fast keeps its answers: the target window is read once for skew and
drift together, with the same statistics as separate jobs find; and a log file's rows
are filtered only on what its metadata and footer do not already guarantee, while rows
out of the window, of another version or refused are still left out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jobs_support import NOW, SCHEMA, frame, log_traffic, training_run

from conveyor.monitoring import JobState, Monitors
from conveyor.monitoring.windows import Window, WindowReader, _bounds, _dataset, overlapping
from conveyor.registry import Registry
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore
from conveyor.store.prediction_logs import LOG_TYPE

DAY = timedelta(days=1)
TARGET = {"start_time": NOW - DAY, "end_time": NOW}
ONLY = {"feature_skew_spec": None, "feature_drift_spec": None, "prediction_output_drift_spec": None}


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore.open(tmp_path / "artifacts", local_dir=tmp_path / "local")


@pytest.fixture
def monitors(tmp_path: Path, monkeypatch) -> Monitors:
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    store = MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    execution, _ = training_run(store, tmp_path / "data", frame(3000, seed=1))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    registry = Registry(store)
    registry.upload(
        "churn", folder, framework="custom", input_schema=SCHEMA, execution_id=execution
    )
    yield Monitors(store, registry, cache_dir=tmp_path / "cache")
    store.close()


def statistics_of(monitors: Monitors, job_id: int) -> dict:
    return {
        (m.objective.value, m.feature): (m.value, m.target_count, m.statistics)
        for m in monitors.job_metrics(job_id)
    }


def test_skew_and_drift_read_together_find_what_separate_jobs_find(monitors, artifacts):
    store = monitors.store
    log_traffic(store, artifacts, frame(1500, seed=2), start=NOW - 2 * DAY, span=DAY)
    moved = frame(1500, seed=3, tenure_shift=12, plans=(0.2, 0.3, 0.5))
    log_traffic(store, artifacts, moved, start=NOW - DAY, span=DAY)
    monitors.create("together", "churn@1")
    monitors.create("skew", "churn@1", tabular_objective={**ONLY, "feature_skew_spec": {}})
    monitors.create(
        "drift",
        "churn@1",
        tabular_objective={**ONLY, "feature_drift_spec": {}, "prediction_output_drift_spec": {}},
    )
    jobs = {name: monitors.run(name, **TARGET) for name in ("together", "skew", "drift")}
    assert all(j.state is JobState.SUCCEEDED for j in jobs.values()), jobs
    together = statistics_of(monitors, jobs["together"].id)
    apart = statistics_of(monitors, jobs["skew"].id) | statistics_of(monitors, jobs["drift"].id)
    assert together == apart
    assert len(together) == 7  # 3 features skewed, 3 drifted, the prediction
    # Skew and drift bin tenure on different edges: both histograms are right.
    skew, drift = together["feature_skew", "tenure"][2], together["feature_drift", "tenure"][2]
    assert skew["target"]["edges"] != drift["target"]["edges"]
    assert jobs["together"].summary["rows_read"] == 1500


def log_file(store: MetadataStore, path: Path, table: pa.Table, **options) -> None:
    pq.write_table(table, path, **options)
    versions = sorted(set(table["model_version"].to_pylist()))
    metadata = {
        "endpoint": "churn-prod",
        "deployed_models": [
            {"deployed_model_id": str(v), "model": "churn", "model_version": v} for v in versions
        ],
        "rows": table.num_rows,
        "first_timestamp": (NOW - 2 * DAY).isoformat(),
        "last_timestamp": NOW.isoformat(),
        "format": "parquet",
        "layout": 2,
    }
    artifact = store.create_artifact(str(path), LOG_TYPE, "predictions", metadata=metadata)
    store.publish_artifact(artifact, sha256="0" * 64, size=path.stat().st_size)


def rows(stamps, versions, statuses) -> pa.Table:
    n = len(stamps)
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "model": pa.array(["churn"] * n),
            "model_version": pa.array(versions, pa.int64()),
            "status": pa.array(statuses, pa.int32()),
            "feature.tenure": pa.array(range(n), pa.int64()),
        }
    )


def read(store: MetadataStore, window: Window) -> list[int]:
    files = overlapping(store, "churn", 1, [window])
    reader = WindowReader(files, "churn", 1, {"tenure": "feature.tenure"})
    return sorted(v for b in reader.source(window)() for v in b.column(0).to_pylist())


def test_rows_the_file_does_not_vouch_for_are_still_filtered(monitors, tmp_path):
    store = monitors.store
    window = Window(NOW - DAY, NOW)
    inside, before = NOW - timedelta(hours=3), NOW - DAY - timedelta(hours=1)
    # 0 in the window; 1 before it; 2 of version 2; 3 refused; 4 a null status.
    table = rows(
        [inside, before, inside, inside, inside], [1, 1, 2, 1, 1], [200, 200, 200, 400, None]
    )
    log_file(store, tmp_path / "mixed.parquet", table)
    log_file(store, tmp_path / "bare.parquet", table, write_statistics=False)
    assert read(store, window) == [0, 0]


def test_a_file_known_to_hold_only_the_window_is_read_without_a_filter(monitors, tmp_path):
    store = monitors.store
    window = Window(NOW - DAY, NOW)
    stamps = [NOW - timedelta(hours=h) for h in (20, 10, 1)]
    log_file(store, tmp_path / "clean.parquet", rows(stamps, [1, 1, 1], [200, 200, 200]))
    (record,) = overlapping(store, "churn", 1, [window])
    reader = WindowReader([record], "churn", 1, {"tenure": "feature.tenure"})
    assert reader._filter(window, record, _bounds(_dataset(record))) is None
    # A window cutting the file keeps the time condition, and only it.
    narrower = Window(NOW - timedelta(hours=12), NOW)
    kept = str(reader._filter(narrower, record, _bounds(_dataset(record))))
    assert "timestamp" in kept and "status" not in kept and "model" not in kept
    assert read(store, narrower) == [1, 2]
