"""Experiments, runs and what is logged to them, on SQLite and PostgreSQL: each call checks
everything before it writes, and a refused call leaves nothing half-written."""

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from conveyor.errors import UsageError
from conveyor.experiments import (
    ExperimentConflict,
    ExperimentNotFound,
    ExperimentRunExists,
    ExperimentRunNotFound,
    ExperimentRunState,
    Experiments,
    ExperimentUsageError,
)


@pytest.fixture
def experiments(store):
    return Experiments(store)


@pytest.fixture
def running(experiments):
    experiments.create("churn", description="trees")
    experiments.start_run("churn", "r1", labels={"team": "growth"})
    return experiments


def test_experiments_are_created_listed_and_deleted(experiments):
    made = experiments.create("churn", description="trees")
    assert (made.name, made.description, made.run_count) == ("churn", "trees", 0)
    with pytest.raises(ExperimentConflict, match="exists already"):
        experiments.create("churn")
    assert experiments.create("churn", description="other", exist_ok=True).description == "trees"
    experiments.create("boost")
    experiments.start_run("churn", "a")
    experiments.start_run("churn", "b")
    assert [(e.name, e.run_count) for e in experiments.list()] == [("boost", 0), ("churn", 2)]
    assert experiments.delete("churn") == 2
    with pytest.raises(ExperimentNotFound, match="no experiment 'churn'"):
        experiments.get("churn")
    assert [e.name for e in experiments.list()] == ["boost"]


@pytest.mark.parametrize("name", ["", "has space", "-lead", "x" * 129, "a/b", None])
def test_bad_names_are_refused(experiments, name):
    with pytest.raises(UsageError, match="name"):
        experiments.create(name)


def test_a_run_starts_once_and_resumes(running):
    with pytest.raises(ExperimentRunExists, match="has a run named 'r1' already"):
        running.start_run("churn", "r1")
    with pytest.raises(ExperimentNotFound):
        running.start_run("nope", "r1")
    ended = running.end_run("churn", "r1", "failed")
    assert ended.state == ExperimentRunState.FAILED and ended.ended_at is not None
    again = running.start_run("churn", "r1", resume=True, labels={"try": "2"})
    assert again.state == ExperimentRunState.RUNNING and again.ended_at is None
    assert again.labels == {"team": "growth", "try": "2"}
    with pytest.raises(ExperimentRunNotFound):
        running.start_run("churn", "r9", resume=True)


def test_an_ended_run_refuses_logging_and_keeps_its_values(running):
    running.log_metrics("churn", "r1", {"acc": 0.5})
    running.end_run("churn", "r1")
    for log in (
        lambda: running.log_metrics("churn", "r1", {"acc": 0.9}),
        lambda: running.log_params("churn", "r1", {"lr": 1}),
        lambda: running.log_time_series_metrics("churn", "r1", {"loss": 1.0}),
        lambda: running.end_run("churn", "r1"),
    ):
        with pytest.raises(ExperimentConflict, match=r"has ended \(COMPLETE\).*resume=True"):
            log()
    run = running.get_run("churn", "r1")
    assert run.metrics == {"acc": 0.5} and run.params == {} and run.time_series_metrics == {}
    assert running.time_series("churn", "r1") == {}


def test_a_run_ends_only_in_a_final_state(running):
    with pytest.raises(ExperimentUsageError, match="COMPLETE, FAILED, CANCELLED"):
        running.end_run("churn", "r1", "RUNNING")
    with pytest.raises(ExperimentUsageError):
        running.end_run("churn", "r1", "DONE")


def test_a_param_cannot_change_and_a_refused_batch_writes_nothing(running):
    running.log_params("churn", "r1", {"lr": 0.1, "model": "tree", "deep": True})
    running.log_params("churn", "r1", {"lr": 0.1})  # the same value again: fine
    with pytest.raises(ExperimentUsageError, match="param 'lr' of run 'r1' is 0.1 already"):
        running.log_params("churn", "r1", {"depth": 3, "lr": 0.2})
    assert running.get_run("churn", "r1").params == {"lr": 0.1, "model": "tree", "deep": True}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lr": [1]}, "is a list"),
        ({"lr": math.nan}, "must be finite"),
        ({"": 1}, "key"),
        ({"lr": "x" * 6001}, "6001 characters"),
    ],
)
def test_bad_params_are_refused(running, params, message):
    with pytest.raises(ExperimentUsageError, match=message):
        running.log_params("churn", "r1", params)


def test_metrics_are_numbers_and_keep_nan_and_infinities(running):
    running.log_metrics(
        "churn", "r1", {"acc": 0.9, "n": np.int64(3), "loss": math.nan, "hi": math.inf}
    )
    with pytest.raises(
        ExperimentUsageError, match="metric 'bad' is 'x': a metric must be a number"
    ):
        running.log_metrics("churn", "r1", {"ok": 1.0, "bad": "x"})
    with pytest.raises(ExperimentUsageError, match="metric 'flag' is True"):
        running.log_metrics("churn", "r1", {"flag": True})
    metrics = running.get_run("churn", "r1").metrics
    assert set(metrics) == {"acc", "n", "loss", "hi"}  # nothing of the refused calls
    assert metrics["acc"] == 0.9 and metrics["n"] == 3.0 and metrics["hi"] == math.inf
    assert math.isnan(metrics["loss"])
    running.log_metrics("churn", "r1", {"acc": 0.95})  # a summary metric takes the new value
    assert running.get_run("churn", "r1").metrics["acc"] == 0.95


def test_time_series_steps_default_to_one_past_the_last(running):
    assert running.log_time_series_metrics("churn", "r1", {"loss": 1.0, "acc": 0.1}) == 1
    assert running.log_time_series_metrics("churn", "r1", {"loss": 0.5}) == 2
    assert running.log_time_series_metrics("churn", "r1", {"loss": 0.7}, step=np.int32(10)) == 10
    assert running.log_time_series_metrics("churn", "r1", {"loss": 0.9}, step=4) == 4
    assert running.log_time_series_metrics("churn", "r1", {"acc": math.nan}) == 11
    series = running.time_series("churn", "r1")
    assert [(p.step, p.value) for p in series["loss"]] == [(1, 1.0), (2, 0.5), (4, 0.9), (10, 0.7)]
    assert series["acc"][0].value == 0.1 and math.isnan(series["acc"][1].value)
    last = running.get_run("churn", "r1").time_series_metrics
    assert last["loss"] == 0.7  # the highest step's, not the latest logged
    assert math.isnan(last["acc"])
    ranged = running.time_series("churn", "r1", ["loss"], first_step=2, last_step=4)
    assert [p.step for p in ranged["loss"]] == [2, 4] and set(ranged) == {"loss"}


@pytest.mark.parametrize("step", [1.5, 2.0, "3", True])
def test_a_step_must_be_an_integer(running, step):
    with pytest.raises(ExperimentUsageError, match="is not an integer"):
        running.log_time_series_metrics("churn", "r1", {"loss": 1.0}, step=step)
    assert running.time_series("churn", "r1") == {}


def test_wall_times_are_kept(running):
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    running.log_time_series_metrics("churn", "r1", {"loss": 1.0}, step=1, wall_time=at)
    running.log_time_series_metrics("churn", "r1", {"loss": 1.0}, step=2, wall_time=1e9)
    points = running.time_series("churn", "r1")["loss"]
    assert points[0].wall_time == at
    assert points[1].wall_time == datetime.fromtimestamp(1e9, UTC)
    with pytest.raises(ExperimentUsageError, match="wall_time"):
        running.log_time_series_metrics("churn", "r1", {"loss": 1.0}, wall_time="noon")


def test_points_in_a_batch_and_as_summary(running):
    points = [("loss", 1.0 / (s + 1), s, 1000.0 + s) for s in range(500)]
    running.log_points("churn", "r1", points, as_summary=True)
    with pytest.raises(ExperimentUsageError, match="not an integer"):
        running.log_points("churn", "r1", [("loss", 1.0, 600, 0), ("loss", 1.0, 0.5, 0)])
    series = running.time_series("churn", "r1")["loss"]
    assert len(series) == 500 and series[-1].step == 499
    assert running.get_run("churn", "r1").metrics == {"loss": 1.0 / 500}


def test_classification_metrics_are_an_artifact_of_the_run(running):
    logged = running.log_classification_metrics(
        "churn",
        "r1",
        labels=["stay", "churn"],
        matrix=[[8, 2], [1, 9]],
        fpr=[0.0, 0.2, 1.0],
        tpr=[0.0, 0.9, 1.0],
        threshold=[1.0, 0.5, 0.0],
        display_name="holdout",
    )
    assert running.classification_metrics("churn", "r1") == [logged]
    assert logged.display_name == "holdout" and logged.matrix == [[8.0, 2.0], [1.0, 9.0]]
    assert running.store.get_artifact(logged.artifact_id).type == "system.ClassificationMetrics"
    with pytest.raises(ExperimentUsageError, match="must be 2 x 2"):
        running.log_classification_metrics("churn", "r1", labels=["a", "b"], matrix=[[1, 2]])
    with pytest.raises(ExperimentUsageError, match="of one length"):
        running.log_classification_metrics("churn", "r1", fpr=[0], tpr=[0, 1], threshold=[1])
    with pytest.raises(ExperimentUsageError, match="nothing to log"):
        running.log_classification_metrics("churn", "r1")
    assert len(running.classification_metrics("churn", "r1")) == 1


def _populate(experiments):
    experiments.create("grid")
    for i, (model, lr, acc) in enumerate(
        [("tree", "0.1", 0.7), ("tree", "0.01", 0.9), ("boost", "0.1", 0.8), ("boost", "1", None)]
    ):
        run = f"r{i}"
        experiments.start_run("grid", run, labels={"model": model})
        experiments.log_params("grid", run, {"lr": lr, "model": model})
        if acc is not None:
            experiments.log_metrics("grid", run, {"acc": acc, "loss": 1 - acc})


def test_search_filters_orders_pages_and_projects(experiments):
    _populate(experiments)
    found = experiments.search_runs("grid", filter='metric.acc >= 0.8 and param.model = "tree"')
    assert [r["run_name"] for r in found.runs] == ["r1"] and found.total == 1
    by_acc = experiments.search_runs("grid", order_by="metric.acc DESC")
    assert [r["run_name"] for r in by_acc.runs] == ["r1", "r2", "r0", "r3"]  # missing last
    numbers = experiments.search_runs("grid", filter="param.lr = 0.1", order_by=["run_name"])
    assert [r["run_name"] for r in numbers.runs] == ["r0", "r2"]  # text "0.1" reads as 0.1
    first = experiments.search_runs("grid", order_by="run_name", page_size=3, columns=["metric.*"])
    assert [r["run_name"] for r in first.runs] == ["r0", "r1", "r2"] and first.total == 4
    assert set(first.runs[0]) == {"experiment_name", "run_name", "metric.acc", "metric.loss"}
    rest = experiments.search_runs(
        "grid", order_by="run_name", page_size=3, page_token=first.next_page_token
    )
    assert [r["run_name"] for r in rest.runs] == ["r3"] and rest.next_page_token is None
    labelled = experiments.search_runs("grid", filter="label.model != 'tree'")
    assert {r["run_name"] for r in labelled.runs} == {"r2", "r3"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filter": "metric.acc >> 1"}, "cannot read the filter"),
        ({"filter": "acc > 1"}, "no column 'acc'"),
        ({"filter": "metric.acc > 1 and"}, "ends with `and`"),
        ({"order_by": "weight DESC"}, "no column 'weight'"),
        ({"page_token": "garbage"}, "page_token"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_bad_searches_name_the_problem(experiments, kwargs, message):
    _populate(experiments)
    with pytest.raises(ExperimentUsageError, match=message):
        experiments.search_runs("grid", **kwargs)


def test_deleting_a_run_removes_its_points(running):
    running.log_time_series_metrics("churn", "r1", {"loss": 1.0})
    running.start_run("churn", "r2")
    running.delete_run("churn", "r1")
    with pytest.raises(ExperimentRunNotFound):
        running.get_run("churn", "r1")
    assert [r.run_name for r in running.list_runs("churn")] == ["r2"]
    running.start_run("churn", "r1")  # the name is free again, with no old points
    assert running.time_series("churn", "r1") == {}
