"""Extraction components: files (with TFX-style spans) or a SQL query into a Parquet Dataset.

Extraction reads what is at the source when it runs, so a new span under the
same pattern is not a new input to KFP's cache: turn caching off for its task
(`task.set_caching_options(False)`) when data arrives under a fixed pattern.
"""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Dataset, Output

from conveyor.components._component import component


@component
def extract_files(
    source: str,
    examples: Output[Dataset],
    file_format: str = "auto",
    span: int = -1,
    version: int = -1,
) -> NamedTuple("Outputs", [("span", int), ("version", int), ("rows", int)]):
    """Read CSV or Parquet files into one Parquet Dataset, as TFX's ExampleGen.

    Args:
        source: A file, a folder (every CSV/Parquet file under it), a glob, or a span
            pattern such as `data/span-{SPAN}/*.csv` (also `{VERSION}`); local or fsspec URL.
        examples: The rows of every file, in file order, as one Parquet file.
        file_format: auto (by extension), csv, tsv or parquet.
        span: The span to read for a `{SPAN}` pattern; -1 reads the newest.
        version: The version within the span for a `{VERSION}` pattern; -1 reads the newest.

    Returns:
        span: The span read (-1 without `{SPAN}`).
        version: The version read (-1 without `{VERSION}`).
        rows: The number of rows.
    """
    from conveyor.components._lib import extraction, files, spans

    selected = spans.select(source, span, version)
    frame = extraction.read_files(selected, file_format)
    files.write_table(frame, examples.path)
    examples.metadata.update(
        {
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "span": selected.span,
            "version": selected.version,
            "files": selected.files[:100],
        }
    )
    return (selected.span, selected.version, len(frame))


@component
def extract_sql(
    query: str,
    examples: Output[Dataset],
    connection: str = "",
    parameters: Optional[dict] = None,
) -> NamedTuple("Outputs", [("rows", int)]):
    """Run a SQL query and write its rows as a Parquet Dataset.

    Args:
        query: A SELECT. With DuckDB it may read files directly:
            `SELECT * FROM 'data/*.parquet' WHERE day >= '2024-01-01'`.
        examples: The result rows as one Parquet file.
        connection: Empty for DuckDB in memory, `duckdb:///path.db` for a DuckDB file, any
            SQLAlchemy URL (`sqlite:///shop.db`, `postgresql+psycopg://...`), or `env:NAME`
            to read the URL from environment variable NAME (keeps credentials out of
            recorded parameters).
        parameters: Values bound to the query's parameters (`$name` in DuckDB, `:name` in
            SQLAlchemy).

    Returns:
        rows: The number of rows.
    """
    from conveyor.components._lib import extraction, files

    table = extraction.query(query, connection, parameters)
    frame = table.to_pandas()
    files.write_table(frame, examples.path)
    examples.metadata.update({"rows": len(frame), "columns": [str(c) for c in frame.columns]})
    return (len(frame),)
