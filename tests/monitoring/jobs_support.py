"""What the monitoring job tests share: synthetic traffic of the churn model written to the
prediction log by the real logger (`PredictionLogger`), and a training Dataset recorded
as the input of the execution that produced a registered version (lineage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.serving.prediction_log import Entry, PredictionLogger
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore

SCHEMA = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "float"},
    {"name": "plan", "type": "string"},
]
PLANS = ["basic", "plus", "pro"]
NOW = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
"""The end of the target window of the tests: `NOW - 1d` to `NOW`."""


class Runtime:
    """What the log asks of a runtime: its feature names and their schema."""

    feature_names = tuple(f["name"] for f in SCHEMA)

    def features(self):
        return SCHEMA


RUNTIME = Runtime()


def frame(n: int, seed: int, *, tenure_shift: float = 0.0, plans=(0.5, 0.3, 0.2)) -> dict:
    """`n` rows of churn features; `tenure_shift` moves tenure, `plans` the plan shares."""
    rng = np.random.default_rng(seed)
    return {
        "tenure": np.clip(rng.normal(30 + tenure_shift, 10, n), 0, None).round().astype(int),
        "charges": rng.gamma(4.0, 20.0, n).round(2),
        "plan": rng.choice(PLANS, n, p=list(plans)),
    }


def log_traffic(
    store: MetadataStore,
    artifacts: ArtifactStore,
    data: dict,
    *,
    start: datetime,
    span: timedelta,
    version: int = 1,
    predictions=None,
    model: str = "churn",
    per_request: int = 50,
    flush_rows: int = 50_000,
) -> list[str]:
    """Log `data` as requests spread evenly over `span` from `start`, through the real
    logger; the files written. Predictions default to `tenure > 30`."""
    n = len(data["tenure"])
    if predictions is None:
        predictions = ["churn" if t > 30 else "stay" for t in data["tenure"]]
    logger = PredictionLogger(store, artifacts, flush_rows=flush_rows, max_buffered_rows=10**9)
    written: list[str] = []
    requests = max(1, -(-n // per_request))
    step = span.total_seconds() / requests
    for r in range(requests):
        lo, hi = r * per_request, min(n, (r + 1) * per_request)
        instances = [
            [int(data["tenure"][i]), float(data["charges"][i]), str(data["plan"][i])]
            for i in range(lo, hi)
        ]
        logger.add(
            Entry(
                timestamp=(start + timedelta(seconds=r * step)).timestamp(),
                request_id=f"r-{version}-{start:%H%M}-{r}",
                endpoint="churn-prod",
                deployed_model_id="1",
                model=model,
                model_version=version,
                protocol="vertex",
                instances=instances,
                predictions=list(predictions[lo:hi]),
                parameters=None,
                status=200,
                error=None,
                runtime=RUNTIME,
            )
        )
        if (r + 1) * per_request % flush_rows == 0:
            written += logger.flush()
    written += logger.flush()
    return written


def training_run(store: MetadataStore, folder: Path, data: dict, *, run_id: str = "train-1"):
    """A run whose `train` task read the Dataset `data` (Parquet) as `train_data`, and a
    `test_data` Dataset beside it: the execution id a version registered from it names."""
    folder.mkdir(parents=True, exist_ok=True)
    train = folder / "train.parquet"
    pq.write_table(pa.table(data), train)
    test = folder / "test.parquet"
    pq.write_table(pa.table(data), test)
    store.create_run(run_id, "churn-training")
    ids = {}
    for name, path in (("train_data", train), ("test_data", test)):
        ids[name] = store.create_artifact(str(path), "system.Dataset", name)
        store.publish_artifact(ids[name], sha256="0" * 64, size=path.stat().st_size)
    execution = store.create_execution(
        run_id, "train", inputs={"train_data": [ids["train_data"]], "test_data": [ids["test_data"]]}
    )
    store.finish_execution(execution, "COMPLETE")
    return execution, ids
