"""The Open Inference Protocol v2 over HTTP, on registered models by name."""

from __future__ import annotations

import pytest
from serving_support import FEATURES, ROW, local_predictions, wait_for

OTHER = {"tenure": 60, "charges": 20.0, "calls": 0}


@pytest.fixture
def server(churn, serve):
    return serve()


def test_health_and_server_metadata(server):
    assert server.client.get("/v2/health/live").json() == {"live": True}
    ready = server.client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    meta = server.client.get("/v2").json()
    assert meta["name"] == "conveyor"
    assert meta["extensions"] == ["binary_tensor_data", "model_configuration", "statistics"]


def test_model_metadata_and_readiness(server):
    meta = server.client.get("/v2/models/churn")
    assert meta.status_code == 200, meta.text
    assert meta.json() == {
        "name": "churn",
        "versions": ["1", "2"],
        "platform": "sklearn",
        "inputs": [
            {"name": "tenure", "datatype": "INT64", "shape": [-1]},
            {"name": "charges", "datatype": "FP64", "shape": [-1]},
            {"name": "calls", "datatype": "INT64", "shape": [-1]},
        ],
        "outputs": [{"name": "predictions", "datatype": "INT64", "shape": [-1]}],
    }
    ready = server.client.get("/v2/models/churn/versions/2/ready")
    assert (ready.status_code, ready.json()) == (200, {"name": "churn", "ready": True})


def test_infer_with_one_tensor_of_rows(server, trained):
    body = {
        "id": "req-1",
        "inputs": [
            {
                "name": "input-0",
                "shape": [2, 3],
                "datatype": "FP64",
                "data": [3, 80.5, 6, 60, 20.0, 0],
            }
        ],
    }
    answer = server.client.post("/v2/models/churn/infer", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "model_name": "churn",
        "model_version": "1",
        "id": "req-1",
        "parameters": {},
        "outputs": [
            {
                "name": "predictions",
                "shape": [2],
                "datatype": "INT64",
                "data": local_predictions(trained["v1"], [ROW, OTHER]),
            }
        ],
    }


def test_infer_with_one_tensor_per_feature_and_a_version(server, trained):
    rows = [ROW, OTHER]
    inputs = [
        {
            "name": name,
            "shape": [2, 1],
            "datatype": "FP64" if name == "charges" else "INT64",
            "data": [[r[name]] for r in rows],
        }
        for name in reversed(FEATURES)
    ]
    answer = server.client.post("/v2/models/churn/versions/2/infer", json={"inputs": inputs})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["model_version"] == "2" and len(found["id"]) == 32
    assert found["outputs"][0]["data"] == local_predictions(trained["v2"], rows)
    by_alias = server.client.post(
        "/v2/models/churn/versions/candidate/infer", json={"inputs": inputs}
    )
    assert by_alias.json()["model_version"] == "2"


def test_parameters_reach_the_model_and_outputs_have_their_shape(server):
    body = {
        "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [[3, 80.5, 6]]}],
        "parameters": {"method": "predict_proba", "content_type": "np"},
        "outputs": [{"name": "predictions"}],
    }
    answer = server.client.post("/v2/models/churn/infer", json=body)
    assert answer.status_code == 200, answer.text
    output = answer.json()["outputs"][0]
    assert (output["shape"], output["datatype"]) == ([1, 2], "FP64")
    assert output["data"][1] > 0.5


def test_a_standard_client_reads_the_answer(server, trained):
    """What a protocol client does with the answer: rebuild the array from shape, datatype and data."""
    import numpy as np

    body = {
        "inputs": [
            {"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [3, 80.5, 6, 60, 20, 0]}
        ]
    }
    output = server.client.post("/v2/models/churn/infer", json=body).json()["outputs"][0]
    dtype = {"INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_}[output["datatype"]]
    array = np.array(output["data"], dtype=dtype).reshape(output["shape"])
    assert array.tolist() == local_predictions(trained["v1"], [ROW, OTHER])


def test_the_default_version_follows_the_alias(server, churn):
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [3, 80.5, 6]}]}
    assert server.client.post("/v2/models/churn/infer", json=body).json()["model_version"] == "1"
    churn.set_alias("churn", "default", 2)
    wait_for(
        lambda: (
            server.client.post("/v2/models/churn/infer", json=body).json()["model_version"] == "2"
        ),
        "the default version to move",
    )
