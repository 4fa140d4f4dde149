"""XGBoost and LightGBM runtimes: every file format, named features, frames."""

from __future__ import annotations

import joblib
import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost

from conveyor.serving.runtimes import InvalidInput, MissingModelFile, UntrustedModel, load_model
from conveyor.serving.runtimes.lightgbm_runtime import LightGBMRuntime
from conveyor.serving.runtimes.xgboost_runtime import XGBoostRuntime

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]  # as conftest.named


@pytest.fixture(scope="module")
def booster(tabular):
    x, y = tabular
    data = xgboost.DMatrix(x, label=y, feature_names=FEATURES)
    return xgboost.train({"objective": "binary:logistic", "max_depth": 3}, data, 15)


@pytest.mark.parametrize("name", ["model.bst", "model.json", "model.ubj"])
def test_xgboost_formats_predict_as_the_booster(tmp_path, tabular, booster, name):
    x, _ = tabular
    if name == "model.bst":  # what Booster.save_model("model.bst") writes, without its warning
        (tmp_path / name).write_bytes(booster.save_raw("ubj"))
    else:
        booster.save_model(tmp_path / name)
    runtime = load_model(tmp_path)
    assert isinstance(runtime, XGBoostRuntime)
    expected = booster.predict(xgboost.DMatrix(x, feature_names=FEATURES)).tolist()
    assert runtime.predict(x.tolist()) == expected
    assert runtime.predict(x[:1].tolist()) == expected[:1]
    assert type(runtime.predict(x[:1].tolist())[0]) is float
    assert runtime.feature_names == tuple(FEATURES)
    records = [dict(zip(FEATURES[::-1], row[::-1], strict=True)) for row in x.tolist()]
    assert runtime.predict(records) == expected
    assert runtime.predict_array(x).tolist() == expected
    frame = pd.DataFrame(x, columns=FEATURES)[FEATURES[::-1]]
    assert runtime.predict_frame(frame).tolist() == expected


def test_xgboost_without_feature_names(tmp_path, tabular):
    x, y = tabular
    booster = xgboost.train({"objective": "reg:squarederror"}, xgboost.DMatrix(x, label=y), 5)
    booster.save_model(tmp_path / "model.json")
    runtime = load_model(tmp_path, framework="xgboost")
    assert runtime.feature_names is None and runtime.n_features == 4
    assert runtime.predict(x[:3].tolist()) == booster.predict(xgboost.DMatrix(x[:3])).tolist()
    with pytest.raises(InvalidInput, match="instance 0 has 5 values; the model takes 4"):
        runtime.predict([[0.0] * 5])
    assert runtime.metadata()["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}]


def test_xgboost_missing_values_are_null(tmp_path, tabular, booster):
    x, _ = tabular
    booster.save_model(tmp_path / "model.json")
    runtime = load_model(tmp_path)
    row = [None, *x[0, 1:].tolist()]
    with_nan = np.array([[np.nan, *x[0, 1:]]])
    expected = booster.predict(xgboost.DMatrix(with_nan, feature_names=FEATURES)).tolist()
    assert runtime.predict([row]) == expected


def test_xgboost_sklearn_estimator_pickle_needs_trust_and_the_framework(tmp_path, tabular):
    x, y = tabular
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(x, y)
    joblib.dump(model, tmp_path / "model.joblib")
    with pytest.raises(UntrustedModel, match="model.joblib is a pickle"):
        load_model(tmp_path, framework="xgboost")
    runtime = load_model(tmp_path, framework="xgboost", trusted=True)
    assert isinstance(runtime, XGBoostRuntime)
    assert runtime.predict(x.tolist()) == model.predict_proba(x)[:, 1].tolist()


def test_lightgbm_text_model_predicts_as_the_booster(tmp_path, tabular, named):
    x, y = tabular
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": 7, "verbose": -1}, lightgbm.Dataset(named, y), 15
    )
    booster.save_model(tmp_path / "model.txt")
    runtime = load_model(tmp_path)
    assert isinstance(runtime, LightGBMRuntime)
    expected = booster.predict(x).tolist()
    assert runtime.predict(x.tolist()) == expected
    assert runtime.predict(named.to_dict(orient="records")) == expected
    assert runtime.predict_frame(named[FEATURES[::-1]]).tolist() == expected
    with pytest.raises(InvalidInput, match="instance 0 is missing feature 'petal_width'"):
        runtime.predict([{k: 1.0 for k in FEATURES[:3]}])


def test_lightgbm_multiclass_gives_a_list_per_row(tmp_path, tabular):
    x, _ = tabular
    y = np.digitize(x[:, 0], [-0.5, 0.5])
    booster = lightgbm.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1}, lightgbm.Dataset(x, y), 5
    )
    booster.save_model(tmp_path / "model.txt")
    runtime = load_model(tmp_path)
    predictions = runtime.predict(x[:2].tolist())
    assert predictions == booster.predict(x[:2]).tolist()
    assert len(predictions[0]) == 3
    assert runtime.outputs() == [{"name": "predictions", "datatype": "FP64", "shape": [-1, 3]}]


@pytest.mark.parametrize(
    ("params", "shape"),
    [
        ({"objective": "binary:logistic"}, [-1]),
        ({"objective": "multi:softprob", "num_class": 3}, [-1, 3]),
        ({"objective": "multi:softmax", "num_class": 3}, [-1]),
    ],
)
def test_xgboost_outputs_are_declared_as_predicted(tmp_path, tabular, params, shape):
    """What the metadata declares is what predictions are: FP32, one value or k per row."""
    x, _ = tabular
    y = np.digitize(x[:, 0], [-0.5, 0.5]) if "num_class" in params else x[:, 0] > 0
    xgboost.train(params, xgboost.DMatrix(x, label=y), 3).save_model(tmp_path / "model.json")
    runtime = load_model(tmp_path)
    assert runtime.outputs() == [{"name": "predictions", "datatype": "FP32", "shape": shape}]
    assert np.asarray(runtime.predict_array(x[:2])).shape[1:] == tuple(shape[1:])


def test_named_framework_without_its_file(tmp_path, tabular, booster):
    booster.save_model(tmp_path / "model.json")
    with pytest.raises(MissingModelFile, match="no lightgbm model file: expected one of model.txt"):
        load_model(tmp_path, framework="lightgbm")
