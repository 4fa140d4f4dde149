"""extract_files (files, folders, globs, newest span and version) and extract_sql (DuckDB,
SQLAlchemy), through conveyor.run."""

import sqlite3
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
from component_runs import metadata_of, run_failed, run_ok, write_parquet
from kfp import dsl
from kfp.dsl import Dataset

from conveyor.components import extract_files, extract_sql
from conveyor.components._lib import spans
from conveyor.components._lib.errors import ComponentError


class Extracted(NamedTuple):
    examples: Dataset
    span: int
    version: int
    rows: int
    metadata: dict


@dsl.pipeline
def extract_pipeline(source: str, span: int = -1, version: int = -1) -> Extracted:
    task = extract_files(source=source, span=span, version=version)
    return Extracted(
        examples=task.outputs["examples"],
        span=task.outputs["span"],
        version=task.outputs["version"],
        rows=task.outputs["rows"],
        metadata=metadata_of(artifact=task.outputs["examples"]).output,
    )


class Queried(NamedTuple):
    examples: Dataset
    rows: int


@dsl.pipeline
def sql_pipeline(query: str, connection: str = "", parameters: dict = {}) -> Queried:  # noqa: B006
    task = extract_sql(query=query, connection=connection, parameters=parameters)
    return Queried(examples=task.outputs["examples"], rows=task.outputs["rows"])


def write_spans(root: Path, iris: pd.DataFrame, numbers=(1, 2, 10)) -> None:
    """span-N holds 10 rows per span number up to 30 (span-1: 10, span-2: 20, span-10: 30),
    in two CSV files."""
    for number in numbers:
        rows = iris.head(min(30, 10 * number))
        folder = root / f"span-{number}"
        folder.mkdir(parents=True)
        half = len(rows) // 2
        rows.iloc[:half].to_csv(folder / "part-0.csv", index=False)
        rows.iloc[half:].to_csv(folder / "part-1.csv", index=False)


def test_newest_span_is_read_by_number_not_by_name(tmp_path, iris):
    write_spans(tmp_path / "data", iris)
    run = run_ok(extract_pipeline, {"source": str(tmp_path / "data" / "span-{SPAN}")})
    assert run.outputs["span"] == 10
    assert run.outputs["version"] == -1
    table = pd.read_parquet(run.outputs["examples"])
    assert len(table) == run.outputs["rows"] == 30
    assert list(table.columns) == list(iris.columns)
    assert Path(run.outputs["examples"]).read_bytes()[:4] == b"PAR1"
    metadata = run.outputs["metadata"]
    assert metadata["span"] == 10 and metadata["rows"] == 30
    assert [Path(f).name for f in metadata["files"]] == ["part-0.csv", "part-1.csv"]


def test_a_chosen_span_and_a_glob_inside_it(tmp_path, iris):
    write_spans(tmp_path / "data", iris)
    source = str(tmp_path / "data" / "span-{SPAN}" / "part-*.csv")
    run = run_ok(extract_pipeline, {"source": source, "span": 2})
    assert run.outputs["span"] == 2
    assert len(pd.read_parquet(run.outputs["examples"])) == 20


def test_newest_version_of_the_newest_span(tmp_path, iris):
    for span, version, rows in ((1, 5, 5), (3, 1, 7), (3, 2, 9)):
        write_parquet(iris.head(rows), tmp_path / f"{span}" / f"v{version}" / "rows.parquet")
    run = run_ok(extract_pipeline, {"source": str(tmp_path / "{SPAN}" / "v{VERSION}")})
    assert (run.outputs["span"], run.outputs["version"], run.outputs["rows"]) == (3, 2, 9)
    pinned = run_ok(
        extract_pipeline, {"source": str(tmp_path / "{SPAN}" / "v{VERSION}"), "version": 1}
    )
    assert (pinned.outputs["span"], pinned.outputs["rows"]) == (3, 7)


def test_a_folder_of_parquet_files_a_single_csv_and_a_glob(tmp_path, iris):
    write_parquet(iris.iloc[:50], tmp_path / "folder" / "a.parquet")
    write_parquet(iris.iloc[50:], tmp_path / "folder" / "nested" / "b.parquet")
    (tmp_path / "folder" / "_SUCCESS").write_text("")
    folder = run_ok(extract_pipeline, {"source": str(tmp_path / "folder")})
    assert folder.outputs["rows"] == 150
    assert folder.outputs["span"] == -1
    iris.to_csv(tmp_path / "one.csv", index=False)
    single = run_ok(extract_pipeline, {"source": str(tmp_path / "one.csv")})
    pd.testing.assert_frame_equal(pd.read_parquet(single.outputs["examples"]), iris)
    glob = run_ok(extract_pipeline, {"source": str(tmp_path / "folder" / "*.parquet")})
    assert glob.outputs["rows"] == 50


def test_no_matching_span_fails_and_says_what_was_looked_for(tmp_path):
    (tmp_path / "data").mkdir()
    run = run_failed(extract_pipeline, {"source": str(tmp_path / "data" / "span-{SPAN}")})
    assert "no files match" in run.error
    assert "span-{SPAN}" in run.error


def test_files_with_different_columns_fail(tmp_path, iris):
    iris.to_csv(tmp_path / "a.csv", index=False)
    iris.drop(columns=["colour"]).to_csv(tmp_path / "b.csv", index=False)
    run = run_failed(extract_pipeline, {"source": str(tmp_path / "*.csv")})
    assert "every file of an extraction needs the same columns" in run.error


def test_span_selection_errors_name_the_spans_found(tmp_path, iris):
    write_spans(tmp_path / "data", iris, numbers=(1, 2))
    with pytest.raises(ComponentError, match="span 7 .* spans found: 1, 2"):
        spans.select(str(tmp_path / "data" / "span-{SPAN}"), span=7)
    with pytest.raises(ComponentError, match="without"):
        spans.select(str(tmp_path / "v{VERSION}"))


def test_duckdb_query_over_parquet_files_with_parameters(tmp_path, iris):
    path = write_parquet(iris, tmp_path / "iris.parquet")
    query = (
        f"SELECT species, count(*) AS n, avg(petal_length) AS petal FROM read_parquet('{path}') "
        "WHERE sepal_length > $min GROUP BY species ORDER BY species"
    )
    run = run_ok(sql_pipeline, {"query": query, "parameters": {"min": 5.0}})
    table = pd.read_parquet(run.outputs["examples"])
    expected = iris[iris.sepal_length > 5.0].groupby("species").size()
    assert list(table.species) == list(expected.index)
    assert list(table.n) == list(expected)
    assert run.outputs["rows"] == 3


def test_sqlalchemy_url_from_an_environment_variable(tmp_path, iris, monkeypatch):
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as db:
        iris.to_sql("flowers", db, index=False)
    monkeypatch.setenv("SHOP_DATABASE_URL", f"sqlite:///{database}")
    run = run_ok(
        sql_pipeline,
        {
            "query": "SELECT * FROM flowers WHERE species = :kind",
            "connection": "env:SHOP_DATABASE_URL",
            "parameters": {"kind": "setosa"},
        },
    )
    table = pd.read_parquet(run.outputs["examples"])
    assert len(table) == 50 and set(table.species) == {"setosa"}


def test_a_bad_query_and_an_unset_variable_fail_with_the_cause(tmp_path):
    bad = run_failed(sql_pipeline, {"query": "SELECT * FROM nowhere_at_all"})
    assert "DuckDB could not run the query" in bad.error
    unset = run_failed(
        sql_pipeline, {"query": "SELECT 1", "connection": "env:CONVEYOR_NO_SUCH_URL"}
    )
    assert "CONVEYOR_NO_SUCH_URL, which is not set" in unset.error
