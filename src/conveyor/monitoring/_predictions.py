"""The logged predictions of one model, found in the metadata store and read a file at a time.

The serving layer writes the prediction log (`conveyor.serving.prediction_log` documents
its columns); `conveyor.store.prediction_logs` finds its files. Only the columns asked
for are read, a file and a batch at a time: memory stays bounded by the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conveyor.monitoring.errors import MonitorUsageError
from conveyor.store.artifacts.naming import is_local, local_of
from conveyor.store.metadata import ArtifactRecord, MetadataStore
from conveyor.store.prediction_logs import overlaps, prediction_logs

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 65_536


def log_files(
    store: MetadataStore,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ArtifactRecord]:
    """The prediction log files holding answers of `model` whose time span meets
    [`start`, `end`) (both None: every file)."""
    return [f for f in prediction_logs(store, model=model) if overlaps(f, start, end)]


def batches(
    files: Sequence[ArtifactRecord],
    columns: Sequence[str],
    fallbacks: Mapping[str, str] | None = None,
) -> Iterator[tuple[ArtifactRecord, pa.RecordBatch]]:
    """Each file's record batches with those of `columns` it has, a file at a time; a
    column a file lacks is read as its entry in `fallbacks` when it has that one (a
    layout 1 file, or a model whose predictions are not single values, has no
    `prediction.value`: its `prediction` JSON then). An unreadable file is a
    `MonitorUsageError` naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for record in files:
        with ExitStack() as stack:
            try:
                parquet = pq.ParquetFile(_opened(record.uri, stack))
                names = parquet.schema_arrow.names
                present = [c for c in columns if c in names]
                present += [
                    other
                    for column, other in (fallbacks or {}).items()
                    if column not in names and other in names and other not in present
                ]
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=present):
                    yield record, batch
            except (pa.ArrowException, OSError) as exc:
                raise MonitorUsageError(
                    f"{record.type} file {record.uri} (artifact {record.id}) cannot be read: "
                    f"{exc}; remove or repair the file"
                ) from exc


def _opened(uri: str, stack: ExitStack) -> Any:
    if is_local(uri):
        return str(local_of(uri))
    import fsspec

    return stack.enter_context(fsspec.open(uri, "rb"))
