"""The fast paths of a prediction request keep the answers of the slow ones: the tensor
checks, the JSON reader's long-integer scan, the shortcut of `conveyor serve`'s app to the
prediction server, and the garbage collector's threshold while a server runs."""

from __future__ import annotations

import gc
import json

import pytest
from serving_support import ROW, start_server

from conveyor.api import app as control
from conveyor.api.server import PREDICTION_PATHS, create_app
from conveyor.serving.http import ApiError, parse_json
from conveyor.serving.service import GC_YOUNG_THRESHOLD, PredictionService
from conveyor.serving.settings import ServerSettings
from conveyor.serving.tensors import tensor_in


def _tensor(data, shape, datatype="FP64"):
    return tensor_in({"name": "x", "shape": shape, "datatype": datatype, "data": data}, 0, None)


def test_nested_data_is_flattened_row_major():
    assert _tensor([[1.5, 2.5], [3.5, 4.5]], [2, 2]).data == [1.5, 2.5, 3.5, 4.5]
    assert _tensor([[[1.0], [2.0]]], [1, 2, 1]).data == [1.0, 2.0]


@pytest.mark.parametrize(
    ("data", "shape", "datatype", "message"),
    [
        ([[1.0, 2.0], 3.0], [2], "FP64", "value 0 is [1.0, 2.0]"),
        ([[1.0, 2.0], [3.0]], [2, 2], "FP64", "so 4 values, but its data holds 3"),
        ([1.0, True], [2], "FP64", "value 1 is true"),
        ([1.0, "2"], [2], "FP64", 'value 1 is "2"'),
        ([1.0, 2**1024], [2], "FP64", "value 1"),
        ([1.0, 1e39], [2], "FP32", "value 1, 1e+39, is beyond its range"),
        ([1, 128], [2], "INT8", "which holds -128 to 127; value 1 is 128"),
    ],
)
def test_values_a_datatype_cannot_hold_are_named(data, shape, datatype, message):
    with pytest.raises(ApiError) as found:
        _tensor(data, shape, datatype)
    assert found.value.status == 400
    assert message in found.value.message


def test_fp64_takes_every_float_and_whole_numbers():
    assert _tensor([1.0, float("inf"), -1e308], [3]).data == [1.0, float("inf"), -1e308]
    assert _tensor([1, 2.5], [2]).data == [1, 2.5]


def test_integers_beyond_64_bits_keep_their_digits():
    big = 2**70
    assert parse_json(json.dumps({"v": [big, 1.5]}).encode()) == {"v": [big, 1.5]}
    # Nineteen digits in a float are read all the same (by json's parser, then).
    text = b'{"v": [0.1234567890123456789, 1]}'
    assert parse_json(text) == {"v": [0.1234567890123456789, 1]}
    assert parse_json(b'{"v": [123456789012345678, 2]}') == {"v": [123456789012345678, 2]}


def test_no_control_route_lies_under_the_prediction_paths(own_home):
    app = control.create_app(own_home)
    paths = [getattr(route, "path", "") for route in app.routes]
    assert paths
    clashes = [p for p in paths if p.startswith(PREDICTION_PATHS) or p == "/v2"]
    assert clashes == []


@pytest.fixture
def combined(settings, churn, endpoints):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    started = []

    def start(**overrides):
        server = ServerSettings.from_env(poll_seconds=0.05, log_flush_seconds=3600.0, **overrides)
        started.append(start_server(create_app(settings, server)))
        return started[-1].client

    yield start
    for running in started:
        running.stop()


def test_predictions_and_their_errors_answer_as_before_through_the_shortcut(combined):
    http = combined()
    answer = http.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
    assert answer.status_code == 200, answer.text
    missing = http.post("/v1/endpoints/nowhere:predict", json={"instances": [ROW]})
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    assert http.get("/v2/nothing").json() == {
        "error": "no route /v2/nothing; see docs/serving.md for the routes"
    }
    assert http.get("/v2").json()["name"] == "conveyor"
    assert "conveyor_prediction_requests_total" in http.get("/metrics").text
    assert http.get("/api/v1/models").status_code == 200


def test_the_token_gate_still_covers_predictions(combined, monkeypatch):
    monkeypatch.setenv("CONVEYOR_API_TOKENS", "read:r-token,predict:p-token")
    http = combined()
    body = {"instances": [ROW]}
    assert http.post("/v1/endpoints/churn-prod:predict", json=body).status_code == 401
    reader = {"Authorization": "Bearer r-token"}
    refused = http.post("/v1/endpoints/churn-prod:predict", json=body, headers=reader)
    assert refused.status_code == 403
    predictor = {"Authorization": "Bearer p-token"}
    answer = http.post("/v1/endpoints/churn-prod:predict", json=body, headers=predictor)
    assert answer.status_code == 200, answer.text


def test_a_running_service_raises_the_young_threshold_then_puts_it_back(own_home):
    before = gc.get_threshold()
    service = PredictionService(own_home, ServerSettings(log_flush_seconds=3600.0))
    service.start()
    try:
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        service.close()
    assert gc.get_threshold() == before
