"""Every client error over HTTP: the right 4xx, a JSON body that says what to fix (naming
the feature when one is wrong), never a 500, and the server serving on afterwards."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import pandas as pd
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
    wrong_method = server.client.put(PREDICT)
    google(wrong_method, 405, "METHOD_NOT_ALLOWED", "PUT is not allowed")
    assert wrong_method.headers["allow"] == "POST"  # as HTTP requires of a 405
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
    ({"inputs": [tensor("x", [1, 2, 3], datatype={})]}, "datatype {}; use one of BOOL"),
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


DEEP = b"[" * 1900 + b"]" * 1900  # beyond what Python's parser reads, within the limit
HUGE = b"9" * 400
RAW = "/v1/endpoints/churn-prod:rawPredict"

HOSTILE_VERTEX = [
    (PREDICT, b'{"instances": ' + DEEP + b"}", 'field "instances" nests arrays and objects too'),
    (RAW, DEEP, "the request body nests arrays and objects too deeply"),
    (
        PREDICT,
        b'{"instances": [[3, ' + HUGE + b", 6]]}",
        "feature 'charges' of instance 0 is an integer of 400 digits",
    ),
    (
        RAW,
        b'[{"tenure": 3, "charges": 1.0, "calls": ' + HUGE + b"}]",
        "feature 'calls' of instance 0 is an integer of 400 digits",
    ),
    (
        "/v1/endpoints/shop:predict",
        rb'{"instances": [{"age": 3, "income": 1.0, "city": "\ud800"}]}',
        "field instances[0].city is not valid Unicode",
    ),
    (
        "/v1/endpoints/shop:predict",
        rb'{"instances": [{"age": 3, "income": 1.0, "city": "x", "\udc00": 1}]}',
        "a key of field instances[0] is not valid Unicode",
    ),
]
"""Bodies that answered 500 (a RecursionError, an OverflowError, pandas' UnicodeEncodeError)."""


@pytest.fixture
def shop(registry, endpoints, tmp_path):
    """Endpoint `shop`: a model that reads a text column by name (pandas holds it)."""
    import skops.io
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame(
        {"age": [20, 60, 30, 70], "income": [1.0, 2.0, 3.0, 4.0], "city": ["a", "b"] * 2}
    )
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),
            ),
            ("classify", LogisticRegression()),
        ]
    ).fit(frame, [0, 1, 0, 1])
    folder = tmp_path / "shop"
    folder.mkdir()
    skops.io.dump(pipeline, folder / "model.skops")
    registry.upload("shop", folder, framework="sklearn", trusted=True)
    endpoints.create("shop")
    endpoints.deploy("shop", "shop")


@pytest.mark.parametrize(("path", "body", "fragment"), HOSTILE_VERTEX)
def test_vertex_bodies_that_broke_the_server_are_400_naming_the_field(
    shop, server, path, body, fragment
):
    google(server.client.post(path, content=body), 400, "INVALID_ARGUMENT", fragment)


def rows(datatype, data, shape=(1, 3)):
    return {"inputs": [{"name": "x", "shape": list(shape), "datatype": datatype, "data": data}]}


HOSTILE_OIP = [
    (b'{"inputs": ' + DEEP + b"}", 'field "inputs" nests arrays and objects too deeply'),
    (
        b'{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [3, '
        + HUGE
        + b", 6]}]}",
        "input 'x' is FP64, and value 1, 99999999999999999999... (400 characters), is beyond",
    ),
    (rows("INT8", [3, 500, 6]), "input 'x' is INT8, which holds -128 to 127; value 1 is 500"),
    (rows("UINT8", [3, -1, 6]), "input 'x' is UINT8, which holds 0 to 255; value 1 is -1"),
    (rows("INT64", [3, 2**63, 6]), f"holds {-(2**63)} to {2**63 - 1}; value 1 is {2**63}"),
    (rows("FP16", [3, 1e5, 6]), "input 'x' is FP16, and value 1, 100000.0, is beyond its range"),
    (rows("FP32", [3, 1e39, 6]), "input 'x' is FP32, and value 1, 1e+39, is beyond its range"),
    (
        rows("FP64", [], shape=(1, 0)),
        "input 'x' has shape [1, 0]; send one tensor of shape [rows, 3]",
    ),
    (rows("FP64", [], shape=(2**64, 0)), "input 'x' needs a \"shape\""),
    ({"id": 7, **rows("FP64", [3, 1.0, 6])}, '"id" must be a string'),
    (rb'{"id": "\ud800", "inputs": []}', "field id is not valid Unicode"),
    (
        {**rows("FP64", [3, 1.0, 6]), "outputs": [{"name": "predictions", "parameters": 5}]},
        "output 'predictions' has parameters that are not an object",
    ),
    (
        {
            **rows("FP64", [3, 1.0, 6]),
            "outputs": [{"name": "p", "parameters": {"classification": 2}}],
        },
        "output 'p' asks for classification",
    ),
    ({**rows("FP64", [3, 1.0, 6]), "parameters": {"binary_data_output": 1}}, "binary_data_output"),
]
"""Inference bodies that answered 500, or 200 with values their datatype cannot hold."""


@pytest.mark.parametrize(("body", "fragment"), HOSTILE_OIP)
def test_oip_bodies_that_broke_the_server_are_400_naming_the_input(server, body, fragment):
    sent = {"content": body} if isinstance(body, bytes) else {"json": body}
    oip(server.client.post(INFER, **sent), 400, fragment)


def test_text_inputs_that_are_not_unicode_are_400(shop, server):
    body = (
        rb'{"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [3]},'
        rb'{"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]},'
        rb'{"name": "city", "shape": [1], "datatype": "BYTES", "data": ["\ud800"]}]}'
    )
    answer = server.client.post("/v2/models/shop/infer", content=body)
    oip(answer, 400, "field inputs[2].data[0] is not valid Unicode")


@pytest.mark.parametrize(
    "path",
    [
        "/v2/models/churn/versions/{v}",
        "/v2/models/churn/versions/{v}/ready",
        "/v2/models/churn/versions/{v}/config",
        "/v2/models/churn/versions/{v}/stats",
        "/v2/models/churn@{v}",
    ],
)
def test_version_ids_no_store_holds_are_404(server, path):
    oip(server.client.get(path.format(v=2**64)), 404, f"model 'churn' has no version {2**64}")
    url = path.format(v=2**63).removesuffix("/ready").removesuffix("/config")
    if not url.endswith("/stats"):
        oip(server.client.post(url + "/infer", json=rows("FP64", [3, 1.0, 6])), 404)


def binary(header: dict, data: bytes, length: str | None = None):
    text = json.dumps(header).encode()
    return {
        "content": text + data,
        "headers": {"Inference-Header-Content-Length": length or str(len(text))},
    }


def sized(datatype, size, shape=(1, 3), name="x"):
    spec = {"name": name, "shape": list(shape), "datatype": datatype}
    return {"inputs": [{**spec, "parameters": {"binary_data_size": size}}]}


THREE = struct.pack("<3d", 3, 80.5, 6)
BINARY_CASES = [
    (binary(sized("FP64", 24), THREE, "abc"), "Inference-Header-Content-Length header is 'abc'"),
    (binary(sized("FP64", 24), THREE, "9999"), "must be the byte length of the JSON at the start"),
    ({"json": sized("FP64", 24)}, "declares binary data, but the request has no"),
    (binary(sized("FP64", 16), THREE[:16]), "so 24 bytes of binary data, but it declares 16"),
    (binary(sized("FP64", 24), THREE[:8]), "declares 24 bytes of binary data, but the body holds"),
    (binary(sized("FP64", 24), THREE + b"extra"), "holds 5 bytes of binary data that no input"),
    (binary(sized("FP64", -1), b""), "binary_data_size that is not a byte count"),
    (
        binary({"inputs": [{**sized("FP64", 24)["inputs"][0], "data": [1, 2, 3]}]}, THREE),
        "input 'x' has both \"data\" and binary data",
    ),
    (
        binary(sized("BYTES", 5, shape=(1,), name="tenure"), b"\x01\x00\x00\x00\xff"),
        "input 'tenure' has BYTES value 0 that is not UTF-8 text",
    ),
    (
        binary(sized("BYTES", 6, shape=(1,), name="tenure"), b"\x09\x00\x00\x00ab"),
        "input 'tenure' has BYTES data cut short in value 0",
    ),
]


@pytest.mark.parametrize(("request_", "fragment"), BINARY_CASES)
def test_malformed_binary_tensor_data_is_400(server, request_, fragment):
    oip(server.client.post(INFER, **request_), 400, fragment)


def test_compressed_bodies(server):
    body = json.dumps({"instances": [ROW]}).encode()
    for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        answer = server.client.post(PREDICT, content=packed, headers={"Content-Encoding": encoding})
        assert answer.status_code == 200, answer.text
    google(
        server.client.post(PREDICT, content=b"nope", headers={"Content-Encoding": "gzip"}),
        400,
        "INVALID_ARGUMENT",
        "not valid gzip data",
    )
    google(
        server.client.post(PREDICT, content=body, headers={"Content-Encoding": "br"}),
        400,
        "INVALID_ARGUMENT",
        "encoded as 'br'",
    )
    bomb = gzip.compress(b'{"instances": [' + b" " * (100 * LIMIT) + b"]}")
    answer = server.client.post(INFER, content=bomb, headers={"Content-Encoding": "gzip"})
    oip(answer, 413, f"decompresses to more than this server's limit of {LIMIT} bytes")


def test_after_all_that_the_server_still_serves(server):
    for body, _ in VERTEX_CASES:
        assert server.client.post(PREDICT, json=body).status_code < 500
    for body, _ in OIP_CASES:
        assert server.client.post(INFER, json=body).status_code < 500
    for path, body, _ in HOSTILE_VERTEX:
        assert server.client.post(path, content=body).status_code < 500
    for body, _ in HOSTILE_OIP:
        sent = {"content": body} if isinstance(body, bytes) else {"json": body}
        assert server.client.post(INFER, **sent).status_code < 500
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
