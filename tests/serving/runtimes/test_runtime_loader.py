"""load_model: checksums checked before anything is read, trust, framework detection."""

from __future__ import annotations

import pickle

import joblib
import pytest
import skops.io
import xgboost
from sklearn.linear_model import LogisticRegression

from conveyor.serving.runtimes import (
    ChecksumMismatch,
    MissingModelFile,
    ModelLoadError,
    UntrustedModel,
    load_model,
)
from conveyor.serving.runtimes.loader import runtime_class


class Marker:
    """Unpickling this writes a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture
def bomb(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    marker = tmp_path / "unpickled"
    (folder / "model.pkl").write_bytes(pickle.dumps(Marker(marker)))
    return folder, marker


def test_the_marker_pickle_writes_its_file_when_loaded(bomb, checksums):
    folder, marker = bomb
    with pytest.raises(ModelLoadError):  # an open file has no predict method
        load_model(folder, sha256s=checksums(folder), trusted=True)
    assert marker.exists()


def test_checksum_mismatch_is_refused_before_unpickling(bomb, checksums):
    folder, marker = bomb
    recorded = checksums(folder)
    recorded["model.pkl"] = "0" * 64
    with pytest.raises(
        ChecksumMismatch, match=r"model.pkl in .* does not match the sha256 recorded"
    ):
        load_model(folder, sha256s=recorded, trusted=True)
    assert not marker.exists()


def test_missing_recorded_file_is_refused_before_unpickling(bomb, checksums):
    folder, marker = bomb
    recorded = {**checksums(folder), "vocabulary.txt": "ab" * 32}
    with pytest.raises(
        MissingModelFile, match="vocabulary.txt is missing from .* recorded at upload"
    ):
        load_model(folder, sha256s=recorded, trusted=True)
    assert not marker.exists()


def test_file_added_after_upload_is_refused(bomb, checksums, tabular):
    folder, marker = bomb
    recorded = checksums(folder)
    x, y = tabular
    skops.io.dump(LogisticRegression().fit(x, y), folder / "model.skops")  # would be preferred
    with pytest.raises(
        ChecksumMismatch, match="model.skops is in .* but was not recorded at upload"
    ):
        load_model(folder, sha256s=recorded, trusted=True)
    assert not marker.exists()


def test_untrusted_pickle_is_refused_before_unpickling(bomb, checksums):
    folder, marker = bomb
    with pytest.raises(UntrustedModel, match="model.pkl is a pickle: mark the version trusted"):
        load_model(folder, sha256s=checksums(folder))
    assert not marker.exists()


def test_checksums_that_match_load(tmp_path, tabular, checksums):
    x, y = tabular
    model = LogisticRegression().fit(x, y)
    skops.io.dump(model, tmp_path / "model.skops")
    (tmp_path / "README.md").write_text("a model")
    runtime = load_model(tmp_path, sha256s=checksums(tmp_path))
    assert runtime.predict(x[:2].tolist()) == model.predict(x[:2]).tolist()


def test_checksum_paths_stay_inside_the_folder(tmp_path):
    with pytest.raises(ChecksumMismatch, match="name '../model.skops', which is not a path inside"):
        load_model(tmp_path, sha256s={"../model.skops": "0" * 64})


def test_skops_is_preferred_to_joblib_and_pickle(tmp_path, tabular):
    x, y = tabular
    skops.io.dump(LogisticRegression().fit(x, y), tmp_path / "model.skops")
    joblib.dump(LogisticRegression(), tmp_path / "model.joblib")  # unfitted: would fail
    runtime = load_model(tmp_path)  # not trusted: the pickle is never touched
    assert runtime.file.name == "model.skops"


def test_several_frameworks_need_a_name(tmp_path, tabular):
    x, y = tabular
    skops.io.dump(LogisticRegression().fit(x, y), tmp_path / "model.skops")
    booster = xgboost.train({}, xgboost.DMatrix(x, label=y), 2)
    booster.save_model(tmp_path / "model.json")
    with pytest.raises(
        ModelLoadError, match=r"model.skops \(sklearn\); model.json \(xgboost\); name"
    ):
        load_model(tmp_path)
    assert load_model(tmp_path, framework="XGBoost").framework == "xgboost"
    assert load_model(tmp_path, framework="scikit-learn").framework == "sklearn"


def test_folders_without_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(
        MissingModelFile, match=r"no model file Conveyor knows \(found: notes.txt\)"
    ):
        load_model(tmp_path)
    with pytest.raises(MissingModelFile, match="does not exist"):
        load_model(tmp_path / "absent")
    with pytest.raises(MissingModelFile, match="notes.txt is not a model file Conveyor knows"):
        load_model(tmp_path / "notes.txt")
    with pytest.raises(ModelLoadError, match="no model runtime for framework 'pytorch'"):
        runtime_class("pytorch")


def test_a_corrupt_model_file_names_the_file(tmp_path):
    (tmp_path / "model.txt").write_text("not a lightgbm model")
    with pytest.raises(ModelLoadError, match="model.txt could not be loaded as a lightgbm model"):
        load_model(tmp_path)


def test_a_single_file_artifact(tmp_path, tabular, checksums):
    x, y = tabular
    model = LogisticRegression().fit(x, y)
    skops.io.dump(model, tmp_path / "model.skops")
    recorded = checksums(tmp_path)["model.skops"]
    runtime = load_model(tmp_path / "model.skops", sha256s={"": recorded})
    assert runtime.predict(x[:3].tolist()) == model.predict(x[:3]).tolist()
    assert load_model(tmp_path / "model.skops", sha256s={"model.skops": recorded}).file.name == (
        "model.skops"
    )
    with pytest.raises(ChecksumMismatch, match="model.skops does not match the sha256 recorded"):
        load_model(tmp_path / "model.skops", sha256s={"": "1" * 64})
    with pytest.raises(ChecksumMismatch, match="single model file but its recorded checksums"):
        load_model(tmp_path / "model.skops", sha256s={"other.skops": recorded})
    with pytest.raises(MissingModelFile, match="model.skops is not a xgboost model file"):
        load_model(tmp_path / "model.skops", framework="xgboost")


def test_a_single_file_pickle_still_needs_trust(bomb, checksums):
    folder, marker = bomb
    recorded = checksums(folder)["model.pkl"]
    with pytest.raises(UntrustedModel, match="model.pkl is a pickle"):
        load_model(folder / "model.pkl", sha256s={"": recorded})
    with pytest.raises(ChecksumMismatch):
        load_model(folder / "model.pkl", sha256s={"": "0" * 64}, trusted=True)
    assert not marker.exists()


def test_a_version_from_the_registry_loads_as_recorded(tmp_path, named, tabular):
    from conveyor.registry import Registry
    from conveyor.store.metadata import MetadataStore

    _, y = tabular
    folder = tmp_path / "model"
    folder.mkdir()
    model = LogisticRegression().fit(named, y)
    skops.io.dump(model, folder / "model.skops")
    schema = [{"name": n, "type": "float", "description": n} for n in named.columns]
    with MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}") as store:
        version = Registry(store).upload(
            "iris", str(folder), framework="sklearn", input_schema=schema
        )

    def load():
        return load_model(
            folder,
            framework=version.framework,
            sha256s={f.path: f.sha256 for f in version.files},
            trusted=version.trusted,
            schema=version.input_schema,
        )

    records = named.head(3).to_dict(orient="records")
    assert load().predict(records) == model.predict(named.head(3)).tolist()
    skops.io.dump(LogisticRegression().fit(named, 1 - y), folder / "model.skops")
    with pytest.raises(ChecksumMismatch, match="model.skops in .* does not match"):
        load()
