"""A window of the prediction log: the files that hold it, and its rows streamed as record
batches of the watched fields, filtered and sampled, never loaded whole.

The files are the metadata store's `conveyor.PredictionLog` artifacts
(`conveyor.store.prediction_logs`; `conveyor.serving.prediction_log` writes them); a file is read when its time span overlaps the window
and its metadata says it holds the watched model version. Layout 2 files are scanned with
`pyarrow.dataset`, a file at a time, with the filter `timestamp` in the window, `model`
and `model_version` the watched ones and `status == 200` pushed into the scan (less what a
file is known to meet: its metadata names the watched version alone, its footer's
statistics put its times inside the window and its statuses at 200); the typed
columns `feature.<name>` and `prediction.value` come out renamed to the schema's field
names. Layout 1 files (no typed columns) are small: they are read whole and their columns
derived from the `instance` objects and `prediction` JSON. A sampling rate below 1 keeps each row with that probability, drawn from a
generator seeded per job and window, so a source read twice (a reference's quantiles, then
its counts) sees the same rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from conveyor.errors import UsageError
from conveyor.store.artifacts.naming import is_local, local_of
from conveyor.store.metadata import ArtifactRecord, MetadataStore
from conveyor.store.prediction_logs import (
    FEATURE_PREFIX,
    PREDICTION_VALUE,
    overlaps,
    prediction_logs,
)

_FILTER_COLUMNS = ("timestamp", "model", "model_version", "status")


class WindowError(UsageError):
    """The prediction log cannot give the window's rows: a corrupt file, or a watched field
    no file of the window has. A job records it as its error (FAILED)."""


@dataclasses.dataclass(frozen=True)
class Window:
    """A time window of the log, `[start, end)`, in UTC."""

    start: datetime
    end: datetime

    def before(self) -> Window:
        """The window of the same length just before this one (what drift compares with)."""
        return Window(self.start - (self.end - self.start), self.start)

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def utc(moment: datetime) -> datetime:
    """`moment` in UTC (a naive time is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def columns_of(feature_fields: Sequence[str], prediction_fields: Sequence[str]) -> dict[str, str]:
    """The log column of each watched field: `feature.<name>` for features; for the
    predictions `prediction.<name>` when the log has it, else `prediction.value` (the
    single prediction the log types)."""
    found = {name: FEATURE_PREFIX + name for name in feature_fields}
    for name in prediction_fields:
        found[name] = PREDICTION_VALUE if len(prediction_fields) == 1 else f"prediction.{name}"
    return found


def overlapping(
    store: MetadataStore, model: str, version: int, windows: Sequence[Window]
) -> list[ArtifactRecord]:
    """The log files holding `model@version` whose time span overlaps one of `windows`,
    oldest first."""
    files = prediction_logs(store, model=model, version=version)
    return [f for f in files if any(overlaps(f, w.start, w.end) for w in windows)]


def in_window(files: Sequence[ArtifactRecord], window: Window) -> list[ArtifactRecord]:
    """The files of `files` whose span overlaps `window`."""
    return [f for f in files if overlaps(f, window.start, window.end)]


class WindowReader:
    """The rows of `model@version` in log `files`, as batches of the fields of `columns`
    (field name to log column), sampled at `sampling_rate` with `seed`."""

    def __init__(
        self,
        files: Sequence[ArtifactRecord],
        model: str,
        version: int,
        columns: Mapping[str, str],
        *,
        sampling_rate: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.files = list(files)
        self.model = model
        self.version = version
        self.columns = dict(columns)
        self.sampling_rate = sampling_rate
        self.seed = seed
        self.rows_read = 0
        self._opened: dict[int, tuple[Any, dict]] = {}  # a file's dataset and _bounds

    def check_columns(self, window: Window, fields: Sequence[str]) -> None:
        """Raise `WindowError` when a field of `fields` is in no file of `window` (a
        feature the requests do not carry), or a file's footer cannot be read."""
        files = in_window(self.files, window)
        present: set[str] = set()
        for record in files:
            if record.metadata.get("layout") is None:
                present.update(_layout_1(record, self.columns.values()).schema.names)
            else:
                present.update(_schema_of(record).names)
        if not files:
            return
        missing = [f for f in fields if self.columns[f] not in present]
        if missing:
            described = ", ".join(f"{f!r} (column {self.columns[f]})" for f in missing)
            raise WindowError(
                f"the prediction log of {self.model}@{self.version} has no {described} in "
                f"the {len(files)} file(s) of the window: the requests do not carry "
                "it; remove it from the monitor's schema or send it with the requests"
            )

    def source(self, window: Window, index: int = 0) -> Callable[[], Iterator[pa.RecordBatch]]:
        """A function returning the window's batches afresh (read twice for a reference);
        `index` varies the sampling seed between the windows of one job."""
        files = in_window(self.files, window)

        def read() -> Iterator[pa.RecordBatch]:
            rng = np.random.default_rng([self.seed, index])
            for record in files:
                for batch in self._batches(record, window):
                    if self.sampling_rate < 1.0:
                        batch = batch.filter(rng.random(batch.num_rows) < self.sampling_rate)
                    if batch.num_rows:
                        yield batch

        return read

    def counted(self, window: Window, index: int = 0) -> Iterator[pa.RecordBatch]:
        """The window's batches once, adding their rows to `rows_read`."""
        for batch in self.source(window, index)():
            self.rows_read += batch.num_rows
            yield batch

    def _batches(self, record: ArtifactRecord, window: Window) -> Iterator[pa.RecordBatch]:
        wanted = {c: f for f, c in self.columns.items()}
        try:
            if record.metadata.get("layout") is None:
                table = _layout_1(record, wanted).filter(self._filter(window))
                yield from (self._renamed(b, wanted) for b in table.to_batches())
                return
            if record.id not in self._opened:  # once for every pass
                dataset = _dataset(record)
                self._opened[record.id] = (dataset, _bounds(dataset))
            dataset, bounds = self._opened[record.id]
            names = dataset.schema.names
            chosen = [c for c in wanted if c in names]
            scanner = dataset.scanner(
                columns=chosen, filter=self._filter(window, record, bounds), batch_readahead=2
            )
            for batch in scanner.to_batches():
                yield self._renamed(batch, wanted)
        except (pa.ArrowException, OSError) as exc:
            raise WindowError(
                f"cannot read prediction log file {_path(record)} (artifact "
                f"{record.id}): {exc}; fix or delete the file (`conveyor lineage` shows "
                "its artifact)"
            ) from exc

    def _filter(
        self,
        window: Window,
        record: ArtifactRecord | None = None,
        known: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> Any:
        """The rows of the window, of the watched version, answered (status 200); without
        the conditions `record`'s file is known to meet (its metadata names this version
        alone, its footer's statistics bound its times and statuses): evaluating them on
        every row took about as long as decoding the columns."""
        import pyarrow.dataset as ds

        stamp = pa.timestamp("us", tz="UTC")
        known = known or {}
        times = known.get("timestamp")
        conditions = []
        if times is None or not window.start <= times[0]:
            conditions.append(ds.field("timestamp") >= pa.scalar(window.start, stamp))
        if times is None or not times[1] < window.end:
            conditions.append(ds.field("timestamp") < pa.scalar(window.end, stamp))
        models = [] if record is None else record.metadata.get("deployed_models") or []
        if not models or any(m.get("model") != self.model for m in models):
            conditions.append(ds.field("model") == self.model)
        if known.get("model_version") != (self.version, self.version) and (
            not models or any(m.get("model_version") != self.version for m in models)
        ):
            conditions.append(ds.field("model_version") == self.version)
        if known.get("status") != (200, 200):
            conditions.append(ds.field("status") == 200)
        if not conditions:
            return None
        found = conditions[0]
        for condition in conditions[1:]:
            found = found & condition
        return found

    @staticmethod
    def _renamed(batch: pa.RecordBatch, wanted: Mapping[str, str]) -> pa.RecordBatch:
        names = [wanted[n] for n in batch.schema.names if n in wanted]
        arrays = [batch.column(i) for i, n in enumerate(batch.schema.names) if n in wanted]
        return pa.RecordBatch.from_arrays(arrays, names=names)


def _layout_1(record: ArtifactRecord, columns: Any) -> pa.Table:
    """A layout 1 file (no typed columns; small) with the typed columns of `columns` its
    `instance` objects and `prediction` JSON hold."""
    import json

    import pyarrow.parquet as pq

    try:
        table = pq.read_table(_path(record))
    except (pa.ArrowException, OSError) as exc:
        raise WindowError(
            f"cannot read prediction log file {_path(record)} (artifact {record.id}): "
            f"{exc}; fix or delete the file"
        ) from exc
    objects = [json.loads(t) if t else None for t in table["instance"].to_pylist()]
    for column in columns:
        if column in table.schema.names:
            continue
        if column == PREDICTION_VALUE:
            texts = table["prediction"].to_pylist()
            values = [json.loads(t) if t else None for t in texts]
        elif column.startswith(FEATURE_PREFIX):
            name = column.removeprefix(FEATURE_PREFIX)
            values = [o.get(name) if isinstance(o, dict) else None for o in objects]
        else:
            continue
        values = [v if isinstance(v, str | int | float | bool) else None for v in values]
        if any(v is not None for v in values):
            try:
                table = table.append_column(column, pa.array(values))
            except (pa.ArrowException, TypeError):  # mixed kinds: as text
                text = [None if v is None else str(v) for v in values]
                table = table.append_column(column, pa.array(text, pa.string()))
    return table


def _dataset(record: ArtifactRecord) -> Any:
    import pyarrow.dataset as ds

    path = _path(record)
    found = ds.dataset(path, format="parquet")
    strings = [f.name for f in found.schema if pa.types.is_string(f.type)]
    strings = [s for s in strings if s not in _FILTER_COLUMNS]
    if not strings:
        return found
    options = ds.ParquetReadOptions(dictionary_columns=strings)
    return ds.dataset(path, format=ds.ParquetFileFormat(read_options=options))


def _bounds(dataset: Any) -> dict[str, tuple[Any, Any]]:
    """The least and greatest value of each filter column of a one-file dataset, from its
    footer's statistics; a column is left out when a row group has no statistics or a
    null in it (a file written without them is filtered row by row)."""
    fragments = list(dataset.get_fragments())
    if len(fragments) != 1:
        return {}
    metadata = fragments[0].metadata
    if metadata.num_row_groups == 0:
        return {}
    found: dict[str, tuple[Any, Any]] = {}
    for name in _FILTER_COLUMNS:
        lows, highs = [], []
        for number in range(metadata.num_row_groups):
            group = metadata.row_group(number)
            column = next(
                (group.column(j) for j in range(group.num_columns)
                 if group.column(j).path_in_schema == name),
                None,
            )  # fmt: skip
            statistics = None if column is None else column.statistics
            if statistics is None or not statistics.has_min_max or statistics.null_count != 0:
                break
            lows.append(statistics.min)
            highs.append(statistics.max)
        else:
            try:
                found[name] = (min(lows), max(highs))
            except TypeError:  # values of another type than expected: filter them
                continue
    if "timestamp" in found and not all(
        isinstance(t, datetime) and t.tzinfo is not None for t in found["timestamp"]
    ):
        del found["timestamp"]
    return found


def _schema_of(record: ArtifactRecord) -> pa.Schema:
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(_path(record))
    except (pa.ArrowException, OSError) as exc:
        raise WindowError(
            f"cannot read prediction log file {_path(record)} (artifact {record.id}): "
            f"{exc}; fix or delete the file"
        ) from exc


def _path(record: ArtifactRecord) -> str:
    return str(local_of(record.uri)) if is_local(record.uri) else record.uri
