"""Open Inference Protocol tensors of floats reach the runtime, and the prediction log, as
one float64 array: the same answers, errors and logged rows as the lists they replace."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from serving_support import FEATURES, local_predictions
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conveyor.serving.http import ApiError
from conveyor.serving.inference import decode
from conveyor.serving.prediction_log import (
    Entry,
    layout_of,
    prediction_logs,
    read_prediction_logs,
    to_table,
)
from conveyor.serving.runtimes import InvalidInput
from conveyor.serving.runtimes.sklearn_runtime import SklearnRuntime

ROWS = [[3.0, 80.5, 6.0], [60.0, 20.25, 0.0], [12.5, 45.0, 2.0]]


def body(data, shape, name="x"):
    return {"inputs": [{"name": name, "shape": shape, "datatype": "FP64", "data": data}]}


@pytest.fixture
def runtime(trained):
    """churn v1 without a schema: three float features."""
    found = SklearnRuntime()
    found.load(trained["v1"])
    return found


def test_a_float_tensor_goes_as_one_array_with_the_answers_of_its_lists(runtime):
    flat = [v for row in ROWS for v in row]
    inference = decode(body(flat, [3, 3]), runtime)
    assert isinstance(inference.instances, np.ndarray)
    assert inference.instances.dtype == np.float64
    assert inference.instances.tolist() == ROWS
    assert runtime.predict(inference.instances) == runtime.predict(ROWS)
    nested = decode(body(ROWS, [3, 3]), runtime)
    assert nested.instances.tolist() == ROWS


def test_tensors_a_runtime_would_read_otherwise_go_as_lists(runtime, trained):
    # Whole numbers among the floats: the log keeps them as sent.
    assert decode(body([3, 80.5, 6], [1, 3]), runtime).instances == [[3, 80.5, 6]]
    # A width the model does not take: the runtime's own error, as before.
    short = decode(body([3.0, 80.5], [1, 2]), runtime)
    assert short.instances == [[3.0, 80.5]]
    with pytest.raises(InvalidInput, match="instance 0 has 2 values"):
        runtime.predict(short.instances)
    # A schema with integer features checks each value.
    typed = SklearnRuntime(
        schema=[{"name": n, "type": "integer" if n != "charges" else "float"} for n in FEATURES]
    )
    typed.load(trained["v1"])
    assert isinstance(decode(body([3.0, 80.5, 6.0], [1, 3]), typed).instances, list)

    class Own(SklearnRuntime):
        def predict(self, instances, parameters=None):
            return [len(instances[0])] * len(instances)

    own = Own()
    own.load(trained["v1"])
    assert not own.takes_array(3)
    assert isinstance(decode(body([3.0, 80.5, 6.0], [1, 3]), own).instances, list)


def test_the_runtime_predicts_on_its_own_copy_of_the_array(tmp_path):
    import skops.io

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    # StandardScaler(copy=False) scales its input in place.
    model = make_pipeline(StandardScaler(copy=False), LogisticRegression())
    model.fit(x.copy(), (x[:, 0] > 0).astype(int))
    skops.io.dump(model, tmp_path / "model.skops")
    runtime = SklearnRuntime(trusted=True)
    runtime.load(tmp_path)
    sent = np.array([[5.0, 6.0, 7.0]])
    runtime.predict(sent)
    assert sent.tolist() == [[5.0, 6.0, 7.0]]


def _entry(instances, runtime, status=200):
    answered = status == 200
    return Entry(
        timestamp=1.0,
        request_id="r-1",
        endpoint="",
        deployed_model_id="churn@1",
        model="churn",
        model_version=1,
        protocol="oip",
        instances=instances,
        predictions=[1] * len(instances) if answered else None,
        parameters=None,
        status=status,
        error=None if answered else "the model refused the input",
        runtime=runtime,
    )


def _same(a, b) -> bool:
    """Equal values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_logged_rows_of_an_array_are_those_of_its_lists(runtime):
    rows = [*ROWS, [float("nan"), float("inf"), -0.0]]
    layout = layout_of(runtime)
    as_lists = to_table([_entry(rows, runtime), _entry(rows[:1], runtime, 400)], layout)
    array = np.array(rows)
    as_array = to_table([_entry(array, runtime), _entry(array[:1], runtime, 400)], layout)
    assert as_array.schema.equals(as_lists.schema)
    for got, wanted in zip(as_array.to_pylist(), as_lists.to_pylist(), strict=True):
        assert got.keys() == wanted.keys()
        assert all(_same(got[k], wanted[k]) for k in got), (got, wanted)
    first = as_array.to_pylist()[0]
    assert json.loads(first["instance"]) == dict(zip(FEATURES, ROWS[0], strict=True))


def test_a_served_float_tensor_is_answered_and_logged(registry, model_copy, trained, serve, store):
    registry.upload("plain", model_copy("v1"), framework="sklearn")
    server = serve()
    flat = [v for row in ROWS for v in row]
    answer = server.client.post("/v2/models/plain/infer", json=body(flat, [3, 3]))
    assert answer.status_code == 200, answer.text
    rows = [dict(zip(FEATURES, row, strict=True)) for row in ROWS]
    assert answer.json()["outputs"][0]["data"] == local_predictions(trained["v1"], rows)
    refused = server.client.post("/v2/models/plain/infer", json=body([1.0, 2.0], [1, 2]))
    assert refused.status_code == 400
    server.stop()
    (record,) = prediction_logs(store)
    logged = read_prediction_logs([record]).to_pylist()
    assert [json.loads(r["instance"]) for r in logged[:3]] == rows
    assert [r["feature.charges"] for r in logged[:3]] == [80.5, 20.25, 45.0]
    assert (logged[3]["status"], json.loads(logged[3]["instance"])) == (400, [1.0, 2.0])


def test_a_tensor_of_no_rows_is_still_refused(runtime):
    with pytest.raises((ApiError, InvalidInput)):
        runtime.predict(decode(body([], [0, 3]), runtime).instances)
