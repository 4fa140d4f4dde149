"""scikit-learn runtime: skops (trusted types), joblib and pickle, arrays, objects, frames."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conveyor.serving.runtimes import (
    InvalidInput,
    SchemaMismatch,
    UntrustedModel,
    load_model,
)
from conveyor.serving.runtimes.sklearn_runtime import SklearnRuntime

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]  # as conftest.named


@pytest.fixture(scope="module")
def logistic(tabular):
    x, y = tabular
    return LogisticRegression().fit(x, y)


def test_skops_logistic_regression_predicts_as_sklearn(tmp_path, tabular, logistic):
    skops.io.dump(logistic, tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    x, _ = tabular
    assert isinstance(runtime, SklearnRuntime)
    assert runtime.file.name == "model.skops"
    assert runtime.predict(x.tolist()) == logistic.predict(x).tolist()
    assert runtime.predict(x[:1].tolist()) == [int(logistic.predict(x[:1])[0])]
    assert type(runtime.predict(x[:1].tolist())[0]) is int
    proba = runtime.predict(x[:5].tolist(), {"method": "predict_proba"})
    assert proba == logistic.predict_proba(x[:5]).tolist()
    assert runtime.predict_array(x).tolist() == logistic.predict(x).tolist()


def test_method_parameter_must_exist_on_the_model(tmp_path, tabular):
    x, y = tabular
    skops.io.dump(LinearRegression().fit(x, y), tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    with pytest.raises(InvalidInput, match=r"'predict_proba' is not available.*use one of predict"):
        runtime.predict(x[:1].tolist(), {"method": "predict_proba"})


def test_objects_are_ordered_by_feature_names_in(tmp_path, tabular, named):
    x, y = tabular
    model = LogisticRegression().fit(named, y)
    skops.io.dump(model, tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    assert runtime.feature_names == tuple(FEATURES)
    assert not runtime.by_name  # a plain estimator is fed arrays, the fast path
    shuffled = [dict(reversed(list(row.items()))) for row in named.to_dict(orient="records")]
    assert runtime.predict(shuffled) == model.predict(named).tolist()
    assert runtime.predict(x.tolist()) == model.predict(named).tolist()
    assert runtime.predict_frame(named[FEATURES[::-1]]).tolist() == model.predict(named).tolist()


def test_object_instances_name_the_missing_or_unknown_feature(tmp_path, tabular, named):
    _, y = tabular
    skops.io.dump(LogisticRegression().fit(named, y), tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    row = named.iloc[0].to_dict()
    missing = {k: v for k, v in row.items() if k != "petal_width"}
    with pytest.raises(InvalidInput, match="instance 1 is missing feature 'petal_width'") as err:
        runtime.predict([row, missing])
    assert err.value.feature == "petal_width" and err.value.instance == 1
    with pytest.raises(InvalidInput, match="instance 0 has unknown feature 'colour'"):
        runtime.predict([{**row, "colour": "red"}])
    with pytest.raises(InvalidInput, match="instance 0 has 3 values; the model takes 4"):
        runtime.predict([[1.0, 2.0, 3.0]])
    with pytest.raises(InvalidInput, match="'sepal_width' of instance 0 is string"):
        runtime.predict([[1.0, "wide", 3.0, 4.0]])
    with pytest.raises(InvalidInput, match="instance 1 is an object but instance 0 is an array"):
        runtime.predict([[1.0, 2.0, 3.0, 4.0], row])
    with pytest.raises(InvalidInput, match="instances is empty"):
        runtime.predict([])


def test_arrays_without_feature_names_refuse_objects(tmp_path, tabular, logistic):
    skops.io.dump(logistic, tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    with pytest.raises(InvalidInput, match="does not record its feature names"):
        runtime.predict([{"a": 1.0}])


def test_column_transformer_pipeline_on_objects(tmp_path, mixed):
    frame, y = mixed
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("scale", StandardScaler(), ["age", "income"]),
                        ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                    ]
                ),
            ),
            ("classify", LogisticRegression()),
        ]
    ).fit(frame, y)
    skops.io.dump(pipeline, tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    assert runtime.by_name
    records = frame.to_dict(orient="records")
    expected = pipeline.predict(frame).tolist()
    assert runtime.predict(records) == expected
    assert runtime.predict(frame[["age", "income", "city"]].values.tolist()) == expected
    one = pd.DataFrame([{"age": 30, "income": 1.0, "city": "nice"}])
    assert (
        runtime.predict([{"city": "nice", "income": 1.0, "age": 30}])
        == pipeline.predict(one).tolist()
    )
    assert runtime.predict_frame(frame[["city", "age", "income"]]).tolist() == expected


def test_schema_with_strings_and_frame_model(tmp_path, mixed):
    frame, y = mixed
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [("num", "passthrough", ["age", "income"]), ("city", OneHotEncoder(), ["city"])]
                ),
            ),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame, y)
    skops.io.dump(pipeline, tmp_path / "model.skops")
    schema = [
        {"name": "age", "type": "integer"},
        {"name": "income", "type": "float"},
        {"name": "city", "type": "string"},
    ]
    runtime = load_model(tmp_path, schema=schema)
    assert runtime.predict([{"age": 30, "income": 2.0, "city": "lyon"}]) in ([0], [1])
    with pytest.raises(InvalidInput, match="feature 'age' of instance 0 must be an integer"):
        runtime.predict([{"age": "thirty", "income": 2.0, "city": "lyon"}])
    assert runtime.metadata()["features"] == schema
    assert runtime.metadata()["inputs"][2] == {"name": "city", "datatype": "BYTES", "shape": [-1]}
    with pytest.raises(SchemaMismatch, match="it lacks city; the model does not know town"):
        load_model(tmp_path, schema=[*schema[:2], {"name": "town", "type": "string"}])


def test_random_forest_holds_types_skops_does_not_trust(tmp_path, tabular):
    x, y = tabular
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    skops.io.dump(forest, tmp_path / "model.skops")
    untrusted = skops.io.get_untrusted_types(file=tmp_path / "model.skops")
    assert untrusted  # sklearn.tree._tree.Tree, at the time of writing
    with pytest.raises(UntrustedModel, match=rf"model.skops holds types .*{untrusted[0]}.*trusted"):
        load_model(tmp_path)
    runtime = load_model(tmp_path, trusted=True)
    assert runtime.predict(x.tolist()) == forest.predict(x).tolist()


def test_pickles_load_only_when_trusted(tmp_path, tabular, logistic):
    x, _ = tabular
    joblib.dump(logistic, tmp_path / "model.joblib")
    with pytest.raises(UntrustedModel, match="model.joblib is a pickle: mark the version trusted"):
        load_model(tmp_path)
    assert load_model(tmp_path, trusted=True).predict(x.tolist()) == logistic.predict(x).tolist()

    other = tmp_path / "pkl"
    other.mkdir()
    (other / "model.pkl").write_bytes(pickle.dumps(logistic))
    with pytest.raises(UntrustedModel, match="model.pkl is a pickle.*save it with skops"):
        load_model(other)
    runtime = load_model(other, trusted=True)
    assert runtime.file.name == "model.pkl"
    assert runtime.predict(x[:3].tolist()) == logistic.predict(x[:3]).tolist()


def test_single_feature_instances_may_be_scalars(tmp_path):
    x = np.arange(20, dtype=float).reshape(-1, 1)
    model = LinearRegression().fit(x, 2 * x[:, 0] + 1)
    skops.io.dump(model, tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    assert runtime.predict([3.0, 4.0]) == pytest.approx([7.0, 9.0])
    assert runtime.predict([[3.0]]) == pytest.approx([7.0])


def test_metadata(tmp_path, tabular, named):
    _, y = tabular
    skops.io.dump(LogisticRegression().fit(named, y), tmp_path / "model.skops")
    meta = load_model(tmp_path).metadata()
    assert meta["framework"] == "sklearn" and meta["file"] == "model.skops"
    assert [f["name"] for f in meta["features"]] == FEATURES
    assert meta["inputs"][0] == {"name": "sepal_length", "datatype": "FP64", "shape": [-1]}


@pytest.mark.parametrize(
    ("labels", "datatype", "kind"),
    [
        (lambda y: y, "INT64", int),
        (lambda y: np.where(y == 1, "churn", "stay"), "BYTES", str),
        (lambda y: y == 1, "BOOL", bool),
        (lambda y: y.astype(float), "FP64", float),
    ],
)
def test_a_classifier_declares_the_datatype_of_its_classes(
    tmp_path, tabular, labels, datatype, kind
):
    """Model metadata says what infer answers: a classifier's predictions are its classes."""
    x, y = tabular
    skops.io.dump(LogisticRegression().fit(x, labels(y)), tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    assert runtime.outputs() == [{"name": "predictions", "datatype": datatype, "shape": [-1]}]
    assert {type(p) for p in runtime.predict(x[:5].tolist())} == {kind}


def test_a_regressor_declares_fp64(tmp_path, tabular):
    x, y = tabular
    skops.io.dump(LinearRegression().fit(x, y), tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    assert runtime.outputs() == [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    assert {type(p) for p in runtime.predict(x[:5].tolist())} == {float}


def test_integers_no_float_holds_are_refused_naming_the_feature(tmp_path, tabular, named, mixed):
    _, y = tabular
    skops.io.dump(LogisticRegression().fit(named, y), tmp_path / "model.skops")
    runtime = load_model(tmp_path)
    huge = 10**400
    with pytest.raises(InvalidInput, match="'sepal_width' of instance 1 is an integer of 401"):
        runtime.predict([[1.0, 2.0, 3.0, 4.0], [1.0, huge, 3.0, 4.0]])
    frame = pd.DataFrame({n: [1, huge if n == "petal_width" else 2] for n in FEATURES})
    with pytest.raises(InvalidInput, match="column 'petal_width' does not hold numbers"):
        runtime.predict_frame(frame)
    frame, y = mixed
    text = tmp_path / "text"
    text.mkdir()
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),
            ),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame, y)
    skops.io.dump(pipeline, text / "model.skops")
    schema = [
        {"name": "age", "type": "integer"},
        {"name": "income", "type": "float"},
        {"name": "city", "type": "string"},
    ]
    by_schema = load_model(text, schema=schema, trusted=True)
    with pytest.raises(InvalidInput, match="'income' of instance 0 is an integer of 401"):
        by_schema.predict([{"age": 30, "income": huge, "city": "nice"}])


def test_text_that_is_not_unicode_is_refused_naming_the_feature(tmp_path, mixed):
    """pandas keeps text as UTF-8, which a lone surrogate cannot be."""
    frame, y = mixed
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),
            ),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame, y)
    skops.io.dump(pipeline, tmp_path / "model.skops")
    runtime = load_model(tmp_path, trusted=True)
    assert runtime.by_name
    with pytest.raises(InvalidInput, match="'city' of instance 1 is not valid Unicode") as err:
        runtime.predict([[3, 1.0, "nice"], [3, 1.0, "\ud800"]])
    assert (err.value.feature, err.value.instance) == ("city", 1)


def test_finite_arrays_skip_sklearn_s_check_and_nan_still_reaches_the_model(tmp_path, tabular):
    """Finite float arrays are predicted with `assume_finite` (checked once by the
    runtime); an array with NaN is checked by scikit-learn as usual: a model that takes
    NaN predicts it, one that does not refuses it."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = tabular
    holes = x.copy()
    holes[::7, 1] = np.nan
    model = Pipeline(
        [("scale", StandardScaler()), ("boost", HistGradientBoostingClassifier(max_iter=5))]
    )
    skops.io.dump(model.fit(holes, y), tmp_path / "model.skops")
    runtime = load_model(tmp_path, trusted=True)
    assert runtime.predict_array(x).tolist() == model.predict(x).tolist()
    assert runtime.predict_array(holes).tolist() == model.predict(holes).tolist()
    skops.io.dump(LogisticRegression().fit(x, y), tmp_path / "model.skops")
    with pytest.raises(InvalidInput, match="NaN"):
        load_model(tmp_path).predict(holes[:3])
