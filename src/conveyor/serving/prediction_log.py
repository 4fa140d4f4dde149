"""The prediction log: a sample of requests and their answers, as Parquet files for monitoring.

The request path only decides whether to keep a request (`random() < rate`) and appends
it to an in-memory buffer. A background thread turns the buffer into Parquet every
`flush_rows` instances or `flush_seconds`, whichever comes first, and at shutdown. Each
file is published atomically through the artifact store, at

    <artifact root>/predictions/<endpoint>/<YYYY-MM-DD>/<time>-<pid>-<n>.parquet

(`predictions/_models/<model>/...` for Open Inference Protocol requests, which name a
model rather than an endpoint), and recorded in the metadata store as a LIVE artifact of
type `conveyor.PredictionLog` whose metadata says the endpoint, the deployed models and
versions, the number of rows and the time span. `prediction_logs(store)` finds them.

One row per instance, with these columns:

| Column | Type | |
| --- | --- | --- |
| `timestamp` | timestamp (µs, UTC) | when the request arrived |
| `request_id` | string | one id per request (the OIP `id` when given) |
| `endpoint` | string | empty for OIP requests |
| `deployed_model_id` | string | `model@version` for OIP requests |
| `model`, `model_version` | string, int64 | the registered model version that answered |
| `protocol` | string | `vertex` or `oip` |
| `instance_index` | int32 | position of the instance in its request |
| `instance` | string | the instance as JSON; an object of feature name to value when the model knows its feature names |
| `prediction` | string | the prediction as JSON; null when the request was refused |
| `parameters` | string | the request's parameters as JSON, or null |
| `status` | int32 | the HTTP status of the answer (200, or 400 for input the model refused) |
| `error` | string | why the input was refused, or null |

When files cannot be written, rows wait (up to `max_buffered_rows`, then the oldest are
dropped and counted in `conveyor_prediction_log_rows_total{outcome="dropped"}`); the
server keeps answering either way.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select

from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import ArtifactRecord, ArtifactState, MetadataStore
from conveyor.store.metadata.models import Artifact, ArtifactType

if TYPE_CHECKING:
    from conveyor.serving.metrics import Metrics

LOG_TYPE = "conveyor.PredictionLog"
"""The metadata store type of prediction log files."""
MODELS_FOLDER = "_models"
"""The folder of OIP requests' logs (no endpoint name can start with `_`)."""

log = logging.getLogger("conveyor.serving")
_sequence = itertools.count(1)


class Entry(NamedTuple):
    """One logged request, as kept in the buffer until it is written."""

    timestamp: float
    request_id: str
    endpoint: str
    deployed_model_id: str
    model: str
    model_version: int
    protocol: str
    instances: list[Any]
    predictions: list[Any] | None
    parameters: Any
    status: int
    error: str | None
    feature_names: Sequence[str] | None

    @property
    def folder(self) -> tuple[str, ...]:
        return (self.endpoint,) if self.endpoint else (MODELS_FOLDER, self.model)


class PredictionLogger:
    """Buffers sampled requests and writes them as Parquet from a thread of its own,
    published in `artifacts` and recorded in `store` (a home's)."""

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        *,
        flush_rows: int = 1000,
        flush_seconds: float = 10.0,
        max_buffered_rows: int = 100_000,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_buffered_rows = max_buffered_rows
        self.metrics = metrics
        self._buffer: deque[Entry] = deque()
        self._rows = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.random = random.random

    def sampled(self, rate: float) -> bool:
        """Whether to log this request, at `rate` (0 to 1)."""
        return rate >= 1.0 or (rate > 0.0 and self.random() < rate)

    def add(self, entry: Entry) -> None:
        """Queue one request for the log; never blocks on I/O."""
        rows = len(entry.instances) or 1
        with self._lock:
            self._buffer.append(entry)
            self._rows += rows
            dropped = 0
            while self._rows > self.max_buffered_rows and len(self._buffer) > 1:
                old = self._buffer.popleft()
                self._rows -= len(old.instances) or 1
                dropped += len(old.instances) or 1
            full = self._rows >= self.flush_rows
        if dropped:
            self._count("dropped", dropped)
        if full:
            self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="conveyor-prediction-log", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Write what is buffered and stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def flush(self) -> list[str]:
        """Write every buffered row now; the URIs of the files written."""
        with self._lock:
            entries = list(self._buffer)
            self._buffer.clear()
            self._rows = 0
        if not entries:
            return []
        with self._write_lock:
            return self._write(entries)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the thread die: the next flush tries again
                log.exception("prediction log: flush failed")

    def _write(self, entries: list[Entry]) -> list[str]:
        groups: dict[tuple[str, ...], list[Entry]] = {}
        for entry in entries:
            groups.setdefault(entry.folder, []).append(entry)
        written = []
        for folder, group in groups.items():
            rows = sum(len(e.instances) or 1 for e in group)
            try:
                written.append(self._write_file(folder, group))
            except Exception as exc:
                log.error("prediction log: %d rows of %s dropped: %s", rows, "/".join(folder), exc)
                self._count("dropped", rows)
            else:
                self._count("written", rows)
        return written

    def _write_file(self, folder: tuple[str, ...], entries: list[Entry]) -> str:
        import pyarrow.parquet as pq

        artifacts = self.artifacts
        first = datetime.fromtimestamp(entries[0].timestamp, UTC)
        last = datetime.fromtimestamp(entries[-1].timestamp, UTC)
        name = f"{first:%H%M%S%f}-{os.getpid()}-{next(_sequence)}.parquet"
        uri = artifacts.uri_for("predictions", *folder, f"{first:%Y-%m-%d}", name)
        table = to_table(entries)
        staging = artifacts.staging_path(uri)
        pq.write_table(table, staging)
        published = artifacts.publish(staging, uri)
        models = sorted({(e.deployed_model_id, e.model, e.model_version) for e in entries}, key=str)
        metadata = {
            "endpoint": entries[0].endpoint,
            "deployed_models": [
                {"deployed_model_id": d, "model": m, "model_version": v} for d, m, v in models
            ],
            "rows": table.num_rows,
            "requests": len(entries),
            "first_timestamp": first.isoformat(),
            "last_timestamp": last.isoformat(),
            "format": "parquet",
        }
        artifact_id = self.store.create_artifact(
            published.uri, LOG_TYPE, f"predictions-{'-'.join(folder)}", metadata=metadata
        )
        self.store.publish_artifact(artifact_id, sha256=published.sha256, size=published.size)
        return published.uri

    def _count(self, outcome: str, rows: int) -> None:
        if self.metrics is not None:
            self.metrics.log_rows.labels(outcome).inc(rows)


def to_table(entries: list[Entry]) -> Any:
    """The rows of `entries` (one per instance) as a pyarrow Table."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for e in entries:
        stamp = datetime.fromtimestamp(e.timestamp, UTC)
        parameters = _json(e.parameters) if e.parameters is not None else None
        instances = e.instances or [None]
        predictions = e.predictions
        names = e.feature_names
        for i, instance in enumerate(instances):
            if (
                names is not None
                and isinstance(instance, list | tuple)
                and len(instance) == len(names)
            ):
                instance = dict(zip(names, instance, strict=True))
            columns["timestamp"].append(stamp)
            columns["request_id"].append(e.request_id)
            columns["endpoint"].append(e.endpoint)
            columns["deployed_model_id"].append(e.deployed_model_id)
            columns["model"].append(e.model)
            columns["model_version"].append(e.model_version)
            columns["protocol"].append(e.protocol)
            columns["instance_index"].append(i)
            columns["instance"].append(_json(instance))
            has = predictions is not None and i < len(predictions)
            columns["prediction"].append(_json(predictions[i]) if has else None)  # type: ignore[index]
            columns["parameters"].append(parameters)
            columns["status"].append(e.status)
            columns["error"].append(e.error)
    return pa.Table.from_pydict(columns, schema=SCHEMA)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("request_id", pa.string()),
            ("endpoint", pa.string()),
            ("deployed_model_id", pa.string()),
            ("model", pa.string()),
            ("model_version", pa.int64()),
            ("protocol", pa.string()),
            ("instance_index", pa.int32()),
            ("instance", pa.string()),
            ("prediction", pa.string()),
            ("parameters", pa.string()),
            ("status", pa.int32()),
            ("error", pa.string()),
        ]
    )


SCHEMA = _schema()


def prediction_logs(store: MetadataStore, endpoint: str | None = None) -> list[ArtifactRecord]:
    """The prediction log files recorded in `store`, oldest first; those of one endpoint
    when `endpoint` is given."""
    query = (
        select(Artifact.id)
        .join(ArtifactType, ArtifactType.id == Artifact.type_id)
        .where(ArtifactType.name == LOG_TYPE, Artifact.state == ArtifactState.LIVE)
        .order_by(Artifact.id)
    )
    with store.transaction() as conn:
        ids = list(conn.execute(query).scalars())
    found = [store.get_artifact(i) for i in ids]
    if endpoint is not None:
        found = [a for a in found if a.metadata.get("endpoint") == endpoint]
    return found


def now() -> float:
    return time.time()
