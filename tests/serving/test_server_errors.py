"""Every client error over HTTP: the right 4xx, a JSON body that says what to fix (naming
the feature when one is wrong), never a 500, and the server serving on afterwards."""

from __future__ import annotations

import pytest
from serving_support import ROW

PREDICT = "/v1/endpoints/churn-prod:predict"
INFER = "/v2/models/churn/infer"
LIMIT = 4000


@pytest.fixture
def server(churn, endpoints, serve):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    endpoints.create("empty")
    return serve(max_request_bytes=LIMIT)


def google(answer, status: int, reason: str, *fragments: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (status, reason)
    for fragment in fragments:
        assert fragment in error["message"], error["message"]


def oip(answer, status: int, *fragments: str) -> None:
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    assert isinstance(message, str)
    for fragment in fragments:
        assert fragment in message, message


VERTEX_CASES = [
    ({"instances": [{"tenure": 3, "charges": 80.5}]}, "missing feature 'calls'"),
    ({"instances": [{**ROW, "plan": "gold"}]}, "unknown feature 'plan'"),
    (
        {"instances": [{**ROW, "tenure": "three"}]},
        "feature 'tenure' of instance 0 must be an integer",
    ),
    ({"instances": [ROW, {**ROW, "charges": None}]}, "feature 'charges' of instance 1 is null"),
    ({"instances": [[3, 80.5]]}, "instance 0 has 2 values; the model takes 3 features"),
    ({"instances": []}, "instances is empty"),
    ({"instances": {"tenure": 3}}, "instances must be a list"),
    ({"rows": [ROW]}, 'no "instances"'),
    ({"instances": [ROW], "parameters": [1]}, '"parameters" must be an object'),
    ({"instances": [ROW], "parameters": {"method": "explode"}}, "parameters.method 'explode'"),
    ([ROW], "must be a JSON object"),
]


@pytest.mark.parametrize(("body", "fragment"), VERTEX_CASES)
def test_vertex_input_errors_are_400_naming_what_is_wrong(server, body, fragment):
    google(server.client.post(PREDICT, json=body), 400, "INVALID_ARGUMENT", fragment)


def test_malformed_and_empty_bodies(server):
    bad = server.client.post(
        PREDICT, content=b'{"instances": [', headers={"content-type": "application/json"}
    )
    google(bad, 400, "INVALID_ARGUMENT", "not valid JSON")
    google(server.client.post(PREDICT, content=b""), 400, "INVALID_ARGUMENT", "body is empty")
    google(server.client.post(PREDICT, content=b"\x80abc"), 400, "INVALID_ARGUMENT", "not UTF-8")
    oip(server.client.post(INFER, content=b"{nope"), 400, "not valid JSON")


@pytest.mark.parametrize("size", [LIMIT + 1, 10 * LIMIT, 100 * LIMIT])
def test_oversized_bodies_are_413(server, size):
    body = b'{"instances": [' + b" " * size + b"]}"
    google(server.client.post(PREDICT, content=body), 413, "INVALID_ARGUMENT", f"limit of {LIMIT}")
    oip(server.client.post(INFER, content=body), 413, f"limit of {LIMIT}")


def test_a_chunked_body_over_the_limit_is_413(server):
    chunks = (b" " * 1000 for _ in range(10))
    google(server.client.post(PREDICT, content=chunks), 413, "INVALID_ARGUMENT", "more than")


def test_unknown_endpoints_models_routes_and_methods_are_404(server):
    google(
        server.client.post("/v1/endpoints/nowhere:predict", json={"instances": [ROW]}),
        404,
        "NOT_FOUND",
        "no endpoint 'nowhere'",
    )
    google(
        server.client.post("/v1/endpoints/churn-prod:explain", json={}),
        404,
        "NOT_FOUND",
        ":explain",
    )
    google(server.client.post("/v1/endpoints/churn-prod", json={}), 404, "NOT_FOUND", "no method")
    google(
        server.client.post("/v1/endpoints/churn-prod:deployModel", json={}),
        404,
        "NOT_FOUND",
        "their other methods under /api/v1/endpoints",
    )
    google(server.client.get("/nothing/here"), 404, "NOT_FOUND", "no route /nothing/here")
    google(server.client.put(PREDICT), 405, "METHOD_NOT_ALLOWED", "PUT is not allowed")
    oip(server.client.post("/v2/models/nobody/infer", json={}), 404, "no model 'nobody'")
    oip(server.client.get("/v2/models/churn/versions/9"), 404, "churn")
    oip(server.client.get("/v2/models/churn/versions/gone/ready"), 404)
    oip(server.client.get("/v2/nothing"), 404)


def test_an_endpoint_serving_nothing_says_so(server):
    google(
        server.client.post("/v1/endpoints/empty:predict", json={"instances": [ROW]}),
        400,
        "FAILED_PRECONDITION",
        "no deployed model taking traffic; deploy one",
    )


def tensor(name, data, shape=None, datatype="FP64"):
    return {"name": name, "shape": shape or [len(data)], "datatype": datatype, "data": data}


OIP_CASES = [
    (
        {"inputs": [tensor("tenure", [3]), tensor("charges", [80.5])]},
        "no input for feature 'calls'",
    ),
    (
        {
            "inputs": [
                tensor("tenure", [3]),
                tensor("charges", [1.0]),
                tensor("calls", [6]),
                tensor("plan", [1]),
            ]
        },
        "input 'plan' is not a feature",
    ),
    (
        {
            "inputs": [
                tensor("tenure", ["x"], datatype="BYTES"),
                tensor("charges", [1.0]),
                tensor("calls", [6]),
            ]
        },
        "feature 'tenure' of instance 0 must be an integer",
    ),
    (
        {"inputs": [tensor("tenure", [1.5], datatype="INT64")]},
        "input 'tenure' is INT64, so its data must be whole numbers; value 0 is 1.5",
    ),
    (
        {"inputs": [tensor("x", [1, 2, 3], shape=[2, 3])]},
        "shape [2, 3], so 6 values, but its data holds 3",
    ),
    ({"inputs": [tensor("x", [1, 2], shape=[1, 2])]}, "instance 0 has 2 values; the model takes 3"),
    ({"inputs": [tensor("x", [1, 2, 3], datatype="FLOAT")]}, "datatype 'FLOAT'"),
    ({"inputs": [tensor("x", [1, 2, 3])]}, "send one tensor of shape [rows, 3]"),
    ({"inputs": []}, 'no "inputs"'),
    ({"inputs": [{"shape": [1], "datatype": "FP64", "data": [1]}]}, 'input 0 needs a "name"'),
    ({"inputs": [{"name": "x", "shape": "1", "datatype": "FP64", "data": [1]}]}, 'needs a "shape"'),
    (
        {"inputs": [tensor("x", [3, 80.5, 6], shape=[1, 3])], "outputs": [{"name": "proba"}]},
        "output 'proba' is not one the model gives",
    ),
    ([1, 2], 'must be an object with "inputs"'),
]


@pytest.mark.parametrize(("body", "fragment"), OIP_CASES)
def test_oip_input_errors_are_400_naming_what_is_wrong(server, body, fragment):
    oip(server.client.post(INFER, json=body), 400, fragment)


def test_binary_tensors_are_refused_clearly(server):
    answer = server.client.post(
        INFER, content=b"{}", headers={"Inference-Header-Content-Length": "2"}
    )
    oip(answer, 400, "binary tensor data is not supported")


def test_after_all_that_the_server_still_serves(server):
    for body, _ in VERTEX_CASES:
        assert server.client.post(PREDICT, json=body).status_code < 500
    for body, _ in OIP_CASES:
        assert server.client.post(INFER, json=body).status_code < 500
    answer = server.client.post(PREDICT, json={"instances": [ROW]})
    assert answer.status_code == 200
    assert server.client.get("/v2/health/ready").status_code == 200


def test_a_model_that_cannot_load_is_503_not_a_crash(churn, serve, model_copy):
    folder = model_copy("v1")
    churn.upload("broken", folder, framework="sklearn")
    (folder / "model.skops").write_bytes(b"tampered")
    server = serve()
    oip(server.client.get("/v2/models/broken/ready"), 503, "sha256")
    oip(server.client.post(INFER.replace("churn", "broken"), json={"inputs": []}), 503, "sha256")
    assert server.client.get("/v2/models/churn/ready").status_code == 200
