"""Uploading versions: numbers, the recorded files and their sha256, the expected-file check,
and the links to the metadata store. Every test runs on SQLite and PostgreSQL."""

import hashlib
import threading

import fsspec
import pytest

from conveyor.registry import (
    ArtifactFile,
    ArtifactPolicy,
    Framework,
    InvalidArtifact,
    InvalidLabels,
    InvalidName,
    InvalidSchema,
    ModelNotFound,
    Registry,
    RegistryUsageError,
    UnknownFramework,
    VersionNotFound,
)
from conveyor.store.artifacts.digest import of_path
from conveyor.store.metadata import ArtifactState, ExecutionState, MetadataStore, NotFound


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_versions_are_numbered_from_1(registry, make_model):
    numbers = [
        registry.upload("churn", make_model(f"v{i}"), framework="sklearn").version_id
        for i in range(3)
    ]
    assert numbers == [1, 2, 3]
    assert [v.version_id for v in registry.list_versions("churn")] == [1, 2, 3]
    other = registry.upload("fraud", make_model("f1"), framework="sklearn")
    assert other.version_id == 1


def test_a_version_records_what_was_uploaded(registry, model_dir):
    schema = [{"name": f"f{i}", "type": "float"} for i in range(4)]
    version = registry.upload(
        "churn",
        str(model_dir),
        framework="sklearn",
        description="first try",
        labels={"team": "growth"},
        input_schema=schema,
        output_schema=[{"name": "class", "type": "integer"}],
    )
    assert version.model == "churn"
    assert version.reference == "churn@1"
    assert version.framework is Framework.SKLEARN
    assert version.description == "first try"
    assert version.labels == {"team": "growth"}
    assert version.artifact_uri == str(model_dir)
    assert version.artifact_kind == "folder"
    assert version.input_schema == schema
    assert version.output_schema == [{"name": "class", "type": "integer"}]
    assert version.trusted is False
    assert version.created_by == "alice"
    assert version.model_file == "model.skops"
    assert not version.needs_trust
    assert registry.get_version("churn", 1) == version
    model = registry.get_model("churn")
    assert (model.description, model.labels) == ("first try", {"team": "growth"})
    assert (model.version_count, model.latest_version, model.default_version) == (1, 1, 1)


def test_the_sha256_of_every_file_is_recorded(registry, model_dir):
    (model_dir / "assets").mkdir()
    (model_dir / "assets" / "vocab.txt").write_text("a\nb\n")
    (model_dir / "README").write_text("tiny iris model")
    version = registry.upload("churn", model_dir, framework="sklearn")
    expected = [
        ArtifactFile(rel, (model_dir / rel).stat().st_size, sha256(model_dir / rel))
        for rel in ("README", "assets/vocab.txt", "model.skops")
    ]
    assert version.files == expected
    assert version.size == sum(f.size for f in expected)
    listing = "".join(f"{f.sha256} {f.size} {f.path}\0" for f in expected)
    assert version.sha256 == hashlib.sha256(listing.encode()).hexdigest()


def test_a_single_file_artifact(registry, model_dir):
    path = model_dir / "model.skops"
    version = registry.upload("churn", f"file://{path}", framework="sklearn")
    assert version.artifact_uri == str(path)
    assert version.artifact_kind == "file"
    assert version.files == [ArtifactFile("", path.stat().st_size, sha256(path))]
    assert version.sha256 == sha256(path)
    assert version.model_file == "model.skops"


def test_a_joblib_model_needs_trust(registry, joblib_dir):
    untrusted = registry.upload("churn", joblib_dir, framework="sklearn")
    assert (untrusted.model_file, untrusted.needs_trust, untrusted.trusted) == (
        "model.joblib",
        True,
        False,
    )
    trusted = registry.upload("churn", joblib_dir, framework="sklearn", trusted=True)
    assert trusted.trusted is True


@pytest.mark.parametrize(
    ("framework", "file"),
    [
        ("sklearn", "model.pkl"),
        ("xgboost", "model.bst"),
        ("xgboost", "model.json"),
        ("xgboost", "model.ubj"),
        ("lightgbm", "model.txt"),
        ("onnx", "model.onnx"),
        ("custom", "predictor.py"),
    ],
)
def test_each_framework_finds_its_file(registry, tmp_path, framework, file):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / file).write_bytes(b"not checked by the registry")
    version = registry.upload("m", tmp_path / "m", framework=framework)
    assert version.framework == framework
    assert version.model_file == file


@pytest.mark.parametrize(
    ("framework", "expected"),
    [
        ("sklearn", "model.skops, model.joblib or model.pkl"),
        ("xgboost", "model.bst, model.json or model.ubj"),
        ("lightgbm", "model.txt"),
        ("onnx", "model.onnx"),
        ("custom", "predictor.py"),
    ],
)
def test_a_folder_without_the_frameworks_file_is_refused(registry, tmp_path, framework, expected):
    folder = tmp_path / "m"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "model.skops").write_bytes(b"too deep")
    (folder / "weights.bin").write_bytes(b"x")
    with pytest.raises(
        InvalidArtifact, match=f"holds no {expected} at its top level \\(it holds weights.bin\\)"
    ):
        registry.upload("m", folder, framework=framework)
    with pytest.raises(ModelNotFound):
        registry.get_model("m")  # nothing was recorded


def test_a_file_artifact_must_be_the_frameworks_file(registry, model_dir):
    with pytest.raises(
        InvalidArtifact,
        match="is not a onnx model file: a onnx artifact is a folder holding model.onnx",
    ):
        registry.upload("m", model_dir / "model.skops", framework="onnx")


def test_a_missing_path_is_refused(registry, tmp_path):
    with pytest.raises(
        InvalidArtifact, match=f"{tmp_path / 'nowhere'} does not exist; pass the folder"
    ):
        registry.upload("m", tmp_path / "nowhere", framework="sklearn")
    with pytest.raises(InvalidArtifact, match="the artifact URI is empty"):
        registry.upload("m", "  ", framework="sklearn")


def test_an_unknown_framework_is_refused(registry, model_dir):
    with pytest.raises(UnknownFramework, match="framework 'pytorch' is not one Conveyor serves"):
        registry.upload("m", model_dir, framework="pytorch")


def test_bad_names_labels_schemas_and_aliases_are_refused_before_anything_is_written(
    registry, model_dir
):
    with pytest.raises(InvalidName):
        registry.upload("bad name", model_dir, framework="sklearn")
    with pytest.raises(InvalidName, match="alias 'Prod' is not valid"):
        registry.upload("m", model_dir, framework="sklearn", aliases=["Prod"])
    with pytest.raises(InvalidLabels):
        registry.upload("m", model_dir, framework="sklearn", labels={"Team": "x"})
    with pytest.raises(InvalidSchema, match="of the output schema"):
        registry.upload(
            "m", model_dir, framework="sklearn", output_schema=[{"name": "y", "type": "tensor"}]
        )
    assert registry.list_models() == []


def test_a_remote_artifact_is_read_through_fsspec(store, model_dir):
    fs = fsspec.filesystem("memory")
    body = (model_dir / "model.skops").read_bytes()
    fs.pipe_file("/bucket/churn/model.skops", body)
    fs.pipe_file("/bucket/churn/meta/info.json", b"{}")
    registry = Registry(store, policy=ArtifactPolicy(schemes=frozenset({"memory"})))
    try:
        version = registry.upload("churn", "memory://bucket/churn/", framework="sklearn")
        assert version.artifact_uri == "memory:///bucket/churn"
        assert version.files == [
            ArtifactFile("meta/info.json", 2, hashlib.sha256(b"{}").hexdigest()),
            ArtifactFile("model.skops", len(body), hashlib.sha256(body).hexdigest()),
        ]
        with pytest.raises(InvalidArtifact, match="memory:///bucket/none does not exist"):
            registry.upload("churn", "memory://bucket/none", framework="sklearn")
    finally:
        fs.rm("/bucket", recursive=True)


# Links to the metadata store


def test_a_version_records_its_artifact_in_the_store(registry, store, model_dir):
    version = registry.upload("churn", model_dir, framework="sklearn")
    artifact = store.get_artifact(version.artifact_id)
    assert (artifact.uri, artifact.type, artifact.state) == (
        str(model_dir),
        "system.Model",
        ArtifactState.LIVE,
    )
    assert (artifact.sha256, artifact.size) == (version.sha256, version.size)
    # The same bytes again: the same artifact.
    again = registry.upload("churn", model_dir, framework="sklearn")
    assert again.artifact_id == version.artifact_id
    # Changed bytes: a new artifact record.
    (model_dir / "extra.txt").write_text("changed")
    changed = registry.upload("churn", model_dir, framework="sklearn")
    assert changed.artifact_id != version.artifact_id
    assert store.get_artifact(changed.artifact_id).sha256 == changed.sha256


def published_by_a_run(store, folder, run_id="train-1"):
    """What the engine records when a task writes a model: run, execution, LIVE artifact."""
    store.create_run(run_id, "train")
    task = store.create_execution(run_id, "train-model")
    artifact = store.create_artifact(str(folder), "system.Model", "model", output_of=task)
    found = of_path(folder)
    store.publish_artifact(artifact, sha256=found.sha256, size=found.size)
    store.finish_execution(task, ExecutionState.COMPLETE)
    return task, artifact


def test_lineage_comes_from_the_execution_that_wrote_the_artifact(registry, store, model_dir):
    task, artifact = published_by_a_run(store, model_dir)
    version = registry.upload("churn", model_dir, framework="sklearn")
    assert (version.artifact_id, version.run_id, version.execution_id) == (
        artifact,
        "train-1",
        task,
    )
    graph = store.lineage(version.artifact_id)
    assert task in graph.executions


def test_a_cache_hit_does_not_hide_the_producer(registry, store, model_dir):
    task, artifact = published_by_a_run(store, model_dir)
    store.create_run("train-2", "train")
    store.create_execution("train-2", "train-model", cached_from=task)
    version = registry.upload("churn", model_dir, framework="sklearn")
    assert (version.run_id, version.execution_id) == ("train-1", task)


def test_named_run_and_execution_are_checked(registry, store, model_dir):
    task, _ = published_by_a_run(store, model_dir)
    store.create_run("train-2", "train")
    other = store.create_execution("train-2", "evaluate")
    version = registry.upload("churn", model_dir, framework="sklearn", execution_id=other)
    assert (version.run_id, version.execution_id) == ("train-2", other)
    version = registry.upload("churn", model_dir, framework="sklearn", run_id="train-2")
    assert (version.run_id, version.execution_id) == ("train-2", None)
    with pytest.raises(NotFound, match="no run 'nope' in the metadata store"):
        registry.upload("churn", model_dir, framework="sklearn", run_id="nope")
    with pytest.raises(NotFound, match="no execution 999 in the metadata store"):
        registry.upload("churn", model_dir, framework="sklearn", execution_id=999)
    with pytest.raises(
        RegistryUsageError, match=f"execution {task} belongs to run 'train-1', not 'train-2'"
    ):
        registry.upload(
            "churn", model_dir, framework="sklearn", run_id="train-2", execution_id=task
        )
    assert [v.version_id for v in registry.list_versions("churn")] == [1, 2]


def test_unknown_models_and_versions(registry, model_dir):
    with pytest.raises(
        ModelNotFound, match="no model 'nope' in the registry; `conveyor models list`"
    ):
        registry.get_version("nope")
    registry.upload("churn", model_dir, framework="sklearn")
    with pytest.raises(VersionNotFound, match="model 'churn' has no version 7"):
        registry.get_version("churn@7")
    with pytest.raises(VersionNotFound, match="no version of model 'churn' holds alias 'staging'"):
        registry.get_version("churn", "staging")


def test_records_turn_into_json(registry, model_dir):
    version = registry.upload("churn", model_dir, framework="sklearn", labels={"team": "a"})
    data = version.to_json()
    assert data["model"] == "churn"
    assert data["framework"] == "sklearn"
    assert data["aliases"] == ["default"]
    assert data["files"][0]["path"] == "model.skops"
    assert data["created_at"].endswith("+00:00")
    assert registry.get_model("churn").to_json()["aliases"] == {"default": 1}


def test_concurrent_uploads_get_distinct_numbers_and_one_default(store_url, make_model):
    folders = [make_model(f"v{i}") for i in range(8)]
    numbers, errors = [], []

    def upload(folder):
        try:
            with MetadataStore.open(store_url) as own:
                numbers.append(
                    Registry(own).upload("churn", folder, framework="sklearn").version_id
                )
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(f,)) for f in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 9))
    with MetadataStore.open(store_url) as own:
        registry = Registry(own)
        assert registry.get_model("churn").default_version == 1
        created = [e for e in registry.history("churn") if e.action == "model_created"]
        assert len(created) == 1
