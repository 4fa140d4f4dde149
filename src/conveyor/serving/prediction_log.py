"""The prediction log: a sample of requests and their answers, as Parquet files for monitoring.

The request path only decides whether to keep a request (`random() < rate`) and appends
it, as it was decoded (the instances and predictions the runtime saw and gave), to an
in-memory buffer: no conversion, no JSON. A background thread takes the buffer once it
holds `CONVERT_OBJECTS` (4096) Python objects or so (a list instance is one; a float array
of rows, one block of memory, is one for all its rows) and turns it into Arrow record
batches, a column at a time (`conveyor.serving._log_columns`), so that requests' Python
objects are let go soon and the thread's work is a few large calls into pyarrow and
numpy (many-row float arrays wait for a file's worth, converted in one piece). It writes
the batches as one Parquet file every `flush_rows` instances or `flush_seconds`,
whichever comes first, and at shutdown (a column without nulls in the file as required:
Parquet then writes no definition levels for it). Each file is published atomically
through the artifact store, at

    <artifact root>/predictions/<endpoint>/<YYYY-MM-DD>/<time>-<pid>-<n>.parquet

(`predictions/_models/<model>/...` for Open Inference Protocol requests, which name a
model rather than an endpoint), and recorded in the metadata store as a LIVE artifact of
type `conveyor.PredictionLog` whose metadata says the endpoint, the deployed models and
versions, the number of rows and requests, the time span and the file `layout` (3). A
file holds the requests of one feature layout: versions with other features go to files
of their own. `prediction_logs(store)` finds the files; `read_prediction_logs(files)`
reads files of either layout as one table.

One row per instance, with these columns:

| Column | Type | |
| --- | --- | --- |
| `timestamp` | timestamp (µs, UTC) | when the request arrived |
| `request_id` | string | one id per request: the OIP `id` or the `X-Request-Id` the answer carries |
| `endpoint` | string | empty for OIP requests |
| `deployed_model_id` | string | `model@version` for OIP requests |
| `model`, `model_version` | string, int64 | the registered model version that answered |
| `protocol` | string | `vertex` or `oip` |
| `instance_index` | int32 | position of the instance in its request |
| `instance` | string | the instance as JSON; an object of feature name to value when the model knows its feature names; null in the file (layout 3) where every feature is in its `feature.<name>` column, which `read_prediction_logs` makes it from |
| `prediction` | string | the prediction as JSON; null when the request was refused |
| `parameters` | string | the request's parameters as JSON, or null |
| `status` | int32 | the HTTP status of the answer (200, or 400 for input the model refused) |
| `error` | string | why the input was refused, or null |
| `feature.<name>` | double, int64, string or bool | one column per named feature, in model order, typed from the model's input schema (`float`, `integer`, `string`, `boolean`; a numeric model without a schema: double); null where the instance lacks the feature or its value is not of the type (refused input) |
| `prediction.value` | double, int64, string or bool | the prediction when it is a single value (a class, a number); null where it is not, or where there is none |

The last two kinds are layout 2; files written before (layout 1, no `layout` in their
metadata) have the first twelve columns only, and `read_prediction_logs` derives the
typed columns of such files from their `instance` objects and `prediction` JSON.
Features that the model declares without a type (a multi-input ONNX model without a
schema) are in `instance` only. In the JSON columns NaN and infinities, which JSON has
not, are null (the typed columns keep them).

Rows wait in memory up to `max_buffered_rows` before they are converted (then the oldest
are dropped); the rows of a file that cannot be written are dropped. Both are counted in
`conveyor_prediction_log_rows_total{outcome="dropped"}`; the server keeps answering
either way.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from conveyor.serving._log_columns import (
    NO_FEATURES,
    Layout,
    conformed,
    decoded,
    duckdb_connection,
    joined_schema,
    layout_in,
    layout_of,
    required,
    scalar_kind,
    scalars_of,
    schema,
    to_batch,
    typed_or_none,
    with_instances,
)
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import ArtifactRecord, MetadataStore
from conveyor.store.prediction_logs import (
    FEATURE_PREFIX,
    LOG_TYPE,
    PREDICTION_VALUE,
    prediction_logs,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from conveyor.serving.metrics import Metrics

__all__ = [
    "FEATURE_PREFIX",
    "LAYOUT",
    "LOG_TYPE",
    "PREDICTION_VALUE",
    "SCHEMA",
    "Entry",
    "Layout",
    "PredictionLogger",
    "layout_of",
    "prediction_logs",
    "read_prediction_logs",
    "to_table",
]

MODELS_FOLDER = "_models"
"""The folder of OIP requests' logs (no endpoint name can start with `_`)."""
LAYOUT = 3
"""The file layout written now: 2 adds the typed columns to the twelve of layout 1; 3
leaves `instance` null where every feature is in its typed column."""
SCHEMA = schema()
"""The columns every file has, first (layout 1)."""
CONVERT_OBJECTS = 4096
"""How many Python objects held in the buffer (`_objects`) wake the thread to convert
them. Requests of float arrays, which hold one each whatever their rows, wait for a
file's worth (`flush_rows`, or half the buffer): one conversion and one Parquet write of
whole columns cost the thread less than a dozen pieces of each (measured with 64-row
requests under load: 6% more of them answered than at 4096 rows a conversion)."""
_DICTIONARY = ["request_id", "endpoint", "deployed_model_id", "model", "protocol",
               "prediction", "parameters", "error"]  # fmt: skip
"""The columns worth dictionary encoding in Parquet (few distinct values)."""
_STATISTICS = ["timestamp", "model_version", "status"]
"""The columns whose Parquet statistics help a reader skip (time windows, versions)."""
WRITE_BATCH_ROWS = 65_536
"""Rows Parquet encodes at a time: its default (1024) spent a tenth of a float column's
writing time going from one small batch to the next."""
_UNCOMPRESSED = frozenset({"instance"})
"""Columns written without compression: compressing the instances' JSON took the server
half of a file's writing time, for a file a third smaller. Float feature columns are
written without it too (`_compression`): Snappy finds next to nothing to take out of
doubles' digits, for a quarter of the writing time; the other typed columns (integers,
text, booleans, predictions), which it does shrink, are compressed."""

log = logging.getLogger("conveyor.serving")
_sequence = itertools.count(1)


class Entry(NamedTuple):
    """One logged request, as kept in the buffer until it is converted: what the request
    path already had, nothing converted."""

    timestamp: float
    request_id: str | None
    """None: a new id is made when the request is converted."""
    endpoint: str
    deployed_model_id: str
    model: str
    model_version: int
    protocol: str
    instances: Any
    """A list of instances, or a float64 array of rows (an OIP tensor of floats, or
    Vertex AI instances the runtime makes into one: `PredictionService.rows_of`)."""
    predictions: list[Any] | None
    parameters: Any
    status: int
    error: str | None
    runtime: Any = None
    """The runtime that answered: its features name (and type) the feature columns."""

    @property
    def folder(self) -> tuple[str, ...]:
        return (self.endpoint,) if self.endpoint else (MODELS_FOLDER, self.model)


class _File:
    """The converted rows of one file to be, and what its metadata record will say."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0
        self.requests = 0
        self.first = float("inf")
        self.last = float("-inf")
        self.models: set[tuple[str, str, int]] = set()

    def add(self, batch: pa.RecordBatch, entries: list[Entry]) -> None:
        self.batches.append(batch)
        self.rows += batch.num_rows
        self.requests += len(entries)
        self.first = min(self.first, entries[0].timestamp)
        self.last = max(self.last, entries[-1].timestamp)
        self.models.update((e.deployed_model_id, e.model, e.model_version) for e in entries)


class PredictionLogger:
    """Buffers sampled requests and writes them as Parquet from a thread of its own,
    published in `artifacts` and recorded in `store` (a home's)."""

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        *,
        flush_rows: int = 50_000,
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
        self._objects = 0
        # Rows that wake the thread whatever they hold: a file's worth, well before the
        # buffer is full and drops the oldest.
        self._convert_rows = max(1, min(flush_rows, max_buffered_rows // 2))
        self._lock = threading.Lock()  # the buffer
        self._write_lock = threading.Lock()  # the converted rows, and writing them
        self._files: dict[tuple[tuple[str, ...], Layout], _File] = {}
        self._converted = 0
        self._written_at = time.monotonic()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._layouts: weakref.WeakKeyDictionary[Any, Layout] = weakref.WeakKeyDictionary()
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
            self._objects += _objects(entry)
            dropped = 0
            while self._rows > self.max_buffered_rows and len(self._buffer) > 1:
                old = self._buffer.popleft()
                self._rows -= len(old.instances) or 1
                self._objects -= _objects(old)
                dropped += len(old.instances) or 1
            ready = self._objects >= CONVERT_OBJECTS or self._rows >= self._convert_rows
        if dropped:
            self._count("dropped", dropped)
        if ready and not self._wake.is_set():
            self._wake.set()

    def start(self) -> None:
        """Start the thread, once the libraries it uses are loaded (so that the first
        flush does not pay for their import while requests wait)."""
        warm = [Entry(0.0, "", "", "", "", 0, "", [[0.0]], [0], None, 200, None)]
        to_batch(warm, Layout(("x",), ("float",)))
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
        with self._write_lock:
            self._convert()
            return self._write()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(max(0.0, self._written_at + self.flush_seconds - time.monotonic()))
            self._wake.clear()
            try:
                with self._write_lock:
                    self._convert()
                    due = time.monotonic() - self._written_at >= self.flush_seconds
                    if due or self._converted >= self.flush_rows:
                        self._write()
            except Exception:  # never let the thread die: the next round tries again
                log.exception("prediction log: flush failed")

    def layout(self, runtime: Any) -> Layout:
        """The feature columns of `runtime`'s requests (worked out once per runtime)."""
        if runtime is None:
            return NO_FEATURES
        try:
            return self._layouts[runtime]
        except KeyError:
            found = layout_of(runtime)
        except TypeError:  # a runtime that cannot be weakly referenced
            return layout_of(runtime)
        self._layouts[runtime] = found
        return found

    def _convert(self) -> None:
        """Turn the buffered requests into record batches of their files to be."""
        with self._lock:
            entries = list(self._buffer)
            self._buffer.clear()
            self._rows = self._objects = 0
        groups: dict[tuple[tuple[str, ...], Layout], list[Entry]] = {}
        runtime, layout = None, NO_FEATURES
        for entry in entries:
            if entry.runtime is not runtime:
                runtime, layout = entry.runtime, self.layout(entry.runtime)
            groups.setdefault((entry.folder, layout), []).append(entry)
        for key, group in groups.items():
            for chunk in _chunks(group):
                try:
                    batch = to_batch(chunk, key[1])
                except Exception:  # a bug here must not stop the log
                    rows = sum(len(e.instances) or 1 for e in chunk)
                    log.exception("prediction log: %d rows of %s dropped", rows, "/".join(key[0]))
                    self._count("dropped", rows)
                    continue
                self._files.setdefault(key, _File(chunk[0].endpoint)).add(batch, chunk)
                self._converted += batch.num_rows

    def _write(self) -> list[str]:
        files, self._files = self._files, {}
        self._converted = 0
        self._written_at = time.monotonic()
        written = []
        for (folder, layout), pending in files.items():
            try:
                written.append(self._write_file(folder, layout, pending))
            except Exception as exc:
                log.error(
                    "prediction log: %d rows of %s dropped: %s",
                    pending.rows,
                    "/".join(folder),
                    exc,
                )
                self._count("dropped", pending.rows)
            else:
                self._count("written", pending.rows)
        return written

    def _write_file(self, folder: tuple[str, ...], layout: Layout, pending: _File) -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        artifacts = self.artifacts
        first = datetime.fromtimestamp(pending.first, UTC)
        last = datetime.fromtimestamp(pending.last, UTC)
        name = f"{first:%H%M%S%f}-{os.getpid()}-{next(_sequence)}.parquet"
        uri = artifacts.uri_for("predictions", *folder, f"{first:%Y-%m-%d}", name)
        joined = joined_schema(b.schema for b in pending.batches)
        table = pa.Table.from_batches([conformed(b, joined) for b in pending.batches], joined)
        staging = artifacts.staging_path(uri)
        pq.write_table(
            required(table),
            staging,
            compression=_compression(table.schema),
            use_dictionary=_DICTIONARY,
            write_statistics=_STATISTICS,
            write_batch_size=WRITE_BATCH_ROWS,
            store_schema=False,  # text columns read back as text, not as dictionaries
        )
        published = artifacts.publish(staging, uri)
        models = sorted(pending.models, key=str)
        metadata = {
            "endpoint": pending.endpoint,
            "deployed_models": [
                {"deployed_model_id": d, "model": m, "model_version": v} for d, m, v in models
            ],
            "rows": table.num_rows,
            "requests": pending.requests,
            "first_timestamp": first.isoformat(),
            "last_timestamp": last.isoformat(),
            "format": "parquet",
            "layout": LAYOUT,
        }
        artifact_id = self.store.create_artifact(
            published.uri, LOG_TYPE, f"predictions-{'-'.join(folder)}", metadata=metadata
        )
        self.store.publish_artifact(artifact_id, sha256=published.sha256, size=published.size)
        return published.uri

    def _count(self, outcome: str, rows: int) -> None:
        if self.metrics is not None:
            self.metrics.log_rows.labels(outcome).inc(rows)


def _compression(schema: pa.Schema) -> dict[str, str]:
    """The codec of each column of a file (`_UNCOMPRESSED`)."""
    import pyarrow as pa

    return {
        field.name: "none"
        if field.name in _UNCOMPRESSED
        or (field.name.startswith(FEATURE_PREFIX) and pa.types.is_floating(field.type))
        else "snappy"
        for field in schema
    }


def to_table(
    entries: list[Entry], layout: Layout = NO_FEATURES, connection: Any = None
) -> pa.Table:
    """The rows of `entries` (one per instance, all of one `layout`) as a pyarrow Table,
    as `read_prediction_logs` gives them (`connection`: a DuckDB connection to use)."""
    import pyarrow as pa

    batches = [to_batch(chunk, layout) for chunk in _chunks(entries)]
    joined = joined_schema(b.schema for b in batches)
    table = pa.Table.from_batches([conformed(b, joined) for b in batches], joined)
    return decoded(with_instances(table, layout, connection or duckdb_connection()))


def _objects(entry: Entry) -> int:
    """The Python objects `entry`'s instances hold: one for a float array of rows."""
    instances = entry.instances
    return len(instances) or 1 if type(instances) is list else 1


def _chunks(entries: list[Entry]) -> Iterable[list[Entry]]:
    """`entries` in pieces of `CONVERT_OBJECTS` objects, converted one at a time."""
    chunk: list[Entry] = []
    held = 0
    for entry in entries:
        chunk.append(entry)
        held += _objects(entry)
        if held >= CONVERT_OBJECTS:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def read_prediction_logs(files: Iterable[str | ArtifactRecord]) -> pa.Table:
    """The rows of prediction log files (URIs or `prediction_logs` records) as one table,
    whichever layout each was written in: the columns of `SCHEMA`, then every typed
    column any of them has. The `instance` JSON that layout 3 files leave to their typed
    columns is made from them (`with_instances`: one DuckDB query a file). The typed columns of layout 1 files are derived from their
    `instance` objects and `prediction` JSON; a column a file lacks is null there, and a
    column typed differently in two files (a feature whose type changed between
    versions) is double when both are numbers, else string."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(f.uri if isinstance(f, ArtifactRecord) else f) for f in files]
    if not tables:
        return SCHEMA.empty_table()
    tables = [t if len(t.schema) > len(SCHEMA) else _upgraded(t) for t in tables]
    if any(t["instance"].null_count for t in tables):
        connection = duckdb_connection()
        try:
            tables = [with_instances(t, layout_in(t.schema), connection) for t in tables]
        finally:
            connection.close()
    joined = joined_schema([SCHEMA, *(t.schema for t in tables)])
    return pa.concat_tables([conformed(t, joined) for t in tables])


def _upgraded(table: pa.Table) -> pa.Table:
    """A layout 1 table with the typed columns its JSON holds."""
    import json

    objects = [json.loads(t) if t is not None else None for t in table["instance"].to_pylist()]
    for name in dict.fromkeys(k for o in objects if isinstance(o, dict) for k in o):
        found = _inferred([o.get(name) if isinstance(o, dict) else None for o in objects])
        if found is not None:
            table = table.append_column(FEATURE_PREFIX + name, found)
    texts = table["prediction"].to_pylist()
    found = _inferred([json.loads(t) if t is not None else None for t in texts])
    return table.append_column(PREDICTION_VALUE, found) if found is not None else table


def _inferred(values: list[Any]) -> pa.Array | None:
    """Decoded JSON values as a typed column, when they are single values."""
    kind = scalar_kind(values)
    return typed_or_none(values, kind) if kind is not None else scalars_of(values)
