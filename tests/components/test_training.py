"""train_model and tune_model: scikit-learn, XGBoost and LightGBM by name, saved in the
registry's folder convention, and grid and random search."""

from pathlib import Path
from typing import NamedTuple

import lightgbm
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost
from component_runs import metadata_of, read_json, run_failed, run_ok, write_parquet
from kfp import dsl
from kfp.dsl import Artifact, Model

from conveyor.components import train_model, tune_model
from conveyor.components._lib import models


class Trained(NamedTuple):
    logistic: Model
    boosted: Model
    species: Model
    lgbm: Model
    boosted_metadata: dict


@dsl.pipeline
def train_three_frameworks(cancer: str, iris: str, diabetes: str) -> Trained:
    cancer_rows = dsl.importer(artifact_uri=cancer, artifact_class=dsl.Dataset, reimport=False)
    iris_rows = dsl.importer(artifact_uri=iris, artifact_class=dsl.Dataset, reimport=False)
    diabetes_rows = dsl.importer(artifact_uri=diabetes, artifact_class=dsl.Dataset, reimport=False)
    logistic = train_model(
        train_data=cancer_rows.output,
        label_column="malignant",
        estimator="sklearn.linear_model.LogisticRegression",
        hyperparameters={"max_iter": 5000, "C": 0.5},
    )
    boosted = train_model(
        train_data=cancer_rows.output,
        label_column="malignant",
        estimator="XGBClassifier",
        hyperparameters={"n_estimators": 7, "max_depth": 2},
    )
    species = train_model(
        train_data=iris_rows.output,
        label_column="species",
        estimator="XGBClassifier",
        hyperparameters={"n_estimators": 5},
        feature_columns=["petal_length", "petal_width"],
    )
    lgbm = train_model(
        train_data=diabetes_rows.output,
        label_column="target",
        estimator="LGBMRegressor",
        hyperparameters={"n_estimators": 20, "learning_rate": 0.1},
    )
    return Trained(
        logistic=logistic.outputs["model"],
        boosted=boosted.outputs["model"],
        species=species.outputs["model"],
        lgbm=lgbm.outputs["model"],
        boosted_metadata=metadata_of(artifact=boosted.outputs["model"]).output,
    )


def files_of(folder: str) -> set[str]:
    return {p.name for p in Path(folder).iterdir()}


def test_each_framework_in_its_registry_file(tmp_path, cancer, iris, diabetes):
    numeric = cancer.drop(columns=["site"])
    run = run_ok(
        train_three_frameworks,
        {
            "cancer": write_parquet(numeric, tmp_path / "cancer.parquet"),
            "iris": write_parquet(iris, tmp_path / "iris.parquet"),
            "diabetes": write_parquet(diabetes, tmp_path / "diabetes.parquet"),
        },
    )
    features = numeric.drop(columns=["malignant"])

    logistic = Path(run.outputs["logistic"])
    assert files_of(logistic) == {"model.skops", "schema.json", "model_info.json"}
    estimator = sio.load(logistic / "model.skops")  # a plain estimator needs no trust
    assert estimator.C == 0.5 and estimator.max_iter == 5000
    assert np.mean(estimator.predict(features) == numeric.malignant) > 0.85
    info = read_json(logistic / "model_info.json")
    assert info["framework"] == "sklearn" and info["task"] == "classification"
    assert info["classes"] == [0, 1] and info["label"] == "malignant"
    assert read_json(logistic / "schema.json") == [
        {"name": name, "type": "float"} for name in features.columns
    ]

    boosted = Path(run.outputs["boosted"])
    assert files_of(boosted) == {"model.json", "schema.json", "model_info.json"}
    booster = xgboost.Booster()
    booster.load_model(boosted / "model.json")
    assert booster.num_boosted_rounds() == 7  # 7.0 from JSON became an int
    assert booster.feature_names == list(features.columns)
    predicted = booster.predict(xgboost.DMatrix(features)) > 0.5
    assert np.mean(predicted == numeric.malignant) > 0.85
    metadata = run.outputs["boosted_metadata"]
    assert metadata["framework"] == "xgboost" and metadata["model_file"] == "model.json"
    assert metadata["hyperparameters"] == {"n_estimators": 7, "max_depth": 2}

    species = models.load(run.outputs["species"])
    assert species.classes == ["setosa", "versicolor", "virginica"]
    assert species.features == ["petal_length", "petal_width"]
    assert np.mean(species.predict(iris) == iris.species) > 0.9

    lgbm = Path(run.outputs["lgbm"])
    assert files_of(lgbm) == {"model.txt", "schema.json", "model_info.json"}
    regressor = lightgbm.Booster(model_file=str(lgbm / "model.txt"))
    assert regressor.num_trees() == 20
    rows = diabetes.drop(columns=["target"])
    assert np.corrcoef(regressor.predict(rows), diabetes.target)[0, 1] > 0.7


class Tuned(NamedTuple):
    grid_model: Model
    grid_results: Artifact
    best_params: dict
    best_score: float
    random_results: Artifact


@dsl.pipeline
def tune_two_ways(data: str) -> Tuned:
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    grid = tune_model(
        train_data=rows.output,
        label_column="malignant",
        estimator="RandomForestClassifier",
        search_space={"max_depth": [1, 4], "n_estimators": [10]},
        hyperparameters={"min_samples_leaf": 2},
        cv=3,
    )
    randomly = tune_model(
        train_data=rows.output,
        label_column="malignant",
        estimator="LogisticRegression",
        search_space={"C": {"distribution": "loguniform", "low": 0.001, "high": 10}},
        hyperparameters={"max_iter": 5000},
        method="random",
        n_iter=4,
        scoring="roc_auc",
    )
    return Tuned(
        grid_model=grid.outputs["model"],
        grid_results=grid.outputs["results"],
        best_params=grid.outputs["best_params"],
        best_score=grid.outputs["best_score"],
        random_results=randomly.outputs["results"],
    )


def test_grid_and_random_search(tmp_path, cancer):
    data = write_parquet(cancer.drop(columns=["site"]), tmp_path / "cancer.parquet")
    run = run_ok(tune_two_ways, {"data": data})
    assert run.outputs["best_params"] == {"max_depth": 4, "n_estimators": 10}
    grid = read_json(run.outputs["grid_results"])
    assert grid["method"] == "grid" and grid["scoring"] == "accuracy"
    assert [c["params"]["max_depth"] for c in grid["candidates"]] == [4, 1]  # by rank
    assert grid["best_score"] == pytest.approx(run.outputs["best_score"])
    assert grid["candidates"][0]["mean_score"] == pytest.approx(grid["best_score"])
    info = read_json(Path(run.outputs["grid_model"]) / "model_info.json")
    assert info["hyperparameters"] == {"min_samples_leaf": 2, "max_depth": 4, "n_estimators": 10}
    assert info["untrusted_types"]  # a forest's trees: skops asks for trust, and says which
    randomly = read_json(run.outputs["random_results"])
    assert len(randomly["candidates"]) == 4 and randomly["scoring"] == "roc_auc"
    assert all(0.001 <= c["params"]["C"] <= 10 for c in randomly["candidates"])


@dsl.pipeline
def train_one(data: str, estimator: str, hyperparameters: dict):
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    train_model(
        train_data=rows.output,
        label_column="malignant",
        estimator=estimator,
        hyperparameters=hyperparameters,
    )


@pytest.mark.parametrize(
    ("estimator", "hyperparameters", "columns", "message"),
    [
        ("RandomForestClasifier", {}, [], "did you mean RandomForestClassifier"),
        ("os.system", {}, [], "outside scikit-learn, xgboost and lightgbm"),
        ("Ridge", {"alpah": 1}, ["site"], "Ridge has no hyperparameter alpah; it has alpha"),
        ("LGBMClassifier", {}, [], "site holds strings: fit a transform"),
    ],
)
def test_training_errors_say_what_to_change(
    tmp_path, cancer, estimator, hyperparameters, columns, message
):
    data = write_parquet(cancer.drop(columns=columns), tmp_path / "cancer.parquet")
    run = run_failed(
        train_one, {"data": data, "estimator": estimator, "hyperparameters": hyperparameters}
    )
    assert message in run.error


def test_models_load_what_train_saved_and_refuse_a_bare_folder(tmp_path):
    assert not models.exists(tmp_path)
    with pytest.raises(Exception, match="no model_info.json"):
        models.load(tmp_path)
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    from conveyor.components._lib import training

    prepared = training.setup(frame, "y", "LGBMClassifier")
    trained = training.train(prepared, {"n_estimators": 5, "min_child_samples": 1})
    models.save(tmp_path / "m", trained.fitted, prepared.framework, trained.info())
    loaded = models.load(tmp_path / "m")
    assert loaded.framework == "lightgbm"
    assert loaded.predict_proba(frame).shape == (4, 2)
