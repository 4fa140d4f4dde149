"""evaluate_model: classification and regression metrics, slices, and the KFP Metrics and
ClassificationMetrics outputs, checked against scikit-learn on the same rows."""

from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from component_runs import metadata_of, read_json, run_failed, run_ok, write_parquet
from kfp import dsl
from kfp.dsl import Artifact, Model
from sklearn import metrics as skm

from conveyor.components import evaluate_model, fit_transform, split_data, train_model
from conveyor.components._lib import models


class Evaluated(NamedTuple):
    model: Model
    evaluation: Artifact
    metrics: dict
    classification: dict


@dsl.pipeline
def train_and_evaluate(
    data: str,
    label: str,
    estimator: str,
    hyperparameters: dict,
    slice_columns: list,
    positive_class: str = "",
) -> Evaluated:
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    parts = split_data(examples=rows.output, eval_fraction=0.3, seed=1)
    transform = fit_transform(train_data=parts.outputs["train_data"], label_column=label)
    model = train_model(
        train_data=parts.outputs["train_data"],
        label_column=label,
        estimator=estimator,
        hyperparameters=hyperparameters,
        transform=transform.outputs["transform"],
    )
    evaluated = evaluate_model(
        model=model.outputs["model"],
        test_data=parts.outputs["eval_data"],
        slice_columns=slice_columns,
        positive_class=positive_class,
        min_slice_size=5,
    )
    return Evaluated(
        model=model.outputs["model"],
        evaluation=evaluated.outputs["evaluation"],
        metrics=metadata_of(artifact=evaluated.outputs["metrics"]).output,
        classification=metadata_of(artifact=evaluated.outputs["classification_metrics"]).output,
    )


def held_out(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows split_data(eval_fraction=0.3, seed=1) puts in eval_data."""
    from conveyor.components._lib import splits

    return splits.split(frame, "random", 0.3, seed=1)[1]


def test_binary_classification_metrics_curves_and_slices(tmp_path, cancer):
    run = run_ok(
        train_and_evaluate,
        {
            "data": write_parquet(cancer, tmp_path / "cancer.parquet"),
            "label": "malignant",
            "estimator": "LogisticRegression",
            "hyperparameters": {"max_iter": 2000},
            "slice_columns": ["site", "radius"],
        },
    )
    test = held_out(cancer)
    model = models.load(run.outputs["model"])
    predicted = model.predict(test)
    scores = model.predict_proba(test)[:, 1]
    document = read_json(run.outputs["evaluation"])
    found = document["metrics"]
    assert document["task"] == "classification" and document["positive_class"] == 1
    assert found["example_count"] == len(test) == document["rows"]
    assert found["accuracy"] == pytest.approx(skm.accuracy_score(test.malignant, predicted))
    assert found["f1"] == pytest.approx(skm.f1_score(test.malignant, predicted))
    assert found["roc_auc"] == pytest.approx(skm.roc_auc_score(test.malignant, scores))
    assert found["log_loss"] == pytest.approx(skm.log_loss(test.malignant, scores))
    assert found["accuracy"] > 0.85
    assert run.outputs["metrics"] == pytest.approx(found)

    matrix = skm.confusion_matrix(test.malignant, predicted).tolist()
    assert document["confusion_matrix"] == {"labels": ["0", "1"], "matrix": matrix}
    logged = run.outputs["classification"]
    assert [r["row"] for r in logged["confusionMatrix"]["rows"]] == matrix
    assert [s["displayName"] for s in logged["confusionMatrix"]["annotationSpecs"]] == ["0", "1"]
    curve = logged["confidenceMetrics"]
    assert curve[0]["confidenceThreshold"] == 1.0  # the infinite first threshold, capped
    assert curve[-1]["recall"] == 1.0
    assert len(curve) == len(document["roc_curve"]["fpr"])

    slices = document["slices"]
    sites = {s["slice"]["site"]: s for s in slices if "site" in s["slice"]}
    assert set(sites) == {"north", "south"}
    assert sum(s["rows"] for s in sites.values()) == len(test)
    north = test[test.site == "north"]
    north_predicted = model.predict(north)
    assert sites["north"]["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(north.malignant, north_predicted)
    )
    radius = [s for s in slices if "radius" in s["slice"]]
    assert len(radius) == 4  # quartiles of a numeric column with many values
    assert all(s["slice"]["radius"].startswith("[") for s in radius)
    assert sum(s["rows"] for s in radius) == len(test)


def test_multiclass_labels_by_name(tmp_path, iris):
    run = run_ok(
        train_and_evaluate,
        {
            "data": write_parquet(iris, tmp_path / "iris.parquet"),
            "label": "species",
            "estimator": "XGBClassifier",
            "hyperparameters": {"n_estimators": 10},
            "slice_columns": ["colour"],
            "positive_class": "virginica",
        },
    )
    document = read_json(run.outputs["evaluation"])
    assert document["classes"] == ["setosa", "versicolor", "virginica"]
    assert document["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]
    assert np.sum(document["confusion_matrix"]["matrix"]) == document["rows"] == 45
    assert document["metrics"]["accuracy"] > 0.85
    assert {"roc_auc", "log_loss", "f1"} <= set(document["metrics"])
    assert document["roc_curve"]["class"] == "virginica"
    colours = {s["slice"]["colour"] for s in document["slices"]}
    assert {"red", "green", "blue"} <= colours  # and missing colours as a slice of None


def test_regression_metrics(tmp_path, diabetes):
    run = run_ok(
        train_and_evaluate,
        {
            "data": write_parquet(diabetes, tmp_path / "diabetes.parquet"),
            "label": "target",
            "estimator": "Ridge",
            "hyperparameters": {"alpha": 0.5},
            "slice_columns": [],
        },
    )
    test = held_out(diabetes)
    predicted = models.load(run.outputs["model"]).predict(test)
    found = read_json(run.outputs["evaluation"])["metrics"]
    assert found["mae"] == pytest.approx(skm.mean_absolute_error(test.target, predicted))
    assert found["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(test.target, predicted)))
    assert found["r2"] == pytest.approx(skm.r2_score(test.target, predicted))
    assert "mape" in found and "accuracy" not in found
    assert run.outputs["classification"] == {}


def test_a_label_the_data_lacks_fails_the_first_step_that_needs_it(tmp_path, cancer):
    run = run_failed(
        train_and_evaluate,
        {
            "data": write_parquet(cancer, tmp_path / "cancer.parquet"),
            "label": "benign",
            "estimator": "LogisticRegression",
            "hyperparameters": {},
            "slice_columns": [],
        },
    )
    assert run.task("fit-transform").status == "FAILED"
    assert "label column 'benign' is not in the data; it has radius" in run.error
