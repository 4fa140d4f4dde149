"""A job over a prediction log larger than the memory its process may use succeeds: the
window is streamed, never loaded whole. The log is many copies of one large file in the
logger's layout (written once by the real logger, then scaled up with pyarrow); the job
runs in a child process whose peak resident memory is measured."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from jobs_support import NOW, SCHEMA, frame, log_traffic, training_run

from conveyor.registry import Registry
from conveyor.serving.prediction_log import LOG_TYPE
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore

ROWS_PER_FILE = 400_000
COPIES = 12

CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from conveyor.monitoring import Monitors
    from conveyor.registry import Registry
    from conveyor.store.metadata import MetadataStore
    from datetime import datetime

    url, cache, start, end = sys.argv[1:5]
    with MetadataStore.open(url) as store:
        monitors = Monitors(store, Registry(store), cache_dir=Path(cache))
        job = monitors.run(
            "churn-watch",
            start_time=datetime.fromisoformat(start),
            end_time=datetime.fromisoformat(end),
        )
    # Linux's VmHWM starts afresh at exec; ru_maxrss keeps pytest's peak across it.
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
    print(json.dumps({"state": job.state.value, "error": job.error,
                      "rows": (job.summary or {}).get("rows_read"), "peak": peak}))
    """
)


def big_file(template: pa.Schema, start, rows: int) -> pa.Table:
    """`rows` rows in the logger's layout over the hour after `start`."""
    data = frame(rows, seed=5)
    rng = np.random.default_rng(6)
    stamps = np.datetime64(start.replace(tzinfo=None), "us") + rng.integers(
        0, 3_600_000_000, rows
    ).astype("timedelta64[us]")
    instance = pa.array([f'{{"tenure":{t},"charges":{c},"plan":"{p}","pad":"{"x" * 60}"}}'
                         for t, c, p in zip(data["tenure"], data["charges"], data["plan"],
                                            strict=True)])  # fmt: skip
    columns = {
        "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "request_id": pa.array(np.char.add("r-", np.arange(rows).astype(str))),
        "endpoint": pa.array(["churn-prod"] * rows),
        "deployed_model_id": pa.array(["1"] * rows),
        "model": pa.array(["churn"] * rows),
        "model_version": pa.array(np.ones(rows, dtype=np.int64)),
        "protocol": pa.array(["vertex"] * rows),
        "instance_index": pa.array(np.zeros(rows, dtype=np.int32)),
        "instance": instance,
        "prediction": pa.array(['"stay"'] * rows),
        "parameters": pa.nulls(rows, pa.string()),
        "status": pa.array(np.full(rows, 200, dtype=np.int32)),
        "error": pa.nulls(rows, pa.string()),
        "feature.tenure": pa.array(data["tenure"].astype(np.int64)),
        "feature.charges": pa.array(data["charges"]),
        "feature.plan": pa.array(data["plan"].astype(str)),
        "prediction.value": pa.array(["stay"] * rows),
    }
    return pa.table([columns[f.name].cast(f.type) for f in template], schema=template)


def test_a_job_streams_a_log_larger_than_its_memory(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    artifacts = ArtifactStore.open(tmp_path / "artifacts", local_dir=tmp_path / "local")
    start = NOW - timedelta(hours=1)
    with MetadataStore.open(url) as store:
        execution, _ = training_run(store, tmp_path / "data", frame(5000, seed=1))
        folder = tmp_path / "model"
        folder.mkdir()
        (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
        registry = Registry(store)
        registry.upload(
            "churn", folder, framework="custom", input_schema=SCHEMA, execution_id=execution
        )
        # One file by the real logger gives the layout; the big ones copy it.
        small = log_traffic(
            store, artifacts, frame(100, seed=2), start=start, span=timedelta(minutes=10)
        )
        template = pq.read_schema(small[0].removeprefix("file://"))
        table = big_file(template, start, ROWS_PER_FILE)
        in_memory = table.nbytes * COPIES
        first = tmp_path / "log" / "big-0.parquet"
        first.parent.mkdir()
        pq.write_table(table, first, compression="snappy")
        del table
        metadata = {
            "endpoint": "churn-prod",
            "deployed_models": [{"deployed_model_id": "1", "model": "churn", "model_version": 1}],
            "rows": ROWS_PER_FILE,
            "first_timestamp": start.isoformat(),
            "last_timestamp": (start + timedelta(hours=1)).isoformat(),
            "format": "parquet",
            "layout": 2,
        }
        for n in range(COPIES):
            path = first.with_name(f"big-{n}.parquet")
            if n:
                shutil.copyfile(first, path)
            found = store.create_artifact(str(path), LOG_TYPE, "predictions", metadata=metadata)
            store.publish_artifact(found, sha256="0" * 64, size=path.stat().st_size)
        Registry(store)  # the store is migrated and closed before the child opens it
    from conveyor.monitoring import Monitors

    with MetadataStore.open(url) as store:
        Monitors(store, Registry(store)).create(
            "churn-watch", "churn@1", tabular_objective={"feature_skew_spec": {}}
        )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(tmp_path / "cache"),
         start.isoformat(), (start + timedelta(hours=1)).isoformat()],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["state"] == "JOB_STATE_SUCCEEDED", result["error"]
    assert result["rows"] == ROWS_PER_FILE * COPIES + 100
    # The whole window, as a table, would not fit in what the job used.
    assert in_memory > 1.5 * result["peak"], (in_memory, result["peak"])
    assert result["peak"] < 1024**3
