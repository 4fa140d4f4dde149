"""`gs://` mapped to a local folder (`CONVEYOR_GCS_ROOT`): the one mapping, the setting, the
implementations' storage, and importers of `gs://` URIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.components.gcpc._launcher import LauncherError
from conveyor.components.gcpc._storage import Storage
from conveyor.config import Settings, local_gcs_path
from conveyor.errors import UsageError
from conveyor.pipelines.executors.base import Task, TaskRequest
from conveyor.pipelines.executors.gcpc_executor import GcsImporterExecutor


def test_a_gs_uri_is_a_file_under_the_root(tmp_path):
    root = str(tmp_path)
    assert local_gcs_path("gs://bucket/a/b.csv", root) == tmp_path / "bucket" / "a" / "b.csv"
    assert local_gcs_path("gcs://bucket/a/", root) == tmp_path / "bucket" / "a"
    assert local_gcs_path("gs://bucket/a", None) is None  # no root: fsspec reads it
    assert local_gcs_path("s3://bucket/a", root) is None
    assert local_gcs_path("/data/a.csv", root) is None


@pytest.mark.parametrize("uri", ["gs://", "gs://bucket/../other/x", "gs://bucket/a/../../x"])
def test_a_uri_that_leaves_its_bucket_is_refused(tmp_path, uri):
    with pytest.raises(UsageError, match="not a Cloud Storage path"):
        local_gcs_path(uri, str(tmp_path))


def test_the_setting_reaches_the_tasks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVEYOR_GCS_ROOT", "gcs")
    settings = Settings.from_env()
    assert settings.gcs_root == str(tmp_path / "gcs")  # absolute, for tasks in other folders
    assert settings.to_env()["CONVEYOR_GCS_ROOT"] == str(tmp_path / "gcs")
    assert Settings.from_env(environ=settings.to_env()) == settings
    monkeypatch.delenv("CONVEYOR_GCS_ROOT")
    assert Settings.from_env().gcs_root is None


def test_storage_reads_and_writes_mapped_files_named_as_gs_uris(tmp_path):
    storage = Storage(str(tmp_path))
    for name in ("a-1.jsonl", "a-2.jsonl", "b.jsonl"):
        with storage.open(f"gs://bucket/in/{name}", "w") as out:
            out.write("[1]\n")
    assert storage.expand("gs://bucket/in/a-*.jsonl") == [
        "gs://bucket/in/a-1.jsonl",
        "gs://bucket/in/a-2.jsonl",
    ]
    assert storage.names("gs://bucket/in") == {"a-1.jsonl", "a-2.jsonl", "b.jsonl"}
    assert storage.makedirs("gs://bucket/out/model") == str(tmp_path / "bucket" / "out" / "model")
    assert Storage(None).local("/data/x.csv") == "/data/x.csv"
    assert Storage(None).local("gs://bucket/x.csv") == "gs://bucket/x.csv"  # for gcsfs
    with pytest.raises(LauncherError, match="names no file"):
        storage.expand("gs://bucket/in/c*.jsonl")


def importer_request(tmp_path: Path, uri: str, env: dict[str, str]) -> TaskRequest:
    spec = {
        "importer": {
            "artifactUri": {"constant": uri},
            "typeSchema": {"schemaTitle": "google.UnmanagedContainerModel"},
            "metadata": {"containerSpec": {"imageUri": "x"}},
        }
    }
    return TaskRequest("importer", {}, spec, tmp_path / "log.txt", tmp_path, env)


def test_an_importer_of_a_gs_uri_imports_the_folder_it_stands_for(tmp_path):
    root = tmp_path / "gcs"
    request = importer_request(tmp_path, "gs://bucket/model", {"CONVEYOR_GCS_ROOT": str(root)})
    result = GcsImporterExecutor().execute(request, Task("importer"))
    [artifact] = result.executor_output["artifacts"]["artifact"]["artifacts"]
    assert artifact["uri"] == str(root / "bucket" / "model")
    assert artifact["metadata"] == {"containerSpec": {"imageUri": "x"}}
    assert "gs://bucket/model is" in (tmp_path / "log.txt").read_text()


def test_without_the_setting_an_importer_keeps_the_gs_uri(tmp_path):
    request = importer_request(tmp_path, "gs://bucket/model", {})
    result = GcsImporterExecutor().execute(request, Task("importer"))
    [artifact] = result.executor_output["artifacts"]["artifact"]["artifacts"]
    assert artifact["uri"] == "gs://bucket/model"
