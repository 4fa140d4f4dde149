"""The logged predictions of one model, found in the metadata store and read a file at a time.

The serving layer writes the prediction log (`conveyor.serving.prediction_log` documents
its columns) and records each file as an artifact of type `conveyor.PredictionLog` whose
metadata names the deployed models and the time span; monitoring, beside serving and not
above it, reads those records and files through the store alone. Only the columns asked
for are read, a file and a batch at a time: memory stays bounded by the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from conveyor.monitoring.errors import MonitorUsageError
from conveyor.store.artifacts.naming import is_local, local_of
from conveyor.store.metadata import ArtifactRecord, ArtifactState, MetadataStore
from conveyor.store.metadata.models import Artifact, ArtifactType

if TYPE_CHECKING:
    import pyarrow as pa

LOG_TYPE = "conveyor.PredictionLog"
"""The artifact type of prediction log files (`conveyor.serving.prediction_log.LOG_TYPE`)."""
PREDICTION_VALUE = "prediction.value"
"""The column of a single-valued prediction (layout 2 files)."""
BATCH_ROWS = 65_536


def artifacts_of_type(store: MetadataStore, type_name: str) -> list[ArtifactRecord]:
    """The LIVE artifacts of `type_name`, oldest first."""
    query = (
        select(Artifact.id)
        .join(ArtifactType, ArtifactType.id == Artifact.type_id)
        .where(ArtifactType.name == type_name, Artifact.state == ArtifactState.LIVE)
        .order_by(Artifact.id)
    )
    with store.transaction() as conn:
        ids = list(conn.execute(query).scalars())
    return [store.get_artifact(i) for i in ids]


def log_files(
    store: MetadataStore,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ArtifactRecord]:
    """The prediction log files holding answers of `model` whose time span meets
    [`start`, `end`) (a file's span is in its metadata; both None: every file)."""
    found = []
    for record in artifacts_of_type(store, LOG_TYPE):
        meta = record.metadata
        if not any(d.get("model") == model for d in meta.get("deployed_models", ())):
            continue
        first, last = _time(meta.get("first_timestamp")), _time(meta.get("last_timestamp"))
        if start is not None and last is not None and last < start:
            continue
        if end is not None and first is not None and first >= end:
            continue
        found.append(record)
    return found


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


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
