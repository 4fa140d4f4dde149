"""Requests predicted together (`conveyor.serving.batching`): the float arrays that reach
the predict path in one turn of the event loop go to the model in one call, and each
request still gets its own answer, or its own error."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow.compute as pc
import pytest
from serving_support import FEATURES, local_predictions

from conveyor.serving.batching import Batches
from conveyor.serving.prediction_log import prediction_logs, read_prediction_logs
from conveyor.serving.runtimes import InvalidInput
from conveyor.serving.runtimes.sklearn_runtime import SklearnRuntime

ROWS = np.array([[3.0, 80.5, 6.0], [60.0, 20.25, 0.0], [12.5, 45.0, 2.0], [1.0, 99.0, 9.0]])


@pytest.fixture
def runtime(trained):
    """churn v1 without a schema, counting its calls to `predict`."""
    found = SklearnRuntime()
    found.load(trained["v1"])
    found.calls = []
    predict = found.predict

    def counted(instances, parameters=None):
        found.calls.append(len(instances))
        return predict(instances, parameters)

    found.predict = counted
    return found


def alone(runtime, array):
    return SklearnRuntime.predict(runtime, array)


def test_requests_of_one_turn_are_predicted_in_one_call(runtime):
    requests = [ROWS[:1], ROWS[1:3], ROWS[3:]]

    async def together():
        batches = Batches()
        return await asyncio.gather(*(batches.predict(runtime, a) for a in requests))

    answers = asyncio.run(together())
    assert runtime.calls == [4]
    assert answers == [alone(runtime, a) for a in requests]


def test_a_lone_request_is_not_kept_waiting_for_others(runtime):
    async def one_after_another():
        batches = Batches()
        return [await batches.predict(runtime, ROWS[i : i + 1]) for i in range(3)]

    assert asyncio.run(one_after_another()) == [alone(runtime, ROWS[i : i + 1]) for i in range(3)]
    assert runtime.calls == [1, 1, 1]


def test_a_request_the_model_refuses_fails_alone(runtime):
    bad = np.array([[1.0, np.nan, 2.0]])  # LogisticRegression refuses NaN

    async def together():
        batches = Batches()
        calls = (batches.predict(runtime, a) for a in (ROWS[:2], bad, ROWS[2:]))
        return await asyncio.gather(*calls, return_exceptions=True)

    first, refused, last = asyncio.run(together())
    assert first == alone(runtime, ROWS[:2]) and last == alone(runtime, ROWS[2:])
    assert isinstance(refused, InvalidInput) and "NaN" in str(refused)
    assert runtime.calls == [5, 2, 1, 2]  # together, then each alone


def test_a_cancelled_request_leaves_the_others_answered(runtime):
    async def together():
        batches = Batches()
        gone = asyncio.ensure_future(batches.predict(runtime, ROWS[:1]))
        kept = asyncio.ensure_future(batches.predict(runtime, ROWS[1:]))
        await asyncio.sleep(0)  # both wait for the batch
        gone.cancel()
        return await kept

    assert asyncio.run(together()) == alone(runtime, ROWS[1:])


def test_concurrent_requests_to_the_server_each_get_their_own_answer(
    registry, model_copy, trained, serve
):
    registry.upload("plain", model_copy("v1"), framework="sklearn")
    server = serve()
    rng = np.random.default_rng(7)
    requests = [rng.uniform(0, 100, size=(int(rng.integers(1, 9)), 3)) for _ in range(64)]

    def infer(rows):
        body = {
            "inputs": [
                {
                    "name": "x",
                    "shape": list(rows.shape),
                    "datatype": "FP64",
                    "data": rows.ravel().tolist(),
                }
            ]
        }
        answer = server.client.post("/v2/models/plain/infer", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()["outputs"][0]["data"]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(infer, requests))
    for rows, answer in zip(requests, answers, strict=True):
        objects = [dict(zip(FEATURES, row, strict=True)) for row in rows.tolist()]
        assert answer == local_predictions(trained["v1"], objects)


def test_vertex_instances_of_a_float_model_are_answered_and_logged_as_sent(
    registry, model_copy, trained, endpoints, store, serve
):
    """Object or list instances that a runtime would make into the float array it takes
    as it is become that array before the predict path (`rows_of`), so that they are
    batched as OIP tensors are: each request is answered as alone and logged with the
    values sent; rows the runtime refuses are refused and logged as sent."""
    registry.upload("plain", model_copy("v1"), framework="sklearn")
    endpoints.create("plain-ep")
    endpoints.deploy("plain-ep", "plain@1")
    server = serve()
    rng = np.random.default_rng(11)
    requests = [
        [dict(zip(FEATURES, row, strict=True)) for row in rng.uniform(0, 100, (n, 3)).tolist()]
        for n in rng.integers(1, 9, 32)
    ]
    requests[5] = [list(row.values()) for row in requests[5]]  # lists in model order

    def predict(instances):
        answer = server.client.post("/v1/endpoints/plain-ep:predict", json={"instances": instances})
        assert answer.status_code == 200, answer.text
        return answer.json()["predictions"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(predict, requests))
    for instances, answer in zip(requests, answers, strict=True):
        objects = [i if isinstance(i, dict) else dict(zip(FEATURES, i)) for i in instances]
        assert answer == local_predictions(trained["v1"], objects)
    refused = server.client.post(
        "/v1/endpoints/plain-ep:predict", json={"instances": [{"tenure": 1.0, "charges": 2.0}]}
    )
    assert refused.status_code == 400 and "'calls'" in refused.json()["error"]["message"]
    server.stop()

    table = read_prediction_logs(prediction_logs(store, "plain-ep"))
    answered = table.filter(pc.equal(table["status"], 200))
    sent = sorted(
        tuple(i.values()) if isinstance(i, dict) else tuple(i) for r in requests for i in r
    )
    logged = zip(*(answered[f"feature.{f}"].to_pylist() for f in FEATURES), strict=True)
    assert sorted(logged) == sent
    (bad,) = table.filter(pc.equal(table["status"], 400)).to_pylist()
    assert json.loads(bad["instance"]) == {"tenure": 1.0, "charges": 2.0}


def test_array_of_is_the_array_predict_makes_and_refuses_what_predict_refuses(runtime):
    objects = [dict(zip(FEATURES, row, strict=True)) for row in ROWS.tolist()]
    array = runtime.array_of(objects)
    assert array.dtype == np.float64 and np.array_equal(array, ROWS)
    assert runtime.array_of(ROWS.tolist()).tolist() == ROWS.tolist()
    with pytest.raises(InvalidInput, match="'calls'"):
        runtime.array_of([{"tenure": 1.0, "charges": 2.0}])
    runtime.by_name = True  # a model that reads columns by name takes frames, not arrays
    assert runtime.array_of(objects) is None
