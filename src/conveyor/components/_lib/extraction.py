"""Extraction: rows from files or from a SQL query, written as one Parquet Dataset."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import pyarrow as pa

from conveyor.components._lib.errors import ComponentError
from conveyor.components._lib.spans import Selection

FORMATS = ("auto", "csv", "parquet", "tsv")


def read_files(selection: Selection, file_format: str = "auto") -> pd.DataFrame:
    """The rows of the selected files, in file order; every file must have the same columns."""
    if file_format not in FORMATS:
        raise ComponentError(f"format {file_format!r} is not one of {', '.join(FORMATS)}")
    frames: list[pd.DataFrame] = []
    for file in selection.files:
        frame = _read_one(file, file_format)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise ComponentError(
                f"{file} has columns {list(frame.columns)}, but {selection.files[0]} has "
                f"{list(frames[0].columns)}: every file of an extraction needs the same columns"
            )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_one(file: str, file_format: str) -> pd.DataFrame:
    kind = file_format if file_format != "auto" else _format_of(file)
    if kind == "parquet":
        return pd.read_parquet(file)
    return pd.read_csv(file, sep="\t" if kind == "tsv" else ",")


def _format_of(file: str) -> str:
    name = file.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".tsv"):
        return "tsv"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if "://" not in file and os.path.isfile(file):
        with open(file, "rb") as f:
            if f.read(4) == b"PAR1":
                return "parquet"
    return "csv"


def query(sql: str, connection: str = "", parameters: dict[str, Any] | None = None) -> pa.Table:
    """The result of `sql`: DuckDB in memory (reads files named in the query) by default,
    a DuckDB database file for `duckdb:///path.db`, or any SQLAlchemy URL.

    `connection` may be `env:NAME` to read the URL from an environment variable, so
    that credentials stay out of pipeline parameters (which are recorded).
    """
    if not sql.strip():
        raise ComponentError("query is empty: give a SQL SELECT")
    url = _resolve(connection)
    if not url or url.startswith("duckdb:"):
        return _duckdb(sql, url, parameters or {})
    return _sqlalchemy(sql, url, parameters or {})


def _resolve(connection: str) -> str:
    if connection.startswith("env:"):
        name = connection[4:]
        value = os.environ.get(name)
        if not value:
            raise ComponentError(
                f"connection {connection!r} names environment variable {name}, which is not set"
            )
        return value
    return connection


def _duckdb(sql: str, url: str, parameters: dict[str, Any]) -> pa.Table:
    import duckdb

    database = url.split(":///", 1)[1] if ":///" in url else ":memory:"
    with duckdb.connect(database or ":memory:", read_only=database != ":memory:") as db:
        try:
            result = db.execute(sql, parameters) if parameters else db.execute(sql)
            return result.to_arrow_table()
        except duckdb.Error as error:
            raise ComponentError(f"DuckDB could not run the query: {error}") from None


def _sqlalchemy(sql: str, url: str, parameters: dict[str, Any]) -> pa.Table:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url)
    except (sqlalchemy.exc.ArgumentError, ImportError) as error:
        raise ComponentError(f"connection is not a usable SQLAlchemy URL: {error}") from None
    try:
        with engine.connect() as db:
            frame = pd.read_sql_query(sqlalchemy.text(sql), db, params=parameters)
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise ComponentError(f"the database could not run the query: {error}") from None
    finally:
        engine.dispose()
    return pa.Table.from_pandas(frame, preserve_index=False)
