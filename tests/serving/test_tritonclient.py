"""tritonclient's HTTP client, a real Open Inference Protocol client, against a real server:
every call it makes that applies to a server without Triton's model control (load and
unload), with binary and JSON tensor data both ways."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as triton
from serving_support import FEATURES, ROW, local_predictions
from tritonclient.utils import InferenceServerException

OTHER = {"tenure": 60, "charges": 20.0, "calls": 0}
ROWS = np.array([[3, 80.5, 6], [60, 20.0, 0]])


@pytest.fixture
def server(churn, serve):
    return serve()


@pytest.fixture
def client(server):
    found = triton.InferenceServerClient(server.url.removeprefix("http://"), concurrency=2)
    yield found
    found.close()


def rows_input(binary: bool) -> triton.InferInput:
    tensor = triton.InferInput("input-0", list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS, binary_data=binary)
    return tensor


def test_health_readiness_and_server_metadata(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("churn") and client.is_model_ready("churn", "2")
    assert client.is_model_ready("churn", "candidate")
    assert not client.is_model_ready("nobody") and not client.is_model_ready("churn", "9")
    metadata = client.get_server_metadata()
    assert metadata["name"] == "conveyor"
    assert {"binary_tensor_data", "model_configuration", "statistics"} <= set(
        metadata["extensions"]
    )


def test_model_metadata_declares_what_infer_returns(client):
    metadata = client.get_model_metadata("churn", "1")
    assert metadata["versions"] == ["1", "2"]
    assert [i["name"] for i in metadata["inputs"]] == FEATURES
    assert metadata["outputs"] == [{"name": "predictions", "datatype": "INT64", "shape": [-1]}]
    result = client.infer("churn", [rows_input(binary=False)])
    assert result.get_output("predictions")["datatype"] == "INT64"
    assert result.as_numpy("predictions").dtype == np.int64


def test_model_config(client):
    config = client.get_model_config("churn", "2")
    assert (config["name"], config["platform"], config["max_batch_size"]) == ("churn", "sklearn", 0)
    assert config["input"][0] == {"name": "tenure", "data_type": "TYPE_INT64", "dims": [-1]}
    assert config["output"] == [{"name": "predictions", "data_type": "TYPE_INT64", "dims": [-1]}]


@pytest.mark.parametrize("binary_in", [True, False])
@pytest.mark.parametrize("binary_out", [True, False])
def test_infer_with_binary_and_json_tensors(client, trained, binary_in, binary_out):
    requested = [triton.InferRequestedOutput("predictions", binary_data=binary_out)]
    result = client.infer("churn", [rows_input(binary_in)], outputs=requested)
    assert result.as_numpy("predictions").tolist() == local_predictions(trained["v1"], [ROW, OTHER])
    output = result.get_output("predictions")
    assert ("binary_data_size" in output.get("parameters", {})) is binary_out
    assert ("data" in output) is not binary_out


def test_infer_with_every_output_binary_by_default(client, trained):
    """Without requested outputs, tritonclient asks for all of them as binary data."""
    result = client.infer("churn", [rows_input(binary=True)], model_version="2")
    assert result.get_response()["model_version"] == "2"
    assert result.as_numpy("predictions").tolist() == local_predictions(trained["v2"], [ROW, OTHER])


def test_one_tensor_per_feature_binary_and_json_mixed(client, trained):
    inputs = []
    for n, name in enumerate(FEATURES):
        datatype = "FP64" if name == "charges" else "INT64"
        values = np.array([[ROW[name]], [OTHER[name]]], dtype=np.float64 if n == 1 else np.int64)
        tensor = triton.InferInput(name, [2, 1], datatype)
        tensor.set_data_from_numpy(values, binary_data=n != 1)
        inputs.append(tensor)
    result = client.infer("churn", inputs[::-1], model_version="candidate")
    assert result.as_numpy("predictions").tolist() == local_predictions(trained["v2"], [ROW, OTHER])


def test_parameters_request_id_and_compressed_bodies(client):
    for compression in (None, "gzip", "deflate"):
        result = client.infer(
            "churn",
            [rows_input(binary=True)],
            request_id="r-1",
            parameters={"method": "predict_proba"},
            request_compression_algorithm=compression,
        )
        assert result.get_response()["id"] == "r-1"
        probabilities = result.as_numpy("predictions")
        assert probabilities.shape == (2, 2) and probabilities.dtype == np.float64
        assert probabilities[0, 1] > 0.5 > probabilities[1, 1]


def test_async_infer(client, trained):
    pending = [client.async_infer("churn", [rows_input(binary=True)]) for _ in range(3)]
    expected = local_predictions(trained["v1"], [ROW, OTHER])
    assert [p.get_result().as_numpy("predictions").tolist() for p in pending] == [expected] * 3


def test_text_tensors_binary_both_ways(registry, serve, tmp_path):
    """BYTES inputs and outputs: each value a 4-byte length and its UTF-8 bytes."""
    folder = tmp_path / "shout"
    folder.mkdir()
    (folder / "predictor.py").write_text(
        "from conveyor.serving.runtimes import Predictor\n"
        "class Shout(Predictor):\n"
        "    def load(self, artifacts_uri):\n"
        "        pass\n"
        "    def predict(self, body):\n"
        "        return [row[0].upper() + '!' for row in body['instances']]\n"
    )
    registry.upload("shout", folder, framework="custom", trusted=True)
    client = triton.InferenceServerClient(serve().url.removeprefix("http://"))
    words = np.array([["héllo"], [""], ["wörld"]], dtype=np.object_)
    tensor = triton.InferInput("words", [3, 1], "BYTES")
    tensor.set_data_from_numpy(words, binary_data=True)
    result = client.infer("shout", [tensor])
    assert result.get_output("predictions")["datatype"] == "BYTES"
    assert result.as_numpy("predictions").tolist() == ["HÉLLO!".encode(), b"!", "WÖRLD!".encode()]
    client.close()


def test_statistics(client):
    client.infer("churn", [rows_input(binary=True)])
    with pytest.raises(InferenceServerException):
        client.infer("churn", [triton.InferInput("x", [1, 2], "FP64")])
    (version_1,) = client.get_inference_statistics("churn", "1")["model_stats"]
    assert (version_1["name"], version_1["version"]) == ("churn", "1")
    assert (version_1["inference_count"], version_1["execution_count"]) == (2, 1)
    stats = version_1["inference_stats"]
    assert stats["success"]["count"] == 1 and stats["success"]["ns"] > 0
    assert stats["fail"]["count"] == 1 and version_1["last_inference"] > 0
    by_model = client.get_inference_statistics("churn")["model_stats"]
    assert [s["version"] for s in by_model] == ["1", "2"]
    assert by_model[1]["execution_count"] == 0
    assert client.get_inference_statistics()["model_stats"] == by_model


def test_repository_index(client):
    client.is_model_ready("churn", "2")
    index = client.get_model_repository_index()
    assert [(e["name"], e["version"], e["state"]) for e in index] == [
        ("churn", "1", "UNAVAILABLE"),
        ("churn", "2", "READY"),
    ]


def test_errors_reach_the_client_as_protocol_errors(client):
    with pytest.raises(InferenceServerException) as unknown:
        client.infer("nobody", [rows_input(binary=True)])
    assert unknown.value.status() == "404" and "no model 'nobody'" in unknown.value.message()
    with pytest.raises(InferenceServerException) as shapeless:
        client.infer("churn", [triton.InferInput("x", [1, 2], "FP64")])
    assert shapeless.value.status() == "400" and "input 'x'" in shapeless.value.message()
    with pytest.raises(InferenceServerException) as beyond:
        client.get_model_metadata("churn", str(2**64))
    assert beyond.value.status() == "404"
