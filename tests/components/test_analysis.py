"""compute_statistics, infer_schema and validate_data through conveyor.run: statistics of
real data, the inferred schema, schema violations, drift on shifted data, and branching."""

from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from component_runs import read_json, run_failed, run_ok, write_parquet
from kfp import dsl
from kfp.dsl import Artifact

from conveyor.components import compute_statistics, infer_schema, validate_data
from conveyor.components._lib import anomalies


class Analysed(NamedTuple):
    statistics: Artifact
    schema: Artifact
    anomalies: Artifact
    valid: bool
    anomaly_count: int


@dsl.pipeline
def analyse(
    training: str,
    serving: str,
    numeric_threshold: float = 0.3,
    fail_on_anomalies: bool = False,
) -> Analysed:
    """Statistics and schema of the training data, then the serving data validated against
    both (training statistics as the baseline)."""
    train = dsl.importer(artifact_uri=training, artifact_class=dsl.Dataset, reimport=False)
    new = dsl.importer(artifact_uri=serving, artifact_class=dsl.Dataset, reimport=False)
    train_stats = compute_statistics(examples=train.output)
    schema = infer_schema(statistics=train_stats.outputs["statistics"])
    new_stats = compute_statistics(examples=new.output)
    checked = validate_data(
        statistics=new_stats.outputs["statistics"],
        schema=schema.outputs["schema"],
        baseline_statistics=train_stats.outputs["statistics"],
        numeric_threshold=numeric_threshold,
        comparison="skew",
        fail_on_anomalies=fail_on_anomalies,
    )
    return Analysed(
        statistics=train_stats.outputs["statistics"],
        schema=schema.outputs["schema"],
        anomalies=checked.outputs["anomalies"],
        valid=checked.outputs["valid"],
        anomaly_count=checked.outputs["anomaly_count"],
    )


def paths(tmp_path, training: pd.DataFrame, serving: pd.DataFrame) -> dict:
    return {
        "training": write_parquet(training, tmp_path / "training.parquet"),
        "serving": write_parquet(serving, tmp_path / "serving.parquet"),
    }


def test_statistics_schema_and_a_clean_validation(tmp_path, iris):
    shuffled = iris.sample(frac=1, random_state=1)
    run = run_ok(analyse, paths(tmp_path, shuffled.iloc[:100], shuffled.iloc[100:]))
    stats = read_json(run.outputs["statistics"])
    assert stats["num_examples"] == 100
    sepal = stats["features"]["sepal_length"]
    values = shuffled.iloc[:100].sepal_length
    assert sepal["type"] == "float"
    assert sepal["count"] == 100 and sepal["missing"] == 0
    numeric = sepal["numeric"]
    assert numeric["min"] == values.min() and numeric["max"] == values.max()
    assert numeric["mean"] == pytest.approx(values.mean())
    assert numeric["std"] == pytest.approx(values.std())
    assert numeric["quantiles"][5] == pytest.approx(values.median())
    assert len(numeric["quantiles"]) == 11
    assert sum(numeric["histogram"]["counts"]) == 100
    assert len(numeric["histogram"]["edges"]) == 21
    colour = stats["features"]["colour"]
    assert colour["type"] == "string"
    assert colour["missing"] == shuffled.iloc[:100].colour.isna().sum() > 0
    assert colour["categorical"]["unique"] == 3
    top = colour["categorical"]["top_values"][0]
    assert top["count"] == shuffled.iloc[:100].colour.value_counts().iloc[0]

    schema = {f["name"]: f for f in read_json(run.outputs["schema"])["features"]}
    assert schema["species"] == {
        "name": "species",
        "type": "string",
        "required": True,
        "domain": {"values": ["setosa", "versicolor", "virginica"]},
    }
    assert schema["colour"]["required"] is False
    assert schema["sepal_length"] == {"name": "sepal_length", "type": "float", "required": True}

    assert run.outputs["valid"] is True
    assert run.outputs["anomaly_count"] == 0
    report = read_json(run.outputs["anomalies"])
    assert report["anomalies"] == []
    assert report["comparison"] == "skew"
    assert report["distances"]["sepal_length"]["measure"] == "jensen_shannon_divergence"
    assert report["distances"]["species"]["measure"] == "l_infinity"
    assert all(not d["exceeded"] for d in report["distances"].values())


def test_schema_violations_are_anomalies(tmp_path, iris):
    serving = iris.drop(columns=["petal_width"]).copy()
    serving["sepal_width"] = serving["sepal_width"].astype(str)  # a type change
    serving.loc[:4, "species"] = "daisy"  # out of the domain
    serving.loc[:2, "sepal_length"] = np.nan  # missing values in a required feature
    serving["extra"] = 1  # a column the schema does not know
    run = run_ok(analyse, paths(tmp_path, iris, serving))
    assert run.outputs["valid"] is False
    found = {(a["feature"], a["kind"]) for a in read_json(run.outputs["anomalies"])["anomalies"]}
    assert {
        ("petal_width", "missing_column"),
        ("sepal_width", "type_change"),
        ("species", "out_of_domain"),
        ("sepal_length", "missing_values"),
        ("extra", "new_column"),
    } <= found
    assert run.outputs["anomaly_count"] == len(found)


def test_fail_on_anomalies_fails_the_task_and_names_them(tmp_path, iris):
    serving = iris.copy()
    serving.loc[:4, "species"] = "daisy"
    run = run_failed(analyse, {**paths(tmp_path, iris, serving), "fail_on_anomalies": True})
    assert run.task("validate-data").status == "FAILED"
    assert "1 data anomalies" in run.error and "species out_of_domain" in run.error


def test_shifted_data_is_detected_as_skew(tmp_path):
    rng = np.random.default_rng(0)
    training = pd.DataFrame(
        {"amount": rng.normal(50, 10, 2000), "channel": rng.choice(["web", "shop"], 2000)}
    )
    same = pd.DataFrame(
        {"amount": rng.normal(50, 10, 2000), "channel": rng.choice(["web", "shop"], 2000)}
    )
    shifted = pd.DataFrame(
        {
            "amount": rng.normal(80, 10, 2000),
            "channel": rng.choice(["web", "shop"], 2000, p=[0.9, 0.1]),
        }
    )
    calm = run_ok(analyse, paths(tmp_path / "calm", training, same))
    assert calm.outputs["valid"] is True
    drifted = run_ok(analyse, paths(tmp_path / "shifted", training, shifted))
    assert drifted.outputs["valid"] is False
    report = read_json(drifted.outputs["anomalies"])
    assert {(a["feature"], a["kind"]) for a in report["anomalies"]} == {
        ("amount", "skew"),
        ("channel", "skew"),
    }
    assert report["distances"]["amount"]["value"] > 0.3
    assert report["distances"]["channel"]["value"] == pytest.approx(0.4, abs=0.05)
    relaxed = run_ok(
        analyse, {**paths(tmp_path / "relaxed", training, shifted), "numeric_threshold": 0.99}
    )
    kinds = {a["feature"] for a in read_json(relaxed.outputs["anomalies"])["anomalies"]}
    assert kinds == {"channel"}


@dsl.component
def say(word: str) -> str:
    return word


@dsl.pipeline
def gate(training: str, serving: str):
    train = dsl.importer(artifact_uri=training, artifact_class=dsl.Dataset, reimport=False)
    new = dsl.importer(artifact_uri=serving, artifact_class=dsl.Dataset, reimport=False)
    train_stats = compute_statistics(examples=train.output)
    schema = infer_schema(statistics=train_stats.outputs["statistics"])
    checked = validate_data(
        statistics=compute_statistics(examples=new.output).outputs["statistics"],
        schema=schema.outputs["schema"],
    )
    with dsl.If(checked.outputs["valid"] == True):  # noqa: E712 (a KFP condition)
        say(word="train")
    with dsl.Else():
        say(word="stop")


def ran(run) -> set[str]:
    """The `say` tasks that ran."""
    return {t.name.rsplit("/", 1)[-1] for t in run.tasks if t.status == "SUCCEEDED"} & {
        "say",
        "say-2",
    }


def test_a_pipeline_branches_on_the_outcome(tmp_path, iris):
    good = run_ok(gate, paths(tmp_path / "good", iris, iris))
    assert ran(good) == {"say"}
    bad = run_ok(gate, paths(tmp_path / "bad", iris, iris.drop(columns=["colour"])))
    assert ran(bad) == {"say-2"}


def test_distances_on_known_distributions():
    same = {"edges": [0.0, 1.0, 2.0], "counts": [5, 5]}
    assert anomalies.jensen_shannon(same, same) == pytest.approx(0.0)
    apart = {"edges": [10.0, 11.0, 12.0], "counts": [5, 5]}
    assert anomalies.jensen_shannon(same, apart) == pytest.approx(1.0)
    # Half the mass overlaps: JS = 0.5 in base 2.
    shifted = {"edges": [1.0, 2.0, 3.0], "counts": [5, 5]}
    assert anomalies.jensen_shannon(same, shifted) == pytest.approx(0.5)
    before = {"count": 10, "categorical": {"values": {"a": 5, "b": 5}}}
    after = {"count": 10, "categorical": {"values": {"a": 2, "b": 5, "c": 3}}}
    assert anomalies.l_infinity(before, after) == pytest.approx(0.3)
