"""ONNX runtime: scikit-learn models converted with skl2onnx, one input or one per column."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conveyor.serving.runtimes import InvalidInput, load_model
from conveyor.serving.runtimes.onnx_runtime import OnnxRuntime

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]  # as conftest.named


def save(model, folder, *args, **kwargs):
    onnx = to_onnx(model, *args, **kwargs)
    (folder / "model.onnx").write_bytes(onnx.SerializeToString())
    return onnxruntime.InferenceSession(onnx.SerializeToString())


def test_classifier_with_one_input_and_two_outputs(tmp_path, tabular):
    x, y = tabular
    x = x.astype(np.float32)
    model = LogisticRegression().fit(x, y)
    session = save(model, tmp_path, x[:1], options={id(model): {"zipmap": False}})
    label, probabilities = session.run(None, {"X": x})
    runtime = load_model(tmp_path)
    assert isinstance(runtime, OnnxRuntime)
    predictions = runtime.predict(x.tolist())
    assert predictions == [
        {"label": int(a), "probabilities": b} for a, b in zip(label, probabilities.tolist())
    ]
    assert [p["label"] for p in predictions] == model.predict(x).tolist()
    assert runtime.predict(x[:2].tolist(), {"outputs": ["label"]}) == label[:2].tolist()
    with pytest.raises(InvalidInput, match="parameters.outputs .* among label, probabilities"):
        runtime.predict(x[:1].tolist(), {"outputs": ["score"]})
    with pytest.raises(InvalidInput, match="instance 0 has 3 values; the model takes 4"):
        runtime.predict([[1.0, 2.0, 3.0]])
    meta = runtime.metadata()
    assert meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"][1] == {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}


def test_zipmap_output_and_objects_through_a_schema(tmp_path, tabular):
    x, y = tabular
    x = x.astype(np.float32)
    model = LogisticRegression().fit(x, y)
    session = save(model, tmp_path, x[:1])
    schema = [{"name": n, "type": "float"} for n in FEATURES]
    runtime = load_model(tmp_path, schema=schema)
    records = [dict(zip(FEATURES, row, strict=True)) for row in x[:3].tolist()]
    label, probability = session.run(None, {"X": x[:3]})
    assert runtime.predict(records) == [
        {"output_label": int(a), "output_probability": b} for a, b in zip(label, probability)
    ]
    with pytest.raises(InvalidInput, match="instance 0 is missing feature 'petal_width'"):
        runtime.predict([{n: 1.0 for n in FEATURES[:3]}])
    # ZipMap's probabilities are a map per row, which the protocol answers as JSON text.
    assert runtime.outputs() == [
        {"name": "output_label", "datatype": "INT64", "shape": [-1]},
        {"name": "output_probability", "datatype": "BYTES", "shape": [-1]},
    ]
    with pytest.raises(InvalidInput, match="'sepal_width' of instance 0 is an integer of 401"):
        runtime.predict([[1.0, 10**400, 1.0, 1.0]])  # an integer no float holds


def test_regressor_single_output(tmp_path, tabular):
    x, _ = tabular
    x = x.astype(np.float32)
    model = LinearRegression().fit(x, x @ np.array([1.0, 2.0, 3.0, 4.0]))
    session = save(model, tmp_path, x[:1])
    (expected,) = session.run(None, {"X": x})
    runtime = load_model(tmp_path, framework="onnx")
    assert runtime.predict(x.tolist()) == expected.tolist()
    assert runtime.predict_array(x.astype(np.float64)).tolist() == expected.tolist()
    assert np.allclose(runtime.predict_array(x)[:, 0], model.predict(x), atol=1e-4)


def test_pipeline_with_one_input_per_column(tmp_path, mixed):
    frame, y = mixed
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("scale", StandardScaler(), ["age", "income"]),
                        ("city", OneHotEncoder(), ["city"]),
                    ]
                ),
            ),
            ("classify", LogisticRegression()),
        ]
    ).fit(frame, y)
    inputs = [
        ("age", Int64TensorType([None, 1])),
        ("income", FloatTensorType([None, 1])),
        ("city", StringTensorType([None, 1])),
    ]
    session = save(
        pipeline, tmp_path, initial_types=inputs, options={id(pipeline): {"zipmap": False}}
    )
    feed = {
        "age": frame[["age"]].to_numpy(np.int64),
        "income": frame[["income"]].to_numpy(np.float32),
        "city": frame[["city"]].to_numpy(object),
    }
    label, _ = session.run(None, feed)
    runtime = load_model(tmp_path)
    assert runtime.feature_names == ("age", "income", "city")
    records = frame.to_dict(orient="records")
    predictions = runtime.predict(records)
    assert [p["label"] for p in predictions] == label.tolist()
    assert (label == pipeline.predict(frame)).mean() > 0.98  # float32 against float64
    assert runtime.predict(frame.values.tolist()) == predictions
    assert runtime.predict_frame(frame[["city", "income", "age"]]) == predictions
    with pytest.raises(InvalidInput, match="feature 'city' must be a string") as err:
        runtime.predict([{"age": 30, "income": 1.0, "city": 3}])
    assert err.value.feature == "city"
    with pytest.raises(InvalidInput, match="feature 'age' must hold tensor\\(int64\\)"):
        runtime.predict([{"age": "old", "income": 1.0, "city": "nice"}])
    with pytest.raises(InvalidInput, match="feature 'age' must hold tensor\\(int64\\)"):
        runtime.predict([{"age": 2**63, "income": 1.0, "city": "nice"}])  # beyond int64
    assert runtime.metadata()["inputs"][2] == {
        "name": "city",
        "datatype": "BYTES",
        "shape": [-1, 1],
    }
