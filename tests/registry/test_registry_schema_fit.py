"""An input schema the model file contradicts is refused at upload, by the runtime's rule
(named features: the same names; counted ones: as many), from the file read as data.

On SQLite only: the check does not depend on the store."""

import os
import pickle

import fsspec
import lightgbm
import numpy as np
import pandas as pd
import pytest
import skops.io
import xgboost
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conveyor.registry import ArtifactPolicy, InvalidSchema, Registry
from conveyor.store.metadata import MetadataStore

NAMES = ["tenure", "charges", "calls"]


@pytest.fixture
def store(tmp_path):
    with MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}") as opened:
        yield opened


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((60, 3)), columns=NAMES)
    return frame, (frame["tenure"] > 0.5).astype(int)


def schema(*names):
    return [{"name": n, "type": "float"} for n in names]


def saved(tmp_path, file, write):
    folder = tmp_path / file.replace(".", "-")
    folder.mkdir()
    write(folder / file)
    return folder


def fits(registry, folder, framework, features):
    return registry.upload("m", folder, framework=framework, input_schema=features)


def misfits(registry, folder, framework, features, match):
    with pytest.raises(InvalidSchema, match=f"the input schema does not fit .*: {match}"):
        fits(registry, folder, framework, features)


def test_sklearn_named_features(registry, tmp_path, data):
    frame, y = data
    model = saved(
        tmp_path, "model.skops", lambda p: skops.io.dump(LogisticRegression().fit(frame, y), p)
    )
    misfits(
        registry,
        model,
        "sklearn",
        schema("tenure", "charges", "visits"),
        "it lacks calls; the model does not know visits",
    )
    assert fits(registry, model, "sklearn", schema("calls", "tenure", "charges")).version_id == 1
    piped = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    pipeline = tmp_path / "pipeline"
    pipeline.mkdir()
    skops.io.dump(piped, pipeline / "model.skops")
    misfits(registry, pipeline, "sklearn", schema("tenure"), "it lacks charges, calls")


def test_sklearn_counted_features(registry, model_dir):
    """The iris model was fitted on an array: it counts 4 features and names none."""
    misfits(
        registry,
        model_dir,
        "sklearn",
        schema("a", "b", "c"),
        "it names 3 features but the model takes 4",
    )
    assert fits(registry, model_dir, "sklearn", schema("a", "b", "c", "d")).version_id == 1


def test_a_pickle_is_never_opened_to_check(registry, tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    folder = saved(tmp_path, "model.pkl", lambda p: p.write_bytes(pickle.dumps(Payload())))
    assert fits(registry, folder, "sklearn", schema("anything")).version_id == 1
    assert not marker.exists()


@pytest.mark.parametrize("file", ["model.json", "model.ubj"])
def test_xgboost_features(registry, tmp_path, data, file):
    frame, y = data
    named = xgboost.train({}, xgboost.DMatrix(frame, y), 2)
    folder = saved(tmp_path, file, lambda p: named.save_model(p))
    misfits(registry, folder, "xgboost", schema("tenure", "charges"), "it lacks calls")
    assert fits(registry, folder, "xgboost", schema(*NAMES)).version_id == 1
    counted = xgboost.train({}, xgboost.DMatrix(frame.to_numpy(), y), 2)
    bare = tmp_path / "bare"
    bare.mkdir()
    counted.save_model(bare / file)
    misfits(registry, bare, "xgboost", schema("x"), "it names 1 features but the model takes 3")


def test_lightgbm_features(registry, tmp_path, data):
    frame, y = data
    booster = lightgbm.train({"verbose": -1}, lightgbm.Dataset(frame, y), 2)
    folder = saved(tmp_path, "model.txt", lambda p: booster.save_model(p))
    misfits(
        registry,
        folder,
        "lightgbm",
        schema("tenure", "charges", "visits"),
        "it lacks calls; the model does not know visits",
    )
    assert fits(registry, folder, "lightgbm", schema(*NAMES)).version_id == 1


def test_onnx_features(registry, tmp_path, data):
    frame, y = data
    array = frame.to_numpy().astype(np.float32)
    single = to_onnx(LogisticRegression().fit(array, y), array[:1])
    folder = saved(tmp_path, "model.onnx", lambda p: p.write_bytes(single.SerializeToString()))
    misfits(registry, folder, "onnx", schema("a", "b"), "it names 2 features but the model takes 3")
    assert fits(registry, folder, "onnx", schema("a", "b", "c")).version_id == 1
    # One input per feature, and an initializer listed among the inputs (not fed).
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in ("a", "b", "w")
    ]
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["s", "w"], ["o"])],
        "g",
        inputs,
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, [None, 1])],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])],
    )
    pair = tmp_path / "pair"
    pair.mkdir()
    (pair / "model.onnx").write_bytes(helper.make_model(graph).SerializeToString())
    misfits(registry, pair, "onnx", schema("a", "w"), "it lacks b; the model does not know w")
    assert fits(registry, pair, "onnx", schema("b", "a")).version_id == 2


def test_a_file_that_says_nothing_leaves_the_check_to_the_runtime(registry, tmp_path):
    for file, framework in (
        ("model.skops", "sklearn"),
        ("model.onnx", "onnx"),
        ("model.txt", "lightgbm"),
    ):
        folder = saved(tmp_path, file, lambda p: p.write_bytes(b"\x00not a model"))
        assert fits(registry, folder, framework, schema("x")).framework == framework


def test_a_remote_model_is_checked_too(store, model_dir):
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/fit/m/model.skops", (model_dir / "model.skops").read_bytes())
    try:
        registry = Registry(store, policy=ArtifactPolicy(schemes=frozenset({"memory"})))
        with pytest.raises(InvalidSchema, match="does not fit memory:///fit/m/model.skops"):
            registry.upload("m", "memory://fit/m", framework="sklearn", input_schema=schema("x"))
    finally:
        fs.rm("/fit", recursive=True)
