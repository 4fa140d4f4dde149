"""The prediction log's rows as Arrow columns: logged requests in, record batches out.

`to_batch(entries, layout)` turns requests, as the request path kept them (instances and
predictions as JSON decoded them, nothing converted), into one record batch of the log's
columns (`conveyor.serving.prediction_log` documents them). It works a column at a time,
without a Python loop per row where requests were answered as asked:

- the request's own fields (id, endpoint, model, status, ...) are one value per request,
  repeated for its instances: numbers by numpy, text as dictionary arrays (each value
  once, and an index a row), which Parquet writes without hashing every row's text;
- the features of list instances are one flat list of values, read by pyarrow in one
  call and cut into columns by numpy; those of object instances are read one feature at
  a time (`itemgetter`); float64 arrays (Open Inference Protocol tensors of floats, as
  `inference.instances_of` hands them over) are cut into columns by numpy alone, no
  Python object per value;
- the `instance` JSON of rows whose features all have a column is left null: the file
  keeps each value once, in its column, and a reader that wants the JSON has it made
  (`with_instances`: one DuckDB query over the feature columns, in C++, rather than a
  Python object per row); the other rows' JSON comes from orjson; predictions' JSON from
  a pyarrow cast or orjson.

A refused request, or one whose values do not fit the columns' types, is done a value
at a time (`_row_by_row`), so that the common case does not pay for the odd one.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from conveyor.store.prediction_logs import FEATURE_PREFIX, PREDICTION_VALUE

if TYPE_CHECKING:
    import pyarrow as pa

    from conveyor.serving.prediction_log import Entry


# The feature layout of a model's requests


class Layout(NamedTuple):
    """The features of a model's instances, in model order, and the type of each one's
    column (`float`, `integer`, `string`, `boolean`; None: in `instance` only)."""

    names: tuple[str, ...] | None
    types: tuple[str | None, ...] = ()

    @property
    def typed(self) -> list[tuple[int, str, str]]:
        """(position, name, type) of the features that get a column."""
        return [
            (i, n, t)
            for i, (n, t) in enumerate(zip(self.names or (), self.types, strict=True))
            if t
        ]


NO_FEATURES = Layout(None)
_TYPES = {"float": "float", "double": "float", "integer": "integer", "string": "string",
          "boolean": "boolean"}  # fmt: skip


def layout_in(schema: pa.Schema) -> Layout:
    """The layout a file's typed feature columns hold, in their order (the model's)."""
    import pyarrow as pa

    fields = [f for f in schema if f.name.startswith(FEATURE_PREFIX)]
    if not fields:
        return NO_FEATURES
    kinds = [
        "float"
        if pa.types.is_floating(f.type)
        else "integer"
        if pa.types.is_integer(f.type)
        else "boolean"
        if pa.types.is_boolean(f.type)
        else "string"
        for f in fields
    ]
    return Layout(tuple(f.name.removeprefix(FEATURE_PREFIX) for f in fields), tuple(kinds))


def layout_of(runtime: Any) -> Layout:
    """The layout of a runtime's instances: its feature names, typed by its input schema
    (`runtime.features()`: a numeric model without a schema has float features)."""
    names = getattr(runtime, "feature_names", None)
    if not names:
        return NO_FEATURES
    names = tuple(str(n) for n in names)
    try:
        declared = {f["name"]: f.get("type") for f in runtime.features() or ()}
    except Exception:  # a runtime that cannot describe its features: JSON only
        declared = {}
    return Layout(names, tuple(_TYPES.get(declared.get(n) or "") for n in names))


def arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {"float": pa.float64(), "integer": pa.int64(), "string": pa.string(),
            "boolean": pa.bool_()}[kind]  # fmt: skip


@functools.cache
def schema() -> pa.Schema:
    """The columns every file has (layout 1); layout 2 adds the typed ones after them."""
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


_NONE = type(None)
_FITS = {
    "float": frozenset({float, int, _NONE}),
    "integer": frozenset({int, _NONE}),
    "string": frozenset({str, _NONE}),
    "boolean": frozenset({bool, _NONE}),
}
"""The Python types (as JSON decodes them) that a typed column takes as they are."""
_SCALARS = {
    frozenset({bool}): "boolean",
    frozenset({int}): "integer",
    frozenset({float}): "float",
    frozenset({int, float}): "float",
    frozenset({str}): "string",
}
_ORJSON = functools.partial(orjson.dumps, option=orjson.OPT_SERIALIZE_NUMPY)
"""orjson for what JSON decoded: its other options cost time (keys that are not strings,
by far the most), so values that need them go through `dumps`."""
_ORJSON_ANY = functools.partial(
    orjson.dumps, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
)


def fits(kind: str, value: Any) -> bool:
    """Whether `value` goes into a column of `kind` as it is (an integer column also
    takes floats of whole numbers, as input schemas do)."""
    if kind == "integer" and type(value) is float:
        return value.is_integer() and -(2.0**63) <= value < 2.0**63
    if type(value) not in _FITS[kind]:
        return False
    return kind != "integer" or value is None or -(2**63) <= value < 2**63


# A record batch of requests


def to_batch(entries: list[Entry], layout: Layout) -> pa.RecordBatch:
    """The rows of `entries` (one per instance, all of one `layout`): the columns of
    `schema()`, then `feature.<name>` for each typed feature, then `prediction.value`
    when there are single-valued predictions."""
    import numpy as np
    import pyarrow as pa

    counts = np.fromiter((len(e.instances) or 1 for e in entries), np.int64, len(entries))
    # Instances and predictions: runs of requests answered as asked go column by column;
    # a refused request, or one the columnar path cannot take, a value at a time.
    features: list[list[pa.Array]] = [[] for _ in layout.typed]
    texts: list[pa.Array] = []
    predicted: list[Any] = []
    for run, columnar in _runs(entries):
        built = _columnar(run, layout) if columnar else None
        if built is None:
            built = _row_by_row(run, layout)
        for column, array in zip(features, built[0], strict=True):
            column.append(array)
        texts.append(built[1])
        predicted += built[2]
    # The request's own fields: one value per request, repeated for its instances.
    fields = list(zip(*entries, strict=True))
    requests = np.repeat(np.arange(len(entries), dtype=np.int32), counts)
    index = pa.array(requests)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    ids = _ids(fields[1])
    parameters = [None if p is None else dumps(p) for p in fields[9]]

    zeros = pa.array(np.zeros(len(starts), np.int32))
    nulls = pa.nulls(len(starts), pa.int32())

    def repeated(values: Sequence[Any]) -> pa.Array:
        """A request's text field for its rows, as a dictionary array: each request's
        value once, then an index a row (Parquet writes these as they are; plain text
        it would hash row by row to make the same dictionary)."""
        first = values[0]
        if values.count(first) == len(values):  # most fields are one value for all rows
            if first is None:
                return pa.DictionaryArray.from_arrays(nulls, pa.array([], pa.string()))
            return pa.DictionaryArray.from_arrays(zeros, pa.array([first], pa.string()))
        if None not in values:
            return pa.DictionaryArray.from_arrays(index, pa.array(values, pa.string()))
        absent = np.fromiter((v is None for v in values), np.bool_, len(values))
        masked = pa.array(requests, mask=absent[requests])  # Parquet takes no null values
        texts = ["" if v is None else v for v in values]
        return pa.DictionaryArray.from_arrays(masked, pa.array(texts, pa.string()))

    micros = np.rint(np.array(fields[0], np.float64) * 1e6).astype(np.int64)
    prediction, value = _predictions(predicted)
    names = [*schema().names]
    arrays = [
        pa.array(np.repeat(micros, counts), pa.timestamp("us", tz="UTC")),
        repeated(ids),
        repeated(fields[2]),
        repeated(fields[3]),
        repeated(fields[4]),
        pa.array(np.repeat(np.array(fields[5], np.int64), counts)),
        repeated(fields[6]),
        pa.array((np.arange(len(starts)) - starts).astype(np.int32)),
        _concat(texts),
        prediction,
        repeated(parameters),
        pa.array(np.repeat(np.array(fields[10], np.int32), counts)),
        repeated(fields[11]),
    ]
    for (_, name, _), chunks in zip(layout.typed, features, strict=True):
        names.append(FEATURE_PREFIX + name)
        arrays.append(_concat(chunks))
    if value is not None:
        names.append(PREDICTION_VALUE)
        arrays.append(value)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _ids(given: Sequence[str | None]) -> Sequence[str]:
    """The requests' ids: a new random one (32 hex digits, as a UUID's) for those without."""
    missing = given.count(None)
    if not missing:
        return given
    fresh = os.urandom(16 * missing).hex()
    made = (fresh[i : i + 32] for i in range(0, 32 * missing, 32))
    return [i if i is not None else next(made) for i in given]


def _concat(arrays: list[pa.Array]) -> pa.Array:
    import pyarrow as pa

    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def _runs(entries: list[Entry]) -> Iterable[tuple[list[Entry], bool]]:
    """`entries` in order, as runs of answered requests (True: the columnar path may take
    them together) and single other ones (False)."""
    run: list[Entry] = []
    for entry in entries:
        predictions = entry.predictions
        if (
            entry.status == 200
            and len(entry.instances)
            and predictions is not None
            and len(predictions) == len(entry.instances)
        ):
            run.append(entry)
            continue
        if run:
            yield run, True
            run = []
        yield [entry], False
    if run:
        yield run, True


_Built = tuple[list[Any], Any, list[Any]]
"""The typed feature arrays, the `instance` JSON array and the predictions of some rows."""


def _derived(rows: int) -> pa.Array:
    """`instance` for rows whose features are all in their columns: null in the file,
    made from the columns by `with_instances` when it is read."""
    import pyarrow as pa

    return pa.nulls(rows, pa.string())


def _columnar(run: list[Entry], layout: Layout) -> _Built | None:
    """The rows of answered requests, a column at a time; None when some of their values
    do not fit (then halves of the run are tried, down to single requests)."""
    found = _columnar_rows(run, layout)
    if found is not None or len(run) == 1:
        return found
    half = len(run) // 2
    left = _columnar(run[:half], layout) or _row_by_row(run[:half], layout)
    right = _columnar(run[half:], layout) or _row_by_row(run[half:], layout)
    return _joined(left, right)


def _columnar_rows(run: list[Entry], layout: Layout) -> _Built | None:
    predicted = list(itertools.chain.from_iterable(e.predictions for e in run))  # type: ignore[misc]
    found = _array_rows(run, layout)
    if found is not None:
        return found[0], _derived(found[1]), predicted
    rows = list(itertools.chain.from_iterable(map(_listed, (e.instances for e in run))))
    names = layout.names
    if names is None:
        return [], json_texts(rows), predicted
    kinds = set(map(type, rows))
    if kinds <= {list, tuple}:
        if set(map(len, rows)) != {len(names)}:
            return None
        flat = list(itertools.chain.from_iterable(rows))
        typed = _typed_columns(flat, len(rows), layout)
        if typed is None:
            return None
        if len(typed) == len(names):
            return typed, _derived(len(rows)), predicted
        return typed, json_texts(map(dict, map(zip, itertools.repeat(names), rows))), predicted
    if kinds == {dict}:
        if set(map(len, rows)) != {len(names)}:
            return None  # a missing or unknown feature
        values = map(itemgetter(*names), rows)  # tuples of values; one feature: values
        try:  # the values row after row, then as the rows of lists are
            flat = list(itertools.chain.from_iterable(values) if len(names) > 1 else values)
        except KeyError:
            return None
        typed = _typed_columns(flat, len(rows), layout)
        if typed is None:
            return None
        if len(typed) == len(names):
            return typed, _derived(len(rows)), predicted
        return typed, json_texts(rows), predicted
    if len(names) == 1 and not kinds & {dict, list, tuple}:  # a one-feature model's values
        typed = _typed_of_columns([rows], layout)
        return (typed, json_texts(rows), predicted) if typed is not None else None
    return None


def _array_rows(run: list[Entry], layout: Layout) -> tuple[list[pa.Array], int] | None:
    """The feature columns of requests whose instances are float64 arrays (an Open
    Inference Protocol tensor of floats, `inference.instances_of`) of a model whose
    features are all float columns, cut from the arrays by numpy, and their number of
    rows; None for any other requests."""
    import numpy as np

    width = len(layout.names or ())
    typed = layout.typed
    if not width or len(typed) != width or any(kind != "float" for _, _, kind in typed):
        return None
    arrays = [e.instances for e in run]
    if not all(type(a) is np.ndarray and a.ndim == 2 and a.shape[1] == width for a in arrays):
        return None
    columns = _float_columns(arrays, width, typed)
    return columns, len(columns[0])


_BLOCK = 512
"""Rows of one array transposed at a time (`_float_columns`)."""


def _float_columns(
    pieces: Sequence[Any], width: int, typed: list[tuple[int, str, str]]
) -> list[pa.Array]:
    """The `typed` columns of row-major float pieces (rows by `width` each), one after the
    other, copied into place a piece at a time: a piece of a few kilobytes stays in cache
    as it is transposed, where all the rows at once do not (50,000 rows of 8: a third of
    the time of transposing them whole, a fifth of that of concatenating the requests'
    arrays, then transposing)."""
    import numpy as np
    import pyarrow as pa

    columns = np.empty((width, sum(map(len, pieces))), np.float64)
    start = 0
    for piece in pieces:
        end = start + len(piece)
        columns[:, start:end] = piece.T
        start = end
    return [pa.array(columns[i]) for i, _, _ in typed]


def _listed(instances: Any) -> Any:
    """Instances as lists: those of a float64 array (all floats, as JSON sent them)."""
    import numpy as np

    return instances.tolist() if isinstance(instances, np.ndarray) else instances


def _typed_columns(flat: list[Any], rows: int, layout: Layout) -> list[pa.Array] | None:
    """The typed feature columns of `rows` rows whose values, row after row, are `flat`;
    None when a value does not fit its column (the answered requests' values passed the
    model's schema, so they do; pyarrow refuses the others)."""
    import numpy as np
    import pyarrow as pa

    width = len(layout.names or ())
    typed = layout.typed
    if not typed:
        return []
    try:
        if all(kind == "float" for _, _, kind in typed):
            values = pa.array(flat, pa.float64())
            if values.null_count == 0:  # one read, then numpy cuts the columns apart
                matrix = values.to_numpy().reshape(rows, width)
                blocks = [matrix[i : i + _BLOCK] for i in range(0, rows, _BLOCK)]
                return _float_columns(blocks, width, typed)
            steps = np.arange(rows, dtype=np.int64) * width
            return [values.take(pa.array(steps + i)) for i, _, _ in typed]
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None
    return _typed_of_columns([flat[i::width] for i in range(width)], layout)


def _typed_of_columns(columns: list[Sequence[Any]], layout: Layout) -> list[pa.Array] | None:
    """The typed feature columns of the features' values, in model order; None when a
    value does not fit its column."""
    import pyarrow as pa

    found = []
    try:
        for i, _, kind in layout.typed:
            column = columns[i]
            kinds = set(map(type, column)) if kind == "integer" else None
            if kinds is not None and not kinds <= _FITS[kind]:
                if bool in kinds:
                    return None
                # Whole numbers written 3.0 (an FP64 tensor's): pyarrow would cut 2.5 to 2
                # from a list, but a safe cast from doubles refuses it.
                found.append(pa.array(column, pa.float64()).cast(pa.int64()))
            else:
                found.append(pa.array(column, arrow_type(kind)))
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None
    return found


def _row_by_row(run: list[Entry], layout: Layout) -> _Built:
    """The rows of any requests, refused ones included, a value at a time."""
    import pyarrow as pa

    names = layout.names
    typed = layout.typed
    values: list[list[Any]] = [[] for _ in typed]
    shown: list[Any] = []
    predicted: list[Any] = []
    for entry in run:
        predictions = entry.predictions
        for i, row in enumerate(_listed(entry.instances) or [None]):
            if names is not None and isinstance(row, list | tuple) and len(row) == len(names):
                row = dict(zip(names, row, strict=True))
                shown.append(row)
            else:
                shown.append(row)  # a one-feature model's instance may be its value
                if names is not None and len(names) == 1 and not isinstance(row, dict | list):
                    row = {names[0]: row}
            for column, (_, name, kind) in zip(values, typed, strict=True):
                value = row.get(name) if isinstance(row, dict) else None
                column.append(value if fits(kind, value) else None)
            has = predictions is not None and i < len(predictions)
            predicted.append(predictions[i] if has else ABSENT)  # type: ignore[index]
    arrays = [pa.array(v, arrow_type(k)) for v, (_, _, k) in zip(values, typed, strict=True)]
    return arrays, json_texts(shown), predicted


def _joined(left: _Built, right: _Built) -> _Built:
    import pyarrow as pa

    return (
        [pa.concat_arrays([a, b]) for a, b in zip(left[0], right[0], strict=True)],
        pa.concat_arrays([left[1], right[1]]),
        left[2] + right[2],
    )


class _Absent:
    """No prediction for this row (a refused request)."""


ABSENT = _Absent()


def _predictions(predicted: list[Any]) -> tuple[pa.Array, pa.Array | None]:
    """The `prediction` JSON column (null where there is no prediction) and, when there
    are single-valued predictions, the `prediction.value` column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = set(map(type, predicted))
    absent = _Absent in kinds
    plain = [None if p is ABSENT else p for p in predicted] if absent else predicted
    kinds -= {_Absent, _NONE}
    kind = _SCALARS.get(frozenset(kinds))
    value = typed_or_none(plain, kind) if kind is not None else None
    texts = _json_of(value) if value is not None else json_texts(plain)
    if absent:
        mask = pa.array([p is ABSENT for p in predicted], pa.bool_())
        texts = pc.if_else(mask, pa.scalar(None, pa.string()), texts)
    if value is None and kinds & {bool, int, float, str}:
        value = scalars_of(plain)  # predictions of mixed forms: their single values
    return texts, value


def typed_or_none(values: list[Any], kind: str) -> pa.Array | None:
    """`values` (all of `_FITS[kind]`) as an array of `kind`; None when they do not fit
    (integers beyond int64)."""
    import numpy as np
    import pyarrow as pa

    if kind == "integer":  # numpy reads Python integers ten times as fast as pyarrow
        try:
            return pa.array(np.array(values, np.int64))
        except (OverflowError, TypeError, ValueError):
            pass  # a null among them, or beyond int64: as pyarrow reads them
    try:
        return pa.array(values, arrow_type(kind))
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None


def scalar_kind(values: list[Any]) -> str | None:
    """The column type that holds all of `values` (nulls aside), if any."""
    return _SCALARS.get(frozenset(set(map(type, values)) - {_NONE}))


def scalars_of(values: list[Any]) -> pa.Array | None:
    """The single values among `values` of their most common type, null elsewhere."""
    import pyarrow as pa

    counts: dict[str, int] = {}
    for v in values:
        kind = _SCALARS.get(frozenset({type(v)}))
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return None
    kind = max(counts, key=counts.__getitem__)
    return pa.array([v if fits(kind, v) else None for v in values], arrow_type(kind))


# JSON, a column at a time


def dumps(value: Any) -> str:
    """`value` as compact JSON text (NaN and infinities as null)."""
    try:
        return _ORJSON_ANY(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits, and the like
        return json.dumps(_finite(value), separators=(",", ":"), default=str)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and value - value != 0.0:
        return None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def json_texts(values: Iterable[Any]) -> pa.Array:
    """The JSON text of each value, as a string array."""
    import pyarrow as pa

    values = values if isinstance(values, list) else list(values)
    try:
        return pa.array(list(map(_ORJSON, values)), pa.string())
    except (TypeError, orjson.JSONEncodeError):
        return pa.array(list(map(dumps, values)), pa.string())


def _json_of(array: pa.Array) -> pa.Array:
    """The JSON text of each value of a typed array ("null" for nulls, NaN and
    infinities), by pyarrow: a dictionary array of text for integers and booleans
    without nulls (classes, few and repeated)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(array.type):
        return json_texts(array.to_pylist())
    if not array.null_count and (
        pa.types.is_integer(array.type) or pa.types.is_boolean(array.type)
    ):
        # Classes: each distinct one's text once, and an index a row.
        encoded = array.dictionary_encode()
        return pa.DictionaryArray.from_arrays(encoded.indices, encoded.dictionary.cast(pa.string()))
    text = array.cast(pa.string())
    if pa.types.is_floating(array.type) and array.null_count < len(array):
        finite = pc.is_finite(array)
        if not pc.all(finite).as_py():
            text = pc.if_else(finite, text, pa.scalar(None, pa.string()))
    return text.fill_null("null")


# The JSON of instances, from their feature columns


def duckdb_connection() -> Any:
    """A DuckDB connection for `with_instances`: in memory, one thread, little memory."""
    import duckdb

    return duckdb.connect(config={"threads": 1, "memory_limit": "256MB"})


def with_instances(table: pa.Table, layout: Layout, connection: Any) -> pa.Table:
    """`table` with the `instance` JSON of its rows whose features are all in their
    columns (null in the file) made from those columns, by DuckDB (`connection`): one
    query for the whole file, in C++, without the GIL, rather than a Python object per
    row. Feature names are the keys, in model order; NaN and infinities are null.

    The query does only what the file needs, each step costing DuckDB about a fifth of
    its time: NaN and infinities are made null only in float columns that hold some, and
    `instance` is kept where set (refused rows) only in files that have such rows."""
    import pyarrow.compute as pc

    if layout.names is None or len(layout.typed) != len(layout.names):
        return table
    position = table.schema.get_field_index("instance")
    missing = table.column(position).null_count
    if missing == 0:
        return table
    values = []
    for _, name, kind in layout.typed:
        column = _identifier(FEATURE_PREFIX + name)
        if kind == "float" and not pc.all(pc.is_finite(table[FEATURE_PREFIX + name])).as_py():
            column = f"CASE WHEN isfinite({column}) THEN {column} END"
        values.append(f"{_literal(name)}: {column}")
    made = f"to_json({{{', '.join(values)}}})"
    kept = made if missing == table.num_rows else f"coalesce(instance, {made})"
    query = f"SELECT {kept} FROM rows_"
    connection.register("rows_", table)
    try:
        found = connection.sql(query).to_arrow_table().column(0)
    finally:
        connection.unregister("rows_")
    return table.set_column(position, "instance", found.cast("string"))


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Tables of several batches or files


def common_type(a: pa.DataType | None, b: pa.DataType) -> pa.DataType:
    """The type of a column that is `a` in some batches or files and `b` in others: the
    same, double for two kinds of numbers, else string."""
    import pyarrow as pa

    if a is None or a == b or pa.types.is_null(b):
        return a if a is not None else b
    if pa.types.is_null(a):
        return b
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numeric) and any(f(b) for f in numeric):
        return pa.float64()
    return pa.string()


def decoded(table: pa.Table) -> pa.Table:
    """`table` with its dictionary columns as the plain values they encode."""
    import pyarrow as pa

    fields = [
        f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def required(table: pa.Table) -> pa.Table:
    """`table` with each column that holds no null marked as never null: Parquet then
    writes no definition level a value for it (measured: two thirds of the time of
    writing a float column)."""
    import pyarrow as pa

    columns = zip(table.schema, table.columns, strict=True)
    fields = [f.with_nullable(c.null_count > 0) for f, c in columns]
    return table.cast(pa.schema(fields))


def conformed(table: Any, schema: pa.Schema) -> Any:
    """`table` (or record batch) with the columns of `schema`, cast to its types; nulls
    for the columns it lacks."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    arrays = []
    for field in schema:
        if field.name in table.schema.names:
            column = table[field.name]
            arrays.append(column if column.type == field.type else column.cast(field.type))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return type(table).from_arrays(arrays, schema=schema)


def joined_schema(schemas: Iterable[pa.Schema]) -> pa.Schema:
    """One schema for batches or files of these schemas: the base columns, then the
    feature columns in order of appearance, then `prediction.value`."""
    import pyarrow as pa

    types: dict[str, pa.DataType] = {}
    for found in schemas:
        for field in found:
            types[field.name] = common_type(types.get(field.name), field.type)
    names = sorted(types, key=lambda n: n == PREDICTION_VALUE)
    return pa.schema([(n, types[n]) for n in names])
