"""The prediction routes' shortcut past Starlette's router (`conveyor.serving.app`): the
requests it takes answer as the router's would, errors included, and the others still
reach the router."""

from __future__ import annotations

import pytest
from serving_support import ROW

from conveyor.errors import UsageError
from conveyor.serving import oip


@pytest.fixture
def server(churn, endpoints, serve):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    return serve()


def infer_body(data):
    return {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": data}]}


def test_predictions_and_their_refusals_answer_as_before(server):
    http = server.client
    predicted = http.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
    assert predicted.status_code == 200
    assert predicted.json()["predictions"] == [1]
    answered = http.post("/v2/models/churn/infer", json=infer_body([3, 80.5, 6]))
    assert answered.status_code == 200
    assert answered.json()["outputs"][0]["data"] == [1]
    versioned = http.post("/v2/models/churn/versions/2/infer", json=infer_body([3, 80.5, 6]))
    assert versioned.json()["outputs"][0]["data"] == [0]
    unknown = http.post("/v2/models/nothing/infer", json=infer_body([3, 80.5, 6]))
    assert unknown.status_code == 404 and "nothing" in unknown.json()["error"]
    missing = http.post("/v1/endpoints/nowhere:predict", json={"instances": [ROW]})
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"


def test_other_methods_and_paths_still_reach_the_router(server):
    http = server.client
    wrong = http.get("/v2/models/churn/infer")
    assert wrong.status_code == 405
    assert wrong.json() == {"error": "GET is not allowed on /v2/models/churn/infer"}
    assert http.post("/v2/models/churn/infer/more", json={}).status_code == 404
    assert http.get("/v2/models/churn").json()["name"] == "churn"


def test_errors_a_handler_lets_through_answer_as_the_router_would(server, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise UsageError("no outputs today")

    monkeypatch.setattr(oip, "encode", refuse)
    refused = server.client.post("/v2/models/churn/infer", json=infer_body([3, 80.5, 6]))
    assert refused.status_code == 400
    assert refused.json() == {"error": "no outputs today"}

    def fail(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(oip, "encode", fail)
    failed = server.client.post("/v2/models/churn/infer", json=infer_body([3, 80.5, 6]))
    assert failed.status_code == 500
    assert failed.json() == {"error": "internal error: RuntimeError: a bug"}
