"""Evaluations attached to versions: metrics, slices, source runs. SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest

from conveyor.registry import InvalidEvaluation, VersionNotFound
from conveyor.store.metadata import NotFound


@pytest.fixture
def two(registry, make_model):
    registry.upload("churn", make_model("v1"), framework="sklearn")
    registry.upload("churn", make_model("v2"), framework="sklearn", aliases=["candidate"])
    return registry


def test_an_evaluation_is_attached_to_a_version(two, store):
    store.create_run("eval-1", "evaluate")
    start = datetime.now(UTC)
    metrics = {"auc": 0.91, "accuracy": 0.88, "confusion": [[50, 3], [4, 43]]}
    evaluation = two.add_evaluation("churn", "candidate", metrics, run_id="eval-1")
    assert (evaluation.model, evaluation.version_id) == ("churn", 2)
    assert evaluation.metrics == metrics
    assert evaluation.slice is None
    assert evaluation.run_id == "eval-1"
    assert evaluation.created_by == "alice"
    assert evaluation.created_at >= start
    assert two.list_evaluations("churn@2") == [evaluation]
    assert two.list_evaluations("churn", 1) == []


def test_slices_and_listing_across_versions(two):
    overall = two.add_evaluation("churn", 1, {"auc": 0.85})
    france = two.add_evaluation("churn", 1, {"auc": 0.80}, slice={"country": "FR"})
    newer = two.add_evaluation("churn@2", None, {"auc": 0.9}, slice={"country": "FR", "new": True})
    assert france.slice == {"country": "FR"}
    assert two.list_evaluations("churn", 1) == [overall, france]
    assert two.list_evaluations("churn") == [overall, france, newer]
    assert newer.to_json()["slice"] == {"country": "FR", "new": True}


@pytest.mark.parametrize(
    ("metrics", "slice", "message"),
    [
        ({}, None, "metrics must be a non-empty mapping"),
        ([0.9], None, "metrics must be a non-empty mapping"),
        ({"auc": float("nan")}, None, "metric 'auc' cannot be stored as JSON"),
        ({"auc": {1, 2}}, None, "metric 'auc' cannot be stored as JSON"),
        ({3: 0.9}, None, "metric names must be non-empty strings"),
        ({"auc": 0.9}, {}, "a slice is a non-empty mapping"),
        ({"auc": 0.9}, "country=FR", "a slice is a non-empty mapping"),
        (
            {"auc": 0.9},
            {"country": ["FR"]},
            "slice value of 'country' must be a string, number or boolean",
        ),
        ({"auc": 0.9}, {"x": float("inf")}, "slice value of 'x'"),
    ],
)
def test_bad_evaluations_are_refused(two, metrics, slice, message):
    with pytest.raises(InvalidEvaluation, match=message):
        two.add_evaluation("churn", 1, metrics, slice=slice)
    assert two.list_evaluations("churn") == []


def test_an_evaluation_needs_an_existing_version_and_run(two):
    with pytest.raises(VersionNotFound, match="has no version 5"):
        two.add_evaluation("churn", 5, {"auc": 0.9})
    with pytest.raises(NotFound, match="no run 'nope'"):
        two.add_evaluation("churn", 1, {"auc": 0.9}, run_id="nope")
    assert two.list_evaluations("churn") == []
