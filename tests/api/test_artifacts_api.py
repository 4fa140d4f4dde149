"""`/api/v1/artifacts`: an artifact's record, the text of a Markdown or HTML artifact (capped,
with a policy that lets nothing in it run), the first rows of a Parquet or CSV dataset (a
file or a folder) as JSON; only artifacts recorded in the store and only under the home's
artifact root (locally or on S3), never through a symlink leading out or a non-regular
file; 404 for what is not there, 400 naming what cannot be shown. No `from __future__
import annotations`: kfp reads the components' annotations as types."""

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import error_of, served
from kfp import dsl

from conveyor.api import create_app
from conveyor.client import Client
from conveyor.config import Settings
from conveyor.home import Home, open_home
from store.s3_server import S3Server, running_s3


@dsl.component
def write_outputs(
    notes: dsl.Output[dsl.Markdown],
    page: dsl.Output[dsl.HTML],
    folder_page: dsl.Output[dsl.HTML],
    two_pages: dsl.Output[dsl.Markdown],
    odd: dsl.Output[dsl.Dataset],
    sheet: dsl.Output[dsl.Dataset],
    parts: dsl.Output[dsl.Dataset],
    csv_parts: dsl.Output[dsl.Dataset],
    model: dsl.Output[dsl.Model],
    tabular_model: dsl.Output[dsl.Model],
    linked: dsl.Output[dsl.Markdown],
    piped: dsl.Output[dsl.Dataset],
    gone: dsl.Output[dsl.Markdown],
    broken: dsl.Output[dsl.Dataset],
):
    import datetime
    import decimal
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    def text(path, body):
        with open(path, "w") as out:
            out.write(body)

    text(notes.path, "# Notes\n\nAccuracy *rose*.\n")
    text(page.path, "<h1>Report</h1><p>" + "é" * 100 + "</p>")
    os.makedirs(folder_page.path)
    text(os.path.join(folder_page.path, "index.html"), "<p>in a folder</p>")
    os.makedirs(two_pages.path)
    text(os.path.join(two_pages.path, "a.md"), "a")
    text(os.path.join(two_pages.path, "b.md"), "b")
    odd_values = pa.table(
        {
            "id": pa.array([1, 2**60, None], pa.int64()),
            "score": [float("nan"), float("inf"), -float("inf")],
            "raw": [b"\x00\xff", b"", None],
            "at": [datetime.datetime(2026, 12, 7, 9, 30), None, None],
            "day": [datetime.date(2026, 1, 2), None, None],
            "price": pa.array([decimal.Decimal("1.50"), None, None], pa.decimal128(5, 2)),
            "tags": [["a", "b"], [], None],
            "point": [{"x": 1.5, "y": None}, None, None],
            "note": ["x" * 1500, "short", None],
        }
    )
    pq.write_table(odd_values, odd.path)  # no suffix: told apart by its first bytes
    text(sheet.path, "city,rain\nOslo,12.5\nLima,0.0\n")
    os.makedirs(os.path.join(parts.path, "more"))
    pq.write_table(pa.table({"n": [0, 1, 2]}), os.path.join(parts.path, "part-0.parquet"))
    pq.write_table(pa.table({"n": [3, 4]}), os.path.join(parts.path, "more", "part-1.parquet"))
    text(os.path.join(parts.path, "_SUCCESS"), "")
    text(os.path.join(parts.path, ".hidden.parquet"), "not read")
    os.makedirs(csv_parts.path)
    text(os.path.join(csv_parts.path, "b.csv"), "k\n2\n")
    text(os.path.join(csv_parts.path, "a.csv"), "k\n1\n")
    text(model.path, "weights")
    os.makedirs(tabular_model.path)
    text(os.path.join(tabular_model.path, "features.csv"), "name,weight\nage,0.5\n")
    for path in (linked.path, piped.path, gone.path, broken.path):
        text(path, "replaced by the test")


@dsl.pipeline(name="outputs")
def outputs_pipeline() -> None:
    write_outputs()


@dsl.pipeline(name="imports")
def imports_pipeline(uri: str) -> None:
    dsl.importer(artifact_uri=uri, artifact_class=dsl.Markdown)


@dataclasses.dataclass
class Served:
    client: object
    home: Home
    ids: dict[str, int]
    paths: dict[str, Path]
    outside: Path


def outputs_of(home: Home, run_id: str) -> dict[str, object]:
    found = {}
    for execution in home.store.get_run(run_id).executions:
        for name, artifacts in execution.outputs.items():
            found[name] = artifacts[0]
    return found


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Served]:
    """The control API over a home whose run wrote one artifact of each case; beside the
    home, an allowed folder the importer may take files from."""
    root = tmp_path_factory.mktemp("artifacts-api")
    outside = root / "outside"
    outside.mkdir()
    settings = Settings.from_env(root / "home", environ={})
    settings = dataclasses.replace(settings, allowed_artifact_roots=(str(outside),))
    with open_home(settings=settings) as home:
        client = Client(home)
        written = outputs_of(home, client.run(outputs_pipeline, {}).run_id)
        (outside / "notes.md").write_text("# secret\n")
        imported = client.run(imports_pipeline, {"uri": str(outside / "notes.md")})
        written["imported"] = outputs_of(home, imported.run_id)["artifact"]
        remote = client.run(imports_pipeline, {"uri": "s3://elsewhere/notes.md"})
        written["remote"] = outputs_of(home, remote.run_id)["artifact"]
        ids = {name: artifact.id for name, artifact in written.items()}
        paths = {name: Path(artifact.uri) for name, artifact in written.items()}
        with served(create_app(home)) as http:
            yield Served(http, home, ids, paths, outside)


def get(api: Served, name: str, what: str = "", **params):
    return api.client.get(f"/api/v1/artifacts/{api.ids[name]}{what}", params=params)


def test_an_artifact_s_record(api):
    body = get(api, "notes").json()
    assert body["id"] == api.ids["notes"] and body["name"] == "notes"
    assert body["type"] == "system.Markdown" and body["state"] == "LIVE"
    assert body["uri"] == str(api.paths["notes"]) and body["size"] == 26
    assert body["metadata"] == {} and len(body["sha256"]) == 64
    assert set(body) >= {"created_at", "updated_at"}


def test_a_markdown_artifact_s_text_cannot_run_when_opened(api):
    answer = get(api, "notes", "/content")
    assert answer.status_code == 200
    assert answer.text == "# Notes\n\nAccuracy *rose*.\n"
    assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
    assert answer.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-content-truncated"] == "false"
    assert answer.headers["x-artifact-size"] == "26"


def test_an_html_artifact_s_text_is_cut_at_max_bytes(api):
    whole = get(api, "page", "/content")
    assert whole.headers["content-type"] == "text/html; charset=utf-8"
    assert whole.text.endswith("é</p>") and whole.headers["x-content-truncated"] == "false"
    cut = get(api, "page", "/content", max_bytes=21)  # the cut splits the second é
    assert cut.headers["x-content-truncated"] == "true"
    assert cut.headers["x-artifact-size"] == str(len(whole.content)) == "222"
    assert cut.text == "<h1>Report</h1><p>é\ufffd"


def test_a_folder_s_one_file_is_its_text_and_several_are_refused(api):
    assert get(api, "folder_page", "/content").text == "<p>in a folder</p>"
    message = error_of(get(api, "two_pages", "/content"), 400)["message"]
    assert "is a folder of 2 files" in message


@pytest.mark.parametrize(
    "name, type_name", [("sheet", "system.Dataset"), ("model", "system.Model")]
)
def test_content_of_another_type_names_it(api, name, type_name):
    message = error_of(get(api, name, "/content"), 400)["message"]
    assert f"is a {type_name}, not a system.Markdown or system.HTML" in message


def test_a_parquet_file_s_first_rows_are_json_with_their_types(api):
    body = get(api, "odd", "/preview").json()
    assert (body["format"], body["file"], body["total_rows"]) == ("parquet", "", 3)
    assert body["columns"] == [
        {"name": "id", "type": "int64"},
        {"name": "score", "type": "double"},
        {"name": "raw", "type": "binary"},
        {"name": "at", "type": "timestamp[us]"},
        {"name": "day", "type": "date32[day]"},
        {"name": "price", "type": "decimal128(5, 2)"},
        {"name": "tags", "type": "list<element: string>"},
        {"name": "point", "type": "struct<x: double, y: null>"},
        {"name": "note", "type": "string"},
    ]
    first, second, third = body["rows"]
    assert first[:8] == [
        1,
        "NaN",
        "0x00ff",
        "2026-12-07T09:30:00",
        "2026-01-02",
        "1.50",
        ["a", "b"],
        {"x": 1.5, "y": None},
    ]
    assert first[8] == "x" * 1000 + "…"
    assert second[:4] == [str(2**60), "Infinity", "0x", None] and second[8] == "short"
    assert third[:3] == [None, "-Infinity", None]
    assert get(api, "odd", "/preview", rows=1).json()["rows"] == [first]


def test_a_csv_file_s_first_rows(api):
    body = get(api, "sheet", "/preview", rows=1).json()
    assert body == {
        "format": "csv",
        "file": "",
        "columns": [{"name": "city", "type": "string"}, {"name": "rain", "type": "double"}],
        "rows": [["Oslo", 12.5]],
        "total_rows": None,
    }


def test_a_folder_of_parquet_files_reads_them_in_order_and_counts_all(api):
    body = get(api, "parts", "/preview").json()
    assert (body["format"], body["file"], body["total_rows"]) == (
        "parquet",
        "more/part-1.parquet",
        5,
    )
    assert body["rows"] == [[3], [4], [0], [1], [2]]  # more/part-1 sorts before part-0
    cut = get(api, "parts", "/preview", rows=3).json()
    assert cut["rows"] == [[3], [4], [0]] and cut["total_rows"] == 5


def test_a_folder_of_csv_files_reads_the_first_by_name(api):
    body = get(api, "csv_parts", "/preview").json()
    assert (body["format"], body["file"], body["rows"]) == ("csv", "a.csv", [[1]])


def test_any_artifact_holding_a_csv_file_is_previewed(api):
    body = get(api, "tabular_model", "/preview").json()
    assert body["file"] == "features.csv" and body["rows"] == [["age", 0.5]]


def test_an_artifact_without_a_table_is_refused_naming_its_type(api):
    message = error_of(get(api, "model", "/preview"), 400)["message"]
    assert "(system.Model, a file) holds no Parquet or CSV file" in message
    message = error_of(get(api, "notes", "/preview"), 400)["message"]
    assert "(system.Markdown, a file) holds no Parquet or CSV file" in message


def test_a_file_that_is_not_what_it_claims_is_refused(api):
    api.paths["broken"].write_bytes(b"PAR1 but not parquet")
    message = error_of(get(api, "broken", "/preview"), 400)["message"]
    assert "cannot be read as parquet" in message


@pytest.mark.parametrize(
    "what, params, expected",
    [
        ("/preview", {"rows": 0}, "rows"),
        ("/preview", {"rows": 201}, "rows"),
        ("/content", {"max_bytes": 0}, "max_bytes"),
        ("/content", {"max_bytes": 16 * 2**20 + 1}, "max_bytes"),
    ],
)
def test_limits_out_of_range_answer_400(api, what, params, expected):
    assert expected in error_of(get(api, "sheet", what, **params), 400)["message"]


@pytest.mark.parametrize("what", ["", "/content", "/preview"])
def test_an_unknown_artifact_answers_404(api, what):
    message = error_of(api.client.get(f"/api/v1/artifacts/999999{what}"), 404)["message"]
    assert message == "no artifact 999999 in the metadata store"


@pytest.mark.parametrize("artifact_id", ["0", "x", "1.5", "10000000000000000000"])
def test_an_id_that_is_not_one_answers_400(api, artifact_id):
    error_of(api.client.get(f"/api/v1/artifacts/{artifact_id}/content"), 400)


def test_a_file_outside_the_artifact_root_is_refused_though_imported(api):
    message = error_of(get(api, "imported", "/content"), 400)["message"]
    assert "is not under the artifact root" in message
    message = error_of(get(api, "remote", "/content"), 400)["message"]
    assert "s3://elsewhere/notes.md is not under the artifact root" in message


def test_a_symlink_leading_out_of_the_root_is_refused(api):
    path = api.paths["linked"]
    path.unlink()
    path.symlink_to(api.outside / "notes.md")
    message = error_of(get(api, "linked", "/content"), 400)["message"]
    assert "is not under the artifact root" in message
    assert "secret" not in message


def test_a_fifo_is_refused_without_waiting_for_a_writer(api):
    path = api.paths["piped"]
    path.unlink()
    os.mkfifo(path)
    message = error_of(get(api, "piped", "/preview"), 400)["message"]
    assert "neither a regular file nor a folder" in message


def test_symlinks_and_fifos_inside_a_folder_are_left_out(api, tmp_path):
    folder = api.paths["csv_parts"]
    (folder / "0-link.csv").symlink_to(api.outside / "notes.md")
    os.mkfifo(folder / "0-pipe.csv")
    try:
        assert get(api, "csv_parts", "/preview").json()["file"] == "a.csv"
    finally:
        (folder / "0-link.csv").unlink()
        (folder / "0-pipe.csv").unlink()


def test_a_deleted_artifact_answers_404(api):
    api.paths["gone"].unlink()
    message = error_of(get(api, "gone", "/content"), 404)["message"]
    assert "is not there" in message


@pytest.fixture
def s3(monkeypatch) -> Iterator[S3Server]:
    with running_s3() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)  # where s3fs finds it
        yield server


@dsl.component
def write_remote(notes: dsl.Output[dsl.Markdown], parts: dsl.Output[dsl.Dataset]):
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(notes.path, "w") as out:
        out.write("# On S3\n")
    os.makedirs(parts.path)
    pq.write_table(pa.table({"n": [1, 2]}), os.path.join(parts.path, "p-0.parquet"))
    pq.write_table(pa.table({"n": [3]}), os.path.join(parts.path, "p-1.parquet"))


@dsl.pipeline(name="remote")
def remote_pipeline() -> None:
    write_remote()


def test_artifacts_on_s3_are_read_under_the_root_only(s3, tmp_path):
    root = f"s3://{s3.bucket}/home-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        folder=tmp_path / "home",
        metadata_url=f"sqlite:///{tmp_path / 'metadata.db'}",
        artifact_root=root,
        env="dev",
        user="alice",
    )
    with open_home(settings=settings) as home:
        client = Client(home)
        written = outputs_of(home, client.run(remote_pipeline, {}).run_id)
        outside = f"s3://{s3.bucket}/other/notes.md"
        s3.filesystem().pipe_file(outside.removeprefix("s3://"), b"# elsewhere\n")
        foreign = outputs_of(home, client.run(imports_pipeline, {"uri": outside}).run_id)
        with served(create_app(home)) as http:
            notes = http.get(f"/api/v1/artifacts/{written['notes'].id}/content")
            assert notes.text == "# On S3\n" and written["notes"].uri.startswith(root + "/")
            body = http.get(f"/api/v1/artifacts/{written['parts'].id}/preview").json()
            assert (body["file"], body["rows"], body["total_rows"]) == (
                "p-0.parquet",
                [[1], [2], [3]],
                3,
            )
            refused = http.get(f"/api/v1/artifacts/{foreign['artifact'].id}/content")
            assert "is not under the artifact root" in error_of(refused, 400)["message"]
            s3.filesystem().rm(written["notes"].uri.removeprefix("s3://"))
            gone = http.get(f"/api/v1/artifacts/{written['notes'].id}/content")
            assert "not complete" in error_of(gone, 404)["message"]
