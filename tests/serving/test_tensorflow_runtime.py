"""TensorFlow SavedModels registered and served for real: a Keras model of one numeric
input, a tf.Module of several named inputs (one of them text), and one that parses a
serialized tf.Example from bytes, as a TFX Trainer exports. Each is saved here, uploaded
to the registry, served by the real app on a loopback port, and its answers on the Vertex
AI and Open Inference Protocol routes compared with the SavedModel's own."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conveyor.registry.errors import InvalidArtifact
from conveyor.serving.runtimes import ChecksumMismatch, ModelLoadError, load_model

ROWS = [[0.5, -1.0, 2.0], [3.0, 0.25, -0.75]]


class Scorer(tf.Module):
    """Several named inputs of three dtypes; a number and a text output."""

    def __init__(self):
        self.weights = tf.Variable([0.5, -2.0])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.float32, name="tenure"),
            tf.TensorSpec([None, 1], tf.int64, name="calls"),
            tf.TensorSpec([None], tf.string, name="plan"),
        ]
    )
    def serve(self, tenure, calls, plan):
        calls = tf.cast(tf.squeeze(calls, 1), tf.float32)
        score = self.weights[0] * tenure + self.weights[1] * calls
        return {"score": score, "label": tf.strings.join([plan, tf.strings.as_string(score > 0)])}


class ExampleParser(tf.Module):
    """One string input of serialized tf.Examples, as TFX's Trainer serves: x times two."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        parsed = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([], tf.float32)})
        return {"doubled": parsed["x"] * 2.0}


@pytest.fixture(scope="session")
def saved(tmp_path_factory) -> dict[str, Path]:
    """The SavedModel folders: `keras` (features [N, 3] -> output_0 [N, 2]), `scorer`,
    `examples`."""
    root = tmp_path_factory.mktemp("savedmodels")
    keras.utils.set_random_seed(5)
    inputs = keras.Input(shape=(3,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))
    model.export(str(root / "keras"), verbose=False)
    for name, module in (("scorer", Scorer()), ("examples", ExampleParser())):
        tf.saved_model.save(module, str(root / name), signatures={"serving_default": module.serve})
    return {name: root / name for name in ("keras", "scorer", "examples")}


def own_answer(folder: Path, **inputs) -> dict[str, list]:
    """What the SavedModel itself answers, through TensorFlow alone."""
    signature = tf.saved_model.load(str(folder)).signatures["serving_default"]
    found = signature(**{name: tf.constant(value) for name, value in inputs.items()})
    return {name: tensor.numpy().tolist() for name, tensor in found.items()}


def example(x: float) -> str:
    """A serialized tf.Example with the float feature x, base64 as Vertex AI sends bytes."""
    feature = tf.train.Feature(float_list=tf.train.FloatList(value=[x]))
    proto = tf.train.Example(features=tf.train.Features(feature={"x": feature}))
    return base64.b64encode(proto.SerializeToString()).decode()


@pytest.fixture
def deployed(registry, endpoints, saved):
    """`deployed(name)`: the SavedModel `name` uploaded as model `name` and deployed to the
    endpoint of that name."""

    def deploy(name: str):
        version = registry.upload(name, saved[name], framework="tensorflow")
        endpoints.create(name)
        endpoints.deploy(name, name)
        return version

    return deploy


def test_the_upload_records_every_file_of_the_folder(deployed):
    version = deployed("keras")
    paths = {f.path for f in version.files}
    assert {"saved_model.pb", "variables/variables.index"} <= paths
    assert any(p.startswith("variables/variables.data-") for p in paths)
    assert (version.framework, version.model_file) == ("tensorflow", "saved_model.pb")


def test_a_keras_model_on_the_vertex_route(deployed, serve, saved):
    deployed("keras")
    server = serve()
    expected = own_answer(saved["keras"], features=np.array(ROWS, np.float32))["output_0"]
    for instances in (ROWS, [{"features": row} for row in ROWS]):
        answer = server.client.post("/v1/endpoints/keras:predict", json={"instances": instances})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected


def test_a_keras_model_on_the_oip_route(deployed, serve, saved):
    deployed("keras")
    server = serve()
    meta = server.client.get("/v2/models/keras").json()
    assert meta["platform"] == "tensorflow_savedmodel"
    assert meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 3]}]
    assert meta["outputs"] == [{"name": "output_0", "datatype": "FP32", "shape": [-1, 2]}]
    body = {"inputs": [{"name": "features", "shape": [2, 3], "datatype": "FP32", "data": ROWS}]}
    answer = server.client.post("/v2/models/keras/infer", json=body)
    assert answer.status_code == 200, answer.text
    (output,) = answer.json()["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("output_0", "FP32", [2, 2])
    expected = own_answer(saved["keras"], features=np.array(ROWS, np.float32))["output_0"]
    assert np.array(output["data"]).reshape(2, 2).tolist() == expected


def test_named_inputs_on_both_routes(deployed, serve, saved):
    deployed("scorer")
    server = serve()
    rows = [
        {"tenure": 12.0, "calls": 1, "plan": "gold"},
        {"tenure": 1.5, "calls": 4, "plan": "basic"},
    ]
    own = own_answer(
        saved["scorer"],
        tenure=np.array([12.0, 1.5], np.float32),
        calls=np.array([[1], [4]]),
        plan=np.array([b"gold", b"basic"], object),
    )
    expected = [
        {"label": label.decode(), "score": score}
        for label, score in zip(own["label"], own["score"], strict=True)
    ]
    answer = server.client.post("/v1/endpoints/scorer:predict", json={"instances": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == expected

    inputs = [
        {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["gold", "basic"]},
        {"name": "calls", "shape": [2, 1], "datatype": "INT64", "data": [1, 4]},
        {"name": "tenure", "shape": [2], "datatype": "FP32", "data": [12.0, 1.5]},
    ]
    answer = server.client.post("/v2/models/scorer/infer", json={"inputs": inputs})
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["score"]["datatype"] == "FP32"
    assert outputs["score"]["data"] == own["score"]
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["label"]["data"] == [e["label"] for e in expected]
    meta = server.client.get("/v2/models/scorer").json()
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [
        ("calls", "INT64"),
        ("plan", "BYTES"),
        ("tenure", "FP32"),
    ]


def test_serialized_examples_go_as_b64(deployed, serve):
    docs = Path(__file__).parents[2] / "docs" / "runtimes.md"
    assert example(1.5) in docs.read_text()  # the example the docs give is this one
    deployed("examples")
    server = serve()
    bare = [{"b64": example(1.5)}, {"b64": example(-4.0)}]
    named = [{"examples": value} for value in bare]
    for instances in (bare, named):
        answer = server.client.post("/v1/endpoints/examples:predict", json={"instances": instances})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [3.0, -8.0]


@pytest.mark.parametrize(
    ("endpoint", "instances", "message"),
    [
        ("keras", [[1.0, 2.0]], "each instance of input 'features' must have shape [3]"),
        ("keras", [{"colour": [1, 2, 3]}], "the model's one input is 'features'"),
        ("keras", [["a", "b", "c"]], "could not convert string to float"),
        ("scorer", [{"tenure": 1, "calls": 1, "plan": "a", "zip": 9}], "unknown feature 'zip'"),
        ("scorer", [{"tenure": 1, "calls": 1.5, "plan": "a"}], "takes whole numbers (INT64)"),
        ("scorer", [{"tenure": 1, "calls": 1, "plan": 7}], "input 'plan' of instance 0 is integer"),
        ("examples", [{"b64": "not base64!"}], "is not base64"),
        ("examples", [{"b64": base64.b64encode(b"junk").decode()}], "the model refused"),
    ],
)
def test_bad_instances_get_a_400_naming_the_problem(deployed, serve, endpoint, instances, message):
    deployed(endpoint)
    server = serve()
    answer = server.client.post(f"/v1/endpoints/{endpoint}:predict", json={"instances": instances})
    assert answer.status_code == 400, answer.text
    assert message in answer.text


def test_bad_tensors_get_a_400_on_the_oip_route(deployed, serve):
    deployed("scorer")
    server = serve()
    inputs = [
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["gold"]},
        {"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]},
    ]
    answer = server.client.post("/v2/models/scorer/infer", json={"inputs": inputs})
    assert answer.status_code == 400, answer.text
    assert "input 'colour' is not a feature of the model" in answer.text


def test_the_cli_uploads_a_savedmodel_and_refuses_a_folder_without_one(saved, tmp_path):
    def conveyor(*args):
        command = [sys.executable, "-m", "conveyor.cli.main", "models", "upload", *args]
        return subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=120)

    uploaded = conveyor("scorer", str(saved["scorer"]), "--framework", "tensorflow")
    assert uploaded.returncode == 0, uploaded.stderr
    empty = tmp_path / "not-a-savedmodel"
    (empty / "variables").mkdir(parents=True)
    (empty / "variables" / "variables.index").write_bytes(b"")
    refused = conveyor("other", str(empty), "--framework", "tensorflow")
    assert refused.returncode != 0
    assert "holds no saved_model.pb at its top level" in refused.stderr


def test_the_graph_file_alone_is_no_artifact(registry, saved):
    with pytest.raises(InvalidArtifact, match="a tensorflow model is a folder"):
        registry.upload("lone", saved["keras"] / "saved_model.pb", framework="tensorflow")


def test_a_changed_variables_file_is_not_loaded(saved, tmp_path, registry):
    version = registry.upload("scorer", saved["scorer"], framework="tensorflow")
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(saved["scorer"]), str(copy)], check=True)
    data = next((copy / "variables").glob("variables.data-*"))
    content = data.read_bytes()
    data.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    recorded = {f.path: f.sha256 for f in version.files}
    with pytest.raises(ChecksumMismatch, match="variables/variables.data-"):
        load_model(copy, framework="tensorflow", sha256s=recorded)


def test_a_savedmodel_without_a_serving_signature_is_refused_at_load(tmp_path):
    module = Scorer()
    tf.saved_model.save(module, str(tmp_path / "unsigned"), signatures={"score": module.serve})
    with pytest.raises(
        ModelLoadError, match="has no 'serving_default' signature \\(it has: score\\)"
    ):
        load_model(tmp_path / "unsigned")


def test_without_tensorflow_the_load_says_what_to_install(saved, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # as if it were not installed
    with pytest.raises(ModelLoadError, match=r"install conveyor\[tensorflow\]"):
        load_model(saved["keras"], framework="tensorflow")


def test_importing_the_serving_app_does_not_import_tensorflow():
    code = "import sys, conveyor.serving.app; print('tensorflow' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.stdout.strip() == "False", found.stderr
