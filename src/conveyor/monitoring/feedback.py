"""Ground truth: labels that arrive after the predictions, taken, checked and kept.

A label names the prediction it is the truth of by its instance id: the `request_id` of
the request (the OIP `id`, or the `X-Request-Id` header of a Vertex AI style request,
sent by the client or returned by the server) and the instance's `instance_index` in
the request (0 for a request of one instance). A labels file (Parquet or CSV) or a list
of rows holds three columns, named as the caller says:

    request_id,instance_index,label
    7f3c...,0,churned
    7f3c...,1,stayed

Each delivery is kept as one Parquet file of exactly these three columns, published
atomically through the artifact store under `ground_truth/<model>/<date>/`, and recorded
in the metadata store as an artifact of type `conveyor.GroundTruth` (metadata: the model,
the monitor, the rows, when it was received). Labels belong to the model, so every
monitor of the model sees them; a later label of the same instance replaces an earlier
one. `record_feedback` reports how many labels name a logged prediction, so that a wrong
id column shows at once.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.monitoring import _predictions
from conveyor.monitoring.errors import MonitorUsageError
from conveyor.monitoring.records import FeedbackSummary

if TYPE_CHECKING:
    import pyarrow as pa

    from conveyor.store.artifacts import ArtifactStore
    from conveyor.store.metadata import MetadataStore

GROUND_TRUTH_TYPE = "conveyor.GroundTruth"
"""The metadata store type of a labels file."""
REQUEST_ID, INSTANCE_INDEX, LABEL = "request_id", "instance_index", "label"
"""The columns of a stored labels file (and the default names of a given one)."""
MAX_ID = 256
"""The longest request id taken (characters)."""
EXAMPLES = 5
_sequence = itertools.count(1)


def read_labels(
    source: Any,
    *,
    request_id_column: str = REQUEST_ID,
    index_column: str = INSTANCE_INDEX,
    label_column: str = LABEL,
) -> pa.Table:
    """The labels of `source` (a `.parquet` or `.csv` path, a list of row objects, or an
    Arrow table) as a table of `request_id` (string), `instance_index` (int32, 0 when
    the source has no index column) and `label` (string, integer, float or boolean),
    checked; a later row of the same instance replaces an earlier one. Every refusal is a
    `MonitorUsageError` starting with `labels` and naming what is wrong."""
    import pyarrow as pa

    table, where = _table(source, request_id_column)
    names = table.column_names
    for column, flag in ((request_id_column, "request id"), (label_column, "label")):
        if column not in names:
            raise MonitorUsageError(
                f"labels: {where} has no {flag} column {column!r} (its columns: "
                f"{', '.join(names) or 'none'}); name it with the {flag} column option"
            )
    if table.num_rows == 0:
        raise MonitorUsageError(f"labels: {where} holds no rows; send at least one label")
    ids = _ids(table[request_id_column], where, request_id_column)
    if index_column in names:
        index = _index(table[index_column], where, index_column)
    elif index_column != INSTANCE_INDEX:
        raise MonitorUsageError(
            f"labels: {where} has no index column {index_column!r} (its columns: "
            f"{', '.join(names)})"
        )
    else:
        index = pa.array([0] * table.num_rows, pa.int32())
    label = _label(table[label_column], where, label_column)
    found = pa.table({REQUEST_ID: ids, INSTANCE_INDEX: index, LABEL: label})
    return _latest(found)


def record_feedback(
    store: MetadataStore,
    artifacts: ArtifactStore,
    *,
    monitor: str,
    model: str,
    labels: pa.Table,
) -> FeedbackSummary:
    """Keep `labels` (as `read_labels` returns them) for `model` and say how many name a
    logged prediction of it."""
    import pyarrow.parquet as pq

    received = datetime.now(UTC)
    matched, missing = match(store, model, labels)
    name = f"{received:%H%M%S%f}-{os.getpid()}-{next(_sequence)}.parquet"
    uri = artifacts.uri_for("ground_truth", model, f"{received:%Y-%m-%d}", name)
    staging = artifacts.staging_path(uri)
    pq.write_table(labels, staging)
    published = artifacts.publish(staging, uri)
    metadata = {
        "model": model,
        "monitor": monitor,
        "rows": labels.num_rows,
        "received_at": received.isoformat(),
        "label_type": str(labels.schema.field(LABEL).type),
        "format": "parquet",
    }
    artifact_id = store.create_artifact(
        published.uri, GROUND_TRUTH_TYPE, f"ground-truth-{model}", metadata=metadata
    )
    store.publish_artifact(artifact_id, sha256=published.sha256, size=published.size)
    return FeedbackSummary(
        monitor=monitor,
        model=model,
        artifact_id=artifact_id,
        uri=published.uri,
        rows=labels.num_rows,
        matched=matched,
        unmatched=labels.num_rows - matched,
        examples=missing,
        received_at=received,
    )


def match(store: MetadataStore, model: str, labels: pa.Table) -> tuple[int, list[dict[str, Any]]]:
    """How many of `labels` name a logged prediction of `model`, and a few that do not
    (`request_id`, `instance_index`); the log's two id columns are read, a batch at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = labels.select([REQUEST_ID, INSTANCE_INDEX])
    wanted = instance_keys(keys)
    seen = pa.array([False] * labels.num_rows)
    columns = [REQUEST_ID, INSTANCE_INDEX, "model"]
    for _, batch in _predictions.batches(_predictions.log_files(store, model), columns):
        batch = _of_model(batch, model)
        if batch.num_rows:
            seen = pc.or_(seen, pc.is_in(wanted, value_set=instance_keys(batch)))
    matched = pc.sum(seen.cast(pa.int64())).as_py() or 0
    missing = keys.filter(pc.invert(seen)).slice(0, EXAMPLES).to_pylist()
    return matched, missing


def ground_truth(store: MetadataStore, model: str) -> pa.Table:
    """Every label received for `model`, a later one of an instance replacing an earlier."""
    import pyarrow as pa

    files = [
        record
        for record in store.live_artifacts(GROUND_TRUTH_TYPE)
        if record.metadata.get("model") == model
    ]
    columns = [REQUEST_ID, INSTANCE_INDEX, LABEL]
    tables = [pa.Table.from_batches([b]) for _, b in _predictions.batches(files, columns)]
    if not tables:
        return pa.table({REQUEST_ID: pa.array([], pa.string()),
                         INSTANCE_INDEX: pa.array([], pa.int32()),
                         LABEL: pa.array([], pa.string())})  # fmt: skip
    if len({t.schema.field(LABEL).type for t in tables}) > 1:  # classes sent as text and numbers
        tables = [t.set_column(2, LABEL, t[LABEL].cast(pa.string())) for t in tables]
    return _latest(pa.concat_tables(tables))


def instance_keys(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """One string per instance: the request id, `\\x1f` and the index. Two instances never
    share one: the index, digits, follows the last `\\x1f`."""
    import pyarrow.compute as pc

    ids = table[REQUEST_ID]
    if ids.type != "string":
        ids = ids.cast("string")
    index = table[INSTANCE_INDEX].cast("string")
    return pc.binary_join_element_wise(ids, index, "\x1f")


def _of_model(batch: pa.RecordBatch, model: str) -> pa.RecordBatch:
    import pyarrow.compute as pc

    if "model" not in batch.schema.names:
        return batch
    return batch.filter(pc.equal(batch["model"], model))


def _latest(table: pa.Table) -> pa.Table:
    """`table` with one row per instance: its last."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = instance_keys(table)
    if pc.count_distinct(keys).as_py() == table.num_rows:
        return table
    positions = pa.table({"key": keys, "row": pa.array(range(table.num_rows), pa.int64())})
    last = positions.group_by("key").aggregate([("row", "max")])["row_max"]
    return table.take(last.take(pc.sort_indices(last)))


def _table(source: Any, id_column: str) -> tuple[pa.Table, str]:
    """The source as an Arrow table, and how messages name it."""
    import pyarrow as pa

    if isinstance(source, pa.Table):
        return source, "the labels"
    if isinstance(source, str | os.PathLike):
        return _file(Path(source), id_column), str(source)
    if isinstance(source, Sequence) and not isinstance(source, bytes):
        bad = next((i for i, row in enumerate(source) if not isinstance(row, Mapping)), None)
        if bad is not None:
            raise MonitorUsageError(
                f"labels: row {bad} is not an object; send rows like "
                '{"request_id": "...", "instance_index": 0, "label": 1}'
            )
        try:
            return pa.Table.from_pylist(list(source)), "the rows"
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise MonitorUsageError(
                f"labels: the rows do not make a table: {exc}; give each column values of one type"
            ) from None
    raise MonitorUsageError(
        f"labels: give a .parquet or .csv file, or a list of rows, not {type(source).__name__}"
    )


def _file(path: Path, id_column: str) -> pa.Table:
    import pyarrow as pa

    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise MonitorUsageError(
            f"labels: {path} is neither .parquet nor .csv; give the labels as one of them"
        )
    if not path.is_file():
        raise MonitorUsageError(f"labels: {path} is not a file")
    try:
        if suffix == ".csv":
            import pyarrow.csv as csv

            options = csv.ConvertOptions(column_types={id_column: pa.string()})
            return csv.read_csv(path, convert_options=options)
        import pyarrow.parquet as pq

        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        kind = "CSV" if suffix == ".csv" else "Parquet"
        raise MonitorUsageError(f"labels: cannot read {path} as {kind}: {exc}") from None


def _ids(column: pa.ChunkedArray, where: str, name: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            or pa.types.is_integer(column.type)):  # fmt: skip
        raise MonitorUsageError(
            f"labels: {where} column {name!r} holds {column.type}, not request ids (text)"
        )
    ids = column.cast(pa.string()).combine_chunks()
    nulls = ids.null_count
    if nulls:
        raise MonitorUsageError(f"labels: {where} column {name!r} has {nulls} empty ids")
    longest = pc.max(pc.utf8_length(ids)).as_py() or 0
    if longest > MAX_ID or pc.min(pc.utf8_length(ids)).as_py() == 0:
        raise MonitorUsageError(
            f"labels: {where} column {name!r} holds an id of 0 or more than {MAX_ID} characters"
        )
    return ids


def _index(column: pa.ChunkedArray, where: str, name: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count and (pa.types.is_integer(column.type) or pa.types.is_null(column.type)):
        column = column.cast(pa.int64()).fill_null(0)  # an index left out is the first, 0
    problem = None
    if not pa.types.is_integer(column.type):
        problem = f"holds {column.type} values"
    elif len(column) and (pc.min(column).as_py() < 0 or pc.max(column).as_py() > 2**31 - 1):
        problem = "holds a negative or too large position"
    if problem:
        raise MonitorUsageError(
            f"labels: {where} column {name!r} {problem}; give each instance's position in "
            "its request, a whole number from 0"
        )
    return column.cast(pa.int32()).combine_chunks()


def _label(column: pa.ChunkedArray, where: str, name: str) -> pa.Array:
    import pyarrow as pa

    if column.null_count:
        raise MonitorUsageError(
            f"labels: {where} column {name!r} has {column.null_count} empty labels; leave "
            "those rows out"
        )
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_large_string(kind):
        column, kind = column.cast(pa.string()), pa.string()
    if pa.types.is_floating(kind):
        column, kind = column.cast(pa.float64()), pa.float64()
    elif pa.types.is_integer(kind):
        column, kind = column.cast(pa.int64()), pa.int64()
    if not (
        pa.types.is_string(kind) or pa.types.is_boolean(kind) or kind in (pa.int64(), pa.float64())
    ):
        raise MonitorUsageError(
            f"labels: {where} column {name!r} holds {kind}; a label is a class (text, "
            "whole number, boolean) or a number"
        )
    return column.combine_chunks()
