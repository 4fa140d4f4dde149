"""split_data (random, hash, stratified) and fit_transform, whose preprocessing ends up
inside the trained model so that the model takes raw features."""

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from component_runs import read_json, run_failed, run_ok, write_parquet
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Model

from conveyor.components import (
    compute_statistics,
    fit_transform,
    infer_schema,
    split_data,
    train_model,
)
from conveyor.components._lib import splits


class Splits(NamedTuple):
    random_train: Dataset
    random_eval: Dataset
    hash_train: Dataset
    hash_eval: Dataset
    stratified_train: Dataset
    stratified_eval: Dataset
    random_rows: int


@dsl.pipeline
def split_three_ways(data: str) -> Splits:
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    at_random = split_data(examples=rows.output, eval_fraction=0.2, seed=3)
    by_hash = split_data(examples=rows.output, method="hash", key_column="customer")
    stratified = split_data(
        examples=rows.output, method="stratified", stratify_column="species", eval_fraction=0.2
    )
    return Splits(
        random_train=at_random.outputs["train_data"],
        random_eval=at_random.outputs["eval_data"],
        hash_train=by_hash.outputs["train_data"],
        hash_eval=by_hash.outputs["eval_data"],
        stratified_train=stratified.outputs["train_data"],
        stratified_eval=stratified.outputs["eval_data"],
        random_rows=at_random.outputs["eval_rows"],
    )


def test_random_hash_and_stratified_splits(tmp_path, iris):
    iris = iris.assign(customer=[f"c{i % 40}" for i in range(len(iris))])
    run = run_ok(split_three_ways, {"data": write_parquet(iris, tmp_path / "iris.parquet")})
    read = {
        name: pd.read_parquet(path) for name, path in run.outputs.items() if name != "random_rows"
    }

    assert len(read["random_eval"]) == run.outputs["random_rows"] == 30
    assert len(read["random_train"]) == 120
    together = pd.concat([read["random_train"], read["random_eval"]])
    assert sorted(together.sepal_length) == sorted(iris.sepal_length)

    train_keys, eval_keys = set(read["hash_train"].customer), set(read["hash_eval"].customer)
    assert not train_keys & eval_keys  # a customer's rows stay on one side
    assert train_keys | eval_keys == set(iris.customer)
    assert 0 < len(read["hash_eval"]) < len(iris)

    counts = read["stratified_eval"].species.value_counts()
    assert counts.to_dict() == {"setosa": 10, "versicolor": 10, "virginica": 10}


def test_a_key_keeps_its_side_in_every_span(iris):
    first = iris.assign(customer=[f"c{i}" for i in range(len(iris))])
    later = first.sample(frac=1, random_state=4).iloc[:90]
    _, held_first = splits.split(first, "hash", 0.3, key_column="customer")
    _, held_later = splits.split(later, "hash", 0.3, key_column="customer")
    assert set(held_later.customer) == set(held_first.customer) & set(later.customer)


def test_split_errors_name_the_parameter(tmp_path, iris):
    with pytest.raises(Exception, match="key_column"):
        splits.split(iris, "hash")
    with pytest.raises(Exception, match="method 'sorted'"):
        splits.split(iris, "sorted")
    run = run_failed(
        split_three_ways, {"data": write_parquet(iris, tmp_path / "no-customer.parquet")}
    )
    assert "key_column 'customer' is not a column" in run.error


class Transformed(NamedTuple):
    transform: Artifact
    transformed: Dataset
    model: Model


@dsl.pipeline
def transform_and_train(data: str) -> Transformed:
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    schema = infer_schema(statistics=compute_statistics(examples=rows.output).outputs["statistics"])
    fitted = fit_transform(
        train_data=rows.output, label_column="species", schema=schema.outputs["schema"]
    )
    trained = train_model(
        train_data=rows.output,
        label_column="species",
        estimator="LogisticRegression",
        hyperparameters={"max_iter": 1000},
        transform=fitted.outputs["transform"],
    )
    return Transformed(
        transform=fitted.outputs["transform"],
        transformed=fitted.outputs["transformed_data"],
        model=trained.outputs["model"],
    )


def test_the_transform_is_inside_the_model_which_takes_raw_features(tmp_path, iris):
    run = run_ok(transform_and_train, {"data": write_parquet(iris, tmp_path / "iris.parquet")})

    transform = Path(run.outputs["transform"])
    assert {p.name for p in transform.iterdir()} == {"transform.skops", "transform.json"}
    config = read_json(transform / "transform.json")
    assert [f["name"] for f in config["features"]] == [
        "sepal_length", "sepal_width", "petal_length", "petal_width", "colour",
    ]  # fmt: skip
    assert config["categories"] == {"colour": ["blue", "green", "red"]}

    transformed = pd.read_parquet(run.outputs["transformed"])
    assert list(transformed.columns) == [
        "sepal_length", "sepal_width", "petal_length", "petal_width",
        "colour_blue", "colour_green", "colour_red", "species",
    ]  # fmt: skip
    assert transformed.sepal_length.mean() == pytest.approx(0, abs=1e-9)  # scaled
    assert transformed.sepal_length.std(ddof=0) == pytest.approx(1)
    # Missing colours were imputed with the most frequent one: every row has one colour.
    assert (transformed[["colour_blue", "colour_green", "colour_red"]].sum(axis=1) == 1).all()

    folder = Path(run.outputs["model"])
    assert {p.name for p in folder.iterdir()} == {"model.skops", "schema.json", "model_info.json"}
    assert read_json(folder / "schema.json") == [
        {"name": "sepal_length", "type": "float"},
        {"name": "sepal_width", "type": "float"},
        {"name": "petal_length", "type": "float"},
        {"name": "petal_width", "type": "float"},
        {"name": "colour", "type": "string"},
    ]
    path = folder / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert [name for name, _ in model.steps] == ["preprocess", "model"]
    raw = pd.DataFrame(
        {
            "sepal_length": [5.1, 6.7, 7.7],
            "sepal_width": [3.5, 3.0, 3.0],
            "petal_length": [1.4, 5.2, 6.1],
            "petal_width": [0.2, 2.3, 2.3],
            "colour": ["red", None, "purple"],  # missing and never seen: both still predict
        }
    )
    assert list(model.predict(raw)) == ["setosa", "virginica", "virginica"]
    assert np.mean(model.predict(iris.drop(columns=["species"])) == iris.species) > 0.9
