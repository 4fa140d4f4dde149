"""validate_model: blessing on value thresholds, on change against a baseline model or a
baseline evaluation, the first model without a baseline, and branching on the outcome."""

from typing import NamedTuple

import pytest
from component_runs import read_json, run_failed, run_ok, write_parquet
from kfp import dsl
from kfp.dsl import Artifact, Model, Output

from conveyor.components import evaluate_model, split_data, train_model, validate_model
from conveyor.components._lib import blessing


@dsl.component
def no_production_model(model: Output[Model]):
    """What a hand-over step gives when no version holds the alias: an empty Model."""
    import os

    os.makedirs(model.path, exist_ok=True)


@dsl.component
def push(word: str) -> str:
    return word


class Blessings(NamedTuple):
    against_model: Artifact
    against_evaluation: Artifact
    first: Artifact
    empty_baseline: Artifact
    blessed: bool


@dsl.pipeline
def bless(
    data: str,
    candidate: str,
    candidate_params: dict,
    baseline: str,
    baseline_params: dict,
    thresholds: dict,
    change_thresholds: dict,
) -> Blessings:
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    parts = split_data(examples=rows.output, method="stratified", stratify_column="malignant")
    train, test = parts.outputs["train_data"], parts.outputs["eval_data"]
    new = train_model(
        train_data=train,
        label_column="malignant",
        estimator=candidate,
        hyperparameters=candidate_params,
    )
    old = train_model(
        train_data=train,
        label_column="malignant",
        estimator=baseline,
        hyperparameters=baseline_params,
    )
    evaluated = evaluate_model(model=new.outputs["model"], test_data=test)
    old_evaluated = evaluate_model(model=old.outputs["model"], test_data=test)
    against_model = validate_model(
        evaluation=evaluated.outputs["evaluation"],
        thresholds=thresholds,
        change_thresholds=change_thresholds,
        baseline_model=old.outputs["model"],
        test_data=test,
    )
    against_evaluation = validate_model(
        evaluation=evaluated.outputs["evaluation"],
        thresholds=thresholds,
        change_thresholds=change_thresholds,
        baseline_evaluation=old_evaluated.outputs["evaluation"],
    )
    first = validate_model(
        evaluation=evaluated.outputs["evaluation"],
        thresholds=thresholds,
        change_thresholds=change_thresholds,
    )
    empty = validate_model(
        evaluation=evaluated.outputs["evaluation"],
        thresholds=thresholds,
        change_thresholds=change_thresholds,
        baseline_model=no_production_model().outputs["model"],
        test_data=test,
    )
    with dsl.If(against_model.outputs["blessed"] == True):  # noqa: E712 (a KFP condition)
        push(word="deploy")
    return Blessings(
        against_model=against_model.outputs["blessing"],
        against_evaluation=against_evaluation.outputs["blessing"],
        first=first.outputs["blessing"],
        empty_baseline=empty.outputs["blessing"],
        blessed=against_model.outputs["blessed"],
    )


GOOD = ("LogisticRegression", {"max_iter": 5000})
WORSE = ("DummyClassifier", {"strategy": "most_frequent"})


def arguments(tmp_path, cancer, candidate, baseline, thresholds=None, change=None) -> dict:
    return {
        "data": write_parquet(cancer.drop(columns=["site"]), tmp_path / "cancer.parquet"),
        "candidate": candidate[0],
        "candidate_params": candidate[1],
        "baseline": baseline[0],
        "baseline_params": baseline[1],
        "thresholds": thresholds or {"accuracy": {"min": 0.5}},
        "change_thresholds": change or {"accuracy": {"tolerance": 0.01}},
    }


def pushed(run) -> bool:
    return any(t.name.endswith("/push") and t.status == "SUCCEEDED" for t in run.tasks)


def test_a_worse_model_is_not_blessed_and_not_pushed(tmp_path, cancer):
    run = run_ok(bless, arguments(tmp_path, cancer, candidate=WORSE, baseline=GOOD))
    assert run.outputs["blessed"] is False
    assert not pushed(run)
    document = read_json(run.outputs["against_model"])
    assert document["blessed"] is False
    change = next(c for c in document["checks"] if c["kind"] == "change")
    assert change["passed"] is False
    assert change["candidate"] < change["baseline"] - 0.2
    assert "against the baseline's" in document["reason"] and "is worse by" in document["reason"]
    assert document["baseline"]["source"] == "model"
    assert document["baseline"]["uri"].endswith("model")
    # The baseline's own evaluation on the same rows gives the same decision.
    via_evaluation = read_json(run.outputs["against_evaluation"])
    assert via_evaluation["blessed"] is False
    assert via_evaluation["baseline"]["metrics"] == pytest.approx(document["baseline"]["metrics"])


def test_the_first_model_is_blessed_on_value_thresholds_alone(tmp_path, cancer):
    run = run_ok(bless, arguments(tmp_path, cancer, candidate=WORSE, baseline=GOOD))
    for name in ("first", "empty_baseline"):
        document = read_json(run.outputs[name])
        assert document["blessed"] is True, name
        assert document["baseline"] is None
        assert document["reason"].startswith("no baseline")
        assert [c["passed"] for c in document["checks"]] == [True, None]


def test_a_better_model_is_blessed_and_pushed(tmp_path, cancer):
    run = run_ok(
        bless,
        arguments(
            tmp_path,
            cancer,
            candidate=GOOD,
            baseline=WORSE,
            thresholds={"accuracy": {"min": 0.85}, "log_loss": {"max": 1.0}},
            change={"roc_auc": {"min_improvement": 0.1}, "log_loss": {"tolerance": 0.0}},
        ),
    )
    assert run.outputs["blessed"] is True
    assert pushed(run)
    document = read_json(run.outputs["against_model"])
    assert document["reason"] == "every threshold holds"
    assert len(document["checks"]) == 4 and all(c["passed"] for c in document["checks"])


def test_a_value_threshold_alone_can_refuse(tmp_path, cancer):
    run = run_ok(
        bless,
        arguments(
            tmp_path,
            cancer,
            candidate=GOOD,
            baseline=WORSE,
            thresholds={"accuracy": {"min": 0.999}},
        ),
    )
    assert run.outputs["blessed"] is False
    assert "below the minimum 0.999" in read_json(run.outputs["first"])["reason"]


def test_a_threshold_on_a_metric_the_evaluation_lacks_fails_the_task(tmp_path, cancer):
    run = run_failed(
        bless,
        arguments(
            tmp_path, cancer, candidate=GOOD, baseline=WORSE, thresholds={"auc": {"min": 0.8}}
        ),
    )
    assert "the thresholds name auc, which the candidate's evaluation does not have" in run.error


def test_change_rules_relative_and_lower_is_better():
    baseline = {"rmse": 10.0, "custom": 1.0}
    verdict = blessing.bless({"rmse": 10.4}, None, {"rmse": {"relative_tolerance": 0.05}}, baseline)
    assert verdict["blessed"] is True
    verdict = blessing.bless({"rmse": 10.6}, None, {"rmse": {"relative_tolerance": 0.05}}, baseline)
    assert verdict["blessed"] is False and "worse by 0.6" in verdict["reason"]
    verdict = blessing.bless(
        {"rmse": 9.0}, None, {"rmse": {"min_relative_improvement": 0.1}}, baseline
    )
    assert verdict["blessed"] is True
    with pytest.raises(Exception, match='add "direction"'):
        blessing.bless({"custom": 2.0}, None, {"custom": {"tolerance": 0}}, baseline)
    verdict = blessing.bless(
        {"custom": 0.5}, None, {"custom": {"tolerance": 0, "direction": "lower"}}, baseline
    )
    assert verdict["blessed"] is True
    assert (
        blessing.bless({"accuracy": 0.5})["reason"] == "no thresholds: every candidate is blessed"
    )
