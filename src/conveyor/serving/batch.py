"""Batch prediction: a registered model over a CSV, Parquet or JSON Lines file, into another.

    from conveyor.serving.batch import predict_file

    result = predict_file(home.registry, home.models, "churn@production",
                          "customers.parquet", "scored.parquet",
                          batch_size=10_000, progress=lambda done, total: ...)

1. Resolve. The registry names the version (`churn`, `churn@3`, `churn@production`).
2. Load. The loader (`loading.py`) checks the version's files against the sha256s
   recorded at upload and loads them with its trust and input schema, before any row is
   read.
3. Stream. The input is read `batch_size` rows at a time. Each batch keeps all its
   columns; the model's features are picked by name (other columns, such as ids, pass
   through) and go to the runtime's batch path (`Runtime.predict_frame`: one numpy
   conversion and one framework call per batch).
4. Write. Each batch is appended, with a `prediction` column (one value per row) or a
   `predictions` column (a list, or an object, per row: probabilities, several outputs),
   to a temporary file beside the output, renamed over the output once every row is
   written. A failure leaves no output, and never a partial one.

Formats come from the file extension (`.csv`; `.parquet`, `.pq`; `.jsonl`, `.ndjson`) or
are named (`csv`, `parquet`, `jsonl`); the output takes the input's format unless its
extension names another. A list in a CSV cell is written as JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import UsageError
from conveyor.registry import ModelVersion, Registry
from conveyor.serving.loading import ModelLoader
from conveyor.serving.runtimes import Runtime
from conveyor.serving.runtimes._convert import to_plain
from conveyor.serving.runtimes.errors import (
    InvalidInput,
    PredictionError,
)

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""File extensions and the format each names."""

DEFAULT_BATCH_SIZE = 10_000
PREDICTION, PREDICTIONS = "prediction", "predictions"

Progress = Callable[[int, int | None], None]
"""Called after each batch with the rows done and the rows in total (None when unknown)."""


class BatchInputError(UsageError):
    """The input cannot be read, or its rows do not fit the model; the message names the
    file, and the column when one is at fault."""


@dataclass(frozen=True)
class BatchResult:
    """What a batch prediction did: the version used, rows written, where, how long."""

    model: str
    """The version's reference, `churn@3`: the one used, whatever its aliases become."""
    rows: int
    input: Path
    output: Path
    input_format: str
    output_format: str
    column: str
    """`prediction` or `predictions`."""
    seconds: float


def predict_file(
    registry: Registry,
    loader: ModelLoader,
    reference: str,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> BatchResult:
    """Predict every row of `input_path` with the model version `reference` names, writing
    the rows and their predictions to `output_path` (see the module docstring).

    `parameters` go to the runtime as a request's would (`{"method": "predict_proba"}`).
    Raises the registry's `NotFound` for an unknown model, version or alias,
    `BatchInputError` (a `UsageError`) for an input that cannot be read or lacks a
    feature, and `ModelLoadError` for a version that cannot be loaded.
    """
    started = time.perf_counter()
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"the batch size must be a positive number of rows, not {batch_size!r}")
    source, target = Path(input_path), Path(output_path)
    in_format = file_format(source, input_format, "input")
    out_format = file_format(target, output_format, "output", fallback=in_format)
    _check_paths(source, target)
    version = registry.get_version(reference)
    runtime = loader.load(version)
    total = count_rows(source, in_format)
    reader = read_batches(source, in_format, batch_size)
    done, column = 0, None
    with atomic_output(target) as temporary, _writer(out_format, temporary) as write:
        if progress is not None:
            progress(0, total)
        for batch in reader:
            if batch.empty:
                continue
            features = feature_frame(runtime, batch, source, first_row=done)
            predictions = _predict(runtime, features, parameters, version)
            column = column or _column_for(predictions, batch, source)
            batch[column] = _values(predictions, column, len(batch), version)
            write(batch)
            done += len(batch)
            if progress is not None:
                progress(done, max(total, done) if total is not None else None)
        if done == 0:
            raise BatchInputError(f"{source} holds no rows: there is nothing to predict")
        if progress is not None and total != done:
            progress(done, done)  # the count from lines was off (blank lines, quoted breaks)
    return BatchResult(
        model=version.reference,
        rows=done,
        input=source,
        output=target,
        input_format=in_format,
        output_format=out_format,
        column=column or PREDICTION,
        seconds=time.perf_counter() - started,
    )


# Formats


def file_format(path: Path, named: str | None, which: str, fallback: str | None = None) -> str:
    """The format of `path`: `named` if given, else its extension's, else `fallback`."""
    known = sorted(set(FORMATS.values()))
    if named is not None:
        found = named.strip().lower().replace("json-lines", "jsonl").replace("ndjson", "jsonl")
        if found not in known:
            raise UsageError(f"format {named!r} is not one of {', '.join(known)}")
        return found
    found = FORMATS.get(path.suffix.lower())
    if found is None and fallback is None:
        extensions = ", ".join(FORMATS)
        raise UsageError(
            f"cannot tell the format of the {which} {path} from its extension "
            f"({extensions}); name it with --format ({', '.join(known)})"
        )
    return found or fallback  # type: ignore[return-value]


def _check_paths(source: Path, target: Path) -> None:
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist"
        raise BatchInputError(f"cannot read the input {source}: it {what}")
    if not os.access(source, os.R_OK):
        raise BatchInputError(f"cannot read the input {source}: permission denied")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {target}: the folder {parent} does not exist")
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a folder; name the output file")


def count_rows(path: Path, fmt: str) -> int | None:
    """The rows of the input, for progress: exact for Parquet, lines for text formats
    (a CSV cell holding a line break makes it an overestimate, corrected as rows come)."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        lines, last = 0, b"\n"
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - 1, 0) if fmt == "csv" else lines
    except Exception as exc:
        raise BatchInputError(f"cannot read the input {path} as {fmt}: {_reason(exc)}") from exc


def read_batches(path: Path, fmt: str, size: int) -> Iterator[pd.DataFrame]:
    """The rows of `path`, `size` at a time, as DataFrames; read errors name the file."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            for record_batch in pq.ParquetFile(path).iter_batches(batch_size=size):
                yield record_batch.to_pandas()
            return
        if fmt == "csv":
            chunks = pd.read_csv(path, chunksize=size)
        else:
            # JSON's own types, no guessing (a string stays a string, never a date)
            chunks = pd.read_json(path, lines=True, chunksize=size, dtype=False, precise_float=True)
        with chunks:
            for chunk in chunks:
                yield chunk.reset_index(drop=True)
    except (BatchInputError, InvalidInput):
        raise
    except Exception as exc:
        raise BatchInputError(f"cannot read the input {path} as {fmt}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed to `target` when the block ends well and
    deleted when it fails."""
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    temporary.open("xb").close()  # made with the umask's permissions, as the output will be
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def _writer(fmt: str, path: Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A function appending one batch to `path` in format `fmt`."""
    with ExitStack() as stack:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            state: dict[str, Any] = {}

            def write(frame: pd.DataFrame) -> None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if "writer" not in state:
                    state["writer"] = stack.enter_context(pq.ParquetWriter(path, table.schema))
                writer = state["writer"]
                if not table.schema.equals(writer.schema):
                    table = _conform(table, writer.schema)
                writer.write_table(table)

        else:
            stream = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
            first = [True]

            def write(frame: pd.DataFrame) -> None:
                if fmt == "csv":
                    frame = _json_cells(frame)
                    frame.to_csv(stream, header=first[0], index=False)
                else:
                    stream.writelines(_json_lines(frame))
                first[0] = False

        yield write
        stack.close()  # a Parquet file is only whole once its footer is written


def _conform(table: Any, schema: Any) -> Any:
    """A later batch in the first batch's column types: a column of integers that reads as
    floats in a batch with missing values goes back to integers (missing as null)."""
    try:
        return table.select(schema.names).cast(schema)
    except Exception as exc:
        changed = [
            f"{field.name} ({schema.field(field.name).type} then {field.type})"
            for field in table.schema
            if field.name in schema.names and not field.type.equals(schema.field(field.name).type)
        ]
        raise BatchInputError(
            "the rows change type from one batch to the next in "
            f"{', '.join(changed) or 'some columns'}, which one Parquet file cannot hold; "
            "write CSV or JSON Lines, or raise --batch-size so the first batch shows every type"
        ) from exc


def _json_lines(frame: pd.DataFrame) -> Iterator[str]:
    """One JSON object per row, numbers written in full (pandas' own writer keeps only 15
    significant digits), missing values as null."""
    plain = frame.astype(object).where(frame.notna(), None)
    for record in plain.to_dict(orient="records"):
        yield json.dumps(record, ensure_ascii=False, default=_json_value) + "\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _json_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and objects of the predictions column as JSON text, for a CSV cell."""
    if PREDICTIONS in frame.columns and frame[PREDICTIONS].dtype == object:
        frame = frame.copy()
        frame[PREDICTIONS] = [json.dumps(v) for v in frame[PREDICTIONS]]
    return frame


# Model and rows


def feature_frame(runtime: Runtime, batch: pd.DataFrame, source: Path, first_row: int) -> Any:
    """The columns of `batch` the model takes, in its order; other columns pass through the
    batch untouched. A missing feature is named."""
    columns = [str(c) for c in batch.columns]
    if list(batch.columns) != columns:
        batch.columns = columns
    names = runtime.feature_names
    if names is None:
        if runtime.n_features is not None and len(columns) != runtime.n_features:
            raise BatchInputError(
                f"{source} has {len(columns)} columns, but the model takes {runtime.n_features} "
                "features and records no feature names, so they cannot be picked by name: "
                "keep only its features, in training order, or record an input schema"
            )
        return batch
    missing = [name for name in names if name not in columns]
    if missing:
        raise BatchInputError(
            f"{source} has no column {missing[0]!r}, which the model takes"
            + (f" (nor {', '.join(map(repr, missing[1:]))})" if len(missing) > 1 else "")
            + f"; it takes: {', '.join(names)}",
        )
    return batch[list(names)]


def _predict(
    runtime: Runtime,
    features: pd.DataFrame,
    parameters: dict[str, Any] | None,
    version: ModelVersion,
) -> Any:
    try:
        return runtime.predict_frame(features, parameters)
    except InvalidInput as exc:
        raise BatchInputError(f"{version.reference} cannot take the input: {exc}") from exc


def _column_for(predictions: Any, batch: pd.DataFrame, source: Path) -> str:
    if isinstance(predictions, np.ndarray):
        single = predictions.ndim == 1 or (predictions.ndim == 2 and predictions.shape[1] == 1)
    else:
        single = not any(isinstance(p, list | tuple | dict | np.ndarray) for p in predictions)
    column = PREDICTION if single else PREDICTIONS
    if column in batch.columns:
        raise BatchInputError(
            f"{source} already has a column {column!r}, where the predictions go: "
            "rename it (or drop it) first"
        )
    return column


def _values(predictions: Any, column: str, rows: int, version: ModelVersion) -> Any:
    """The predictions as the values of one column, `rows` long."""
    if isinstance(predictions, np.ndarray):
        if predictions.ndim == 2 and predictions.shape[1] == 1:
            predictions = predictions[:, 0]
        if column == PREDICTION and predictions.ndim != 1:
            raise PredictionError(
                f"{version.reference} gave a single value per row in an earlier batch and "
                "several in this one"
            )
        values: Any = predictions if column == PREDICTION else predictions.tolist()
    else:
        values = to_plain(list(predictions))
        if column == PREDICTION and any(isinstance(v, list | dict) for v in values):
            raise PredictionError(
                f"{version.reference} gave a single value per row in an earlier batch and "
                "several in this one"
            )
    if len(values) != rows:
        raise PredictionError(
            f"{version.reference} gave {len(values)} predictions for {rows} rows; "
            "a model must give one per row"
        )
    return values
