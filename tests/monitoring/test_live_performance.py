"""Live performance: labels joined to the predictions the real logger wrote, by request id
and position, within the job's window and version; metrics equal scikit-learn's on the same
arrays; thresholds alert the right way; too few labels are insufficient data; the
objective is checked when a monitor is created or changed."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sklearn import metrics as skm
from test_feedback import START, log_requests

from conveyor.monitoring import Monitors, MonitorUsageError, Objective
from conveyor.monitoring.performance import live_performance
from conveyor.monitoring.records import ModelPerformanceSpec, PerformanceMetric, Task
from conveyor.store.artifacts import ArtifactStore

END = START + timedelta(hours=1)


@pytest.fixture
def artifacts(tmp_path) -> ArtifactStore:
    return ArtifactStore.open(str(tmp_path / "artifacts"), local_dir=tmp_path)


@pytest.fixture
def live(monitors, artifacts) -> Monitors:
    return Monitors(monitors.store, monitors.registry, artifacts=artifacts)


def values(results) -> dict[str, float | None]:
    return {r.metric.value: r.value for r in results}


def classes_case(live, artifacts, *, min_samples=1, thresholds=None):
    """60 two-instance requests in the window (version 1), with labels for all but the
    last 10 requests; one more request outside the window and one of version 2, both
    labelled wrong, which must not count."""
    rng = np.random.default_rng(3)
    predicted = rng.choice(["churn", "stay"], (60, 2))
    truth = np.where(rng.random((60, 2)) < 0.7, predicted, rng.choice(["churn", "stay"], (60, 2)))
    log_requests(live.store, artifacts, [(f"q{i}", list(p)) for i, p in enumerate(predicted)])
    log_requests(live.store, artifacts, [("late", ["stay"])], start=END + timedelta(minutes=5))
    log_requests(live.store, artifacts, [("v2", ["stay"])], version=2)
    live.create(
        "churn-live",
        "churn@production",
        tabular_objective={
            "feature_drift_spec": {},
            "model_performance_spec": {"thresholds": thresholds or {}, "min_samples": min_samples},
        },
    )
    rows = [
        {"request_id": f"q{i}", "instance_index": j, "label": str(truth[i, j])}
        for i in range(50)
        for j in range(2)
    ]
    rows += [{"request_id": "late", "label": "churn"}, {"request_id": "v2", "label": "churn"}]
    live.feedback("churn-live", rows)
    return truth[:50].ravel(), predicted[:50].ravel()


def test_classification_metrics_equal_scikit_learns(live, artifacts):
    truth, predicted = classes_case(live, artifacts)

    results = live_performance(
        live.store, live.get("churn-live"), model="churn", version=1, start=START, end=END
    )

    assert {r.count for r in results} == {100}
    found = values(results)
    binary = {"pos_label": "stay", "zero_division": 0}
    expected = {
        "accuracy": skm.accuracy_score(truth, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted),
        "precision": skm.precision_score(truth, predicted, **binary),
        "recall": skm.recall_score(truth, predicted, **binary),
        "f1": skm.f1_score(truth, predicted, **binary),
    }
    assert found == pytest.approx(expected)
    assert 0.5 < found["accuracy"] < 1
    assert not any(r.anomaly or r.insufficient_data for r in results)


def test_thresholds_alert_below_a_floor_and_too_few_labels_are_insufficient(live, artifacts):
    classes_case(live, artifacts, thresholds={"accuracy": 0.99, "f1": 0.01})
    monitor = live.get("churn-live")
    results = {
        r.metric: r
        for r in live_performance(
            live.store, monitor, model="churn", version=1, start=START, end=END
        )
    }
    assert results[PerformanceMetric.ACCURACY].anomaly  # below its floor
    assert results[PerformanceMetric.ACCURACY].threshold == 0.99
    assert not results[PerformanceMetric.F1].anomaly
    assert results[PerformanceMetric.RECALL].threshold is None

    live.update(
        "churn-live",
        tabular_objective={
            "feature_drift_spec": {},
            "model_performance_spec": {"thresholds": {"accuracy": 0.99}, "min_samples": 101},
        },
    )
    scarce = live.live_performance("churn-live", start=START, end=END)
    assert all(r.insufficient_data and r.value is None and not r.anomaly for r in scarce)
    assert {r.count for r in scarce} == {100}


def test_multiclass_metrics_are_macro_averages():
    import pyarrow as pa

    from conveyor.monitoring.performance import evaluate

    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, 300)
    predicted = np.where(rng.random(300) < 0.6, truth, rng.integers(0, 4, 300))
    results = evaluate(ModelPerformanceSpec(), pa.array(truth), pa.array(predicted), 1)
    macro = {"average": "macro", "zero_division": 0}
    assert values(results) == pytest.approx(
        {
            "accuracy": skm.accuracy_score(truth, predicted),
            "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted),
            "precision": skm.precision_score(truth, predicted, **macro),
            "recall": skm.recall_score(truth, predicted, **macro),
            "f1": skm.f1_score(truth, predicted, **macro),
        }
    )


def test_regression_metrics_equal_scikit_learns_and_errors_alert_above_a_ceiling(live, artifacts):
    rng = np.random.default_rng(7)
    predicted = rng.normal(10, 3, 80)
    truth = predicted + rng.normal(0, 1, 80)
    log_requests(live.store, artifacts, [(f"n{i}", [float(p)]) for i, p in enumerate(predicted)])
    live.create(
        "churn-live",
        "churn@production",
        tabular_objective={
            "feature_drift_spec": {},
            "model_performance_spec": {"thresholds": {"rmse": 0.5, "r2": 0.1}},
        },
        min_samples=10,
    )
    live.feedback(
        "churn-live", [{"request_id": f"n{i}", "label": float(t)} for i, t in enumerate(truth)]
    )

    results = live.live_performance("churn-live", start=START, end=END + timedelta(hours=1))

    assert values(results) == pytest.approx(
        {
            "mae": skm.mean_absolute_error(truth, predicted),
            "mse": skm.mean_squared_error(truth, predicted),
            "rmse": np.sqrt(skm.mean_squared_error(truth, predicted)),
            "max_error": skm.max_error(truth, predicted),
            "mape": skm.mean_absolute_percentage_error(truth, predicted),
            "r2": skm.r2_score(truth, predicted),
        }
    )
    by_metric = {r.metric.value: r for r in results}
    assert by_metric["rmse"].anomaly and not by_metric["rmse"].higher_is_better
    assert not by_metric["r2"].anomaly
    assert {r.count for r in results} == {80}


def test_no_labels_no_spec_and_labels_sent_as_numbers_for_text_classes(live, artifacts):
    log_requests(live.store, artifacts, [("a", ["1"]), ("b", ["0"])])
    live.create("drift-only", "churn@production")
    assert live.live_performance("drift-only") == []  # the objective is off by default
    live.create(
        "churn-live",
        "churn@production",
        tabular_objective={"model_performance_spec": {"task": "classification"}},
        min_samples=1,
    )
    empty = live.live_performance("churn-live")
    assert {(r.count, r.insufficient_data) for r in empty} == {(0, True)}
    live.feedback("churn-live", [{"request_id": "a", "label": 1}, {"request_id": "b", "label": 1}])
    assert values(live.live_performance("churn-live"))["accuracy"] == 0.5


def test_the_objective_is_checked_when_a_monitor_is_created_or_changed(live):
    made = live.create(
        "churn-live",
        "churn@production",
        tabular_objective={"model_performance_spec": {"thresholds": {"accuracy": 0.8}}},
    )
    spec = made.tabular_objective.model_performance_spec
    assert spec == ModelPerformanceSpec(thresholds={"accuracy": 0.8})
    assert made.tabular_objective.specs() == {}  # the drift objectives are off
    assert Objective.MODEL_PERFORMANCE.spec == "model_performance_spec"
    changed = live.update(
        "churn-live",
        tabular_objective={"model_performance_spec": {"task": "regression", "min_samples": 5}},
    )
    assert changed.tabular_objective.model_performance_spec == ModelPerformanceSpec(
        min_samples=5, task=Task.REGRESSION
    )
    where = "tabular_objective.model_performance_spec"
    for spec, message in [
        ({"thresholds": {"auc": 0.8}}, f"{where}.thresholds: 'auc' is not a live metric"),
        ({"thresholds": {"accuracy": 1.5}}, f"{where}.thresholds.accuracy: 1.5 is not a bound"),
        ({"thresholds": {"rmse": -1}}, f"{where}.thresholds.rmse: -1 is not a bound"),
        ({"thresholds": {"rmse": "3"}}, f"{where}.thresholds.rmse: '3' is not a number"),
        ({"min_samples": 0}, f"{where}.min_samples: 0 is not a count"),
        ({"task": "ranking"}, f"{where}.task: 'ranking' is not a task"),
        ({"task": "regression", "thresholds": {"f1": 0.5}}, f"{where}.thresholds.f1: not a metric"),
        ({"window": "1d"}, f"{where}.window: not a field here"),
        ([], f"{where}: give an object"),
    ]:
        with pytest.raises(MonitorUsageError) as caught:
            live.update("churn-live", tabular_objective={"model_performance_spec": spec})
        assert str(caught.value).startswith(message), str(caught.value)


def test_results_become_metric_rows_of_the_model_performance_objective():
    from conveyor.monitoring.performance import metric_rows
    from conveyor.monitoring.records import PerformanceResult

    result = PerformanceResult(PerformanceMetric.RMSE, 4.0, 3.0, True, False, 80)
    (row,) = metric_rows([result], START, END)
    assert row == {
        "feature": "rmse", "objective": "model_performance", "metric_type": "rmse",
        "value": 4.0, "threshold": 3.0, "chance_level": None, "anomaly": True,
        "insufficient_data": False, "baseline_count": 0, "target_count": 80,
        "window_start": START, "window_end": END, "statistics": None,
    }  # fmt: skip
