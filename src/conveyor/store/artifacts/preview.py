"""What a viewer shows of an artifact: the text of a Markdown or HTML artifact, and the first
rows of a Parquet or CSV dataset, read without loading the whole of it.

    files = artifact_files(home.artifacts, record.uri)       # `reading`
    shown = content(files, "system.Markdown", max_bytes=2**20)  # text, media type, cut?
    table = preview(files, "system.Dataset", rows=20)         # columns, rows, total_rows

KFP writes a Markdown or HTML artifact as one file at the artifact's path, so `content`
reads that file (or the one regular file of a folder). `preview` reads a `system.Dataset`,
or any artifact holding a `.parquet` or `.csv` file: a folder's Parquet files in order
of their names (the CSV files when it has no Parquet), a lone file without a suffix by
its first bytes (Parquet's `PAR1`, else CSV). Parquet is read a batch at a time
(`ParquetFile.iter_batches`) and its row count taken from the footers; CSV through the
streaming reader (`pyarrow.csv.open_csv`), which gives no count. Cells come out as JSON
can hold them: NaN and the infinities as strings, bytes as hex, times in ISO 8601,
integers past 2^53 (beyond a JavaScript number) as strings, long texts cut.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from conveyor.store.artifacts.reading import ArtifactFiles, ArtifactRefused, Entry

if TYPE_CHECKING:
    import pyarrow as pa

MEDIA_TYPES = {
    "system.Markdown": "text/markdown; charset=utf-8",
    "system.HTML": "text/html; charset=utf-8",
}
"""The artifact types `content` reads, with the media type of their text."""
DATASET = "system.Dataset"
MAX_ROWS = 200
MAX_TEXT = 1000
"""Characters of a text cell shown; a longer one is cut and ends with `…`."""
MAX_BYTES_SHOWN = 64
"""Bytes of a binary cell shown as hex."""
MAX_FOOTERS = 100
"""Parquet files whose footers are read to count a folder's rows; past that, no count."""
_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class Content:
    """The text of a Markdown or HTML artifact, cut at the bytes asked for."""

    text: str
    media_type: str
    size: int
    """The file's whole size in bytes."""
    cut: bool


@dataclass(frozen=True)
class Preview:
    """The first rows of a dataset, with its columns' names and Arrow types."""

    format: str
    file: str
    """The file read, inside the artifact (`""`: the artifact is that file)."""
    columns: list[dict[str, str]]
    rows: list[list[Any]]
    total_rows: int | None
    """All the dataset's rows, when its files say so cheaply (Parquet); else None."""


def content(files: ArtifactFiles, type_name: str, max_bytes: int) -> Content:
    """The text of the Markdown or HTML artifact `files` (`type_name`), its first
    `max_bytes` when longer; `ArtifactRefused` for another type or a folder of several files."""
    media_type = MEDIA_TYPES.get(type_name)
    if media_type is None:
        shown = " or ".join(MEDIA_TYPES)
        raise ArtifactRefused(f"artifact {files.uri} is a {type_name}, not a {shown}")
    entries = files.entries()
    if len(entries) != 1:
        raise ArtifactRefused(
            f"artifact {files.uri} is a folder of {len(entries)} files; a {type_name} "
            "artifact is read from its one file"
        )
    with files.open(entries[0]) as stream:
        data = stream.read(max_bytes + 1)
    cut = len(data) > max_bytes
    text = data[:max_bytes].decode("utf-8", errors="replace")
    return Content(text, media_type, max(entries[0].size, len(data)), cut)


def preview(files: ArtifactFiles, type_name: str, rows: int) -> Preview:
    """The first `rows` (at most `MAX_ROWS`) rows of the dataset `files`; `ArtifactRefused`
    when it holds no Parquet or CSV file, or its file cannot be read as one."""
    rows = max(1, min(rows, MAX_ROWS))
    kind, chosen = _dataset_files(files, type_name)
    import pyarrow as pa

    try:
        if kind == "parquet":
            table, total = _parquet_head(files, chosen, rows)
        else:
            table, total = _csv_head(files, chosen[0], rows), None
        values = [column.to_pylist() for column in table.columns]
    except (pa.ArrowException, OSError, ValueError, OverflowError) as exc:  # a year past 9999
        where = f"{files.uri}/{chosen[0].name}" if chosen[0].name else files.uri
        raise ArtifactRefused(f"artifact {where} cannot be read as {kind}: {exc}") from None
    columns = [{"name": field.name, "type": str(field.type)} for field in table.schema]
    shown = [[_json_safe(cell) for cell in row] for row in zip(*values, strict=True)]
    return Preview(kind, chosen[0].name, columns, shown, total)


def _dataset_files(files: ArtifactFiles, type_name: str) -> tuple[str, list[Entry]]:
    """The format and the files to read, in order."""
    entries = files.entries()
    for kind in ("parquet", "csv"):
        found = [entry for entry in entries if entry.suffix == f".{kind}"]
        if found:
            return kind, found
    if type_name == DATASET and len(entries) == 1:
        with files.open(entries[0]) as stream:
            magic = stream.read(4)
        return ("parquet" if magic == b"PAR1" else "csv"), entries
    held = "a file" if [e.name for e in entries] == [""] else f"{len(entries)} files"
    raise ArtifactRefused(
        f"artifact {files.uri} ({type_name}, {held}) holds no Parquet or CSV file to "
        f"preview; previewed are a {DATASET} of one file and files named *.parquet or *.csv"
    )


def _parquet_head(files: ArtifactFiles, entries: list[Entry], rows: int) -> tuple[Any, int | None]:
    """The first `rows` rows across the Parquet files (until one's schema differs from
    the first's), and the row count of all of them from their footers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches: list[pa.RecordBatch] = []
    schema, total, taken, taking = None, 0, 0, True
    counted = len(entries) <= MAX_FOOTERS
    for entry in entries:
        if not (counted or (taking and taken < rows)):
            break
        with files.open(entry) as stream:
            parquet = pq.ParquetFile(stream)
            total += parquet.metadata.num_rows
            schema = parquet.schema_arrow if schema is None else schema
            taking = taking and parquet.schema_arrow.equals(schema)
            if taking and taken < rows:
                for batch in parquet.iter_batches(batch_size=rows - taken):
                    batches.append(batch.slice(0, rows - taken))
                    taken += min(batch.num_rows, rows - taken)
                    if taken >= rows:
                        break
    table = pa.Table.from_batches(batches, schema=schema)
    return table, total if counted else None


def _csv_head(files: ArtifactFiles, entry: Entry, rows: int) -> Any:
    """The first `rows` rows of a CSV file, read a block at a time."""
    import pyarrow as pa
    import pyarrow.csv as csv

    with files.open(entry) as stream:
        reader = csv.open_csv(stream)
        batches: list[pa.RecordBatch] = []
        taken = 0
        while taken < rows:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            batches.append(batch.slice(0, rows - taken))
            taken += min(batch.num_rows, rows - taken)
        return pa.Table.from_batches(batches, schema=reader.schema)


def _json_safe(value: Any) -> Any:
    """`value` (a cell, as Arrow gives it to Python) as JSON holds it exactly."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        shown = value[:MAX_BYTES_SHOWN].hex()
        return f"0x{shown}{'…' if len(value) > MAX_BYTES_SHOWN else ''}"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta | Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return _json_safe(str(value))
