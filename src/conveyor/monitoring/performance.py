"""Live performance: the model's metrics over a window, once ground truth labels arrived.

The window's logged predictions of one model version (answered with status 200) are
joined to the labels of the model (`conveyor.monitoring.feedback`) by instance id,
`(request_id, instance_index)`; the log is read a file and a batch at a time, only the
columns the join needs, and only the labelled predictions are kept. The metrics are
those the evaluations record (`conveyor.components.evaluation`), computed the same way:

- classes (string, boolean or integer predictions): `accuracy`, `balanced_accuracy`,
  `precision`, `recall`, `f1`, of the greater class when there are two (scikit-learn's
  convention), macro-averaged over the classes seen (labels and predictions) when more;
- numbers (float predictions): `mae`, `mse`, `rmse`, `max_error`, `r2` (two rows or
  more, labels not all equal), `mape` (no label zero).

A metric's threshold (`ModelPerformanceSpec.thresholds`) is a floor for those where
higher is better and a ceiling for the errors; fewer labelled predictions than
`min_samples` is insufficient data, which never alerts.

    results = live_performance(store, monitor, model="churn", version=3,
                               start=window_start, end=window_end)
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from conveyor.monitoring import _predictions
from conveyor.monitoring.feedback import INSTANCE_INDEX, REQUEST_ID, ground_truth, instance_keys
from conveyor.monitoring.records import (
    ModelMonitor,
    ModelPerformanceSpec,
    Objective,
    PerformanceMetric,
    PerformanceResult,
    Task,
)
from conveyor.store.prediction_logs import PREDICTION_VALUE

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from conveyor.store.metadata import MetadataStore

CLASSIFICATION = [m for m in PerformanceMetric if m.classification]
REGRESSION = [m for m in PerformanceMetric if not m.classification]
_LOG_COLUMNS = ["timestamp", "model", "model_version", "status", REQUEST_ID, INSTANCE_INDEX]


def live_performance(
    store: MetadataStore,
    monitor: ModelMonitor,
    *,
    model: str,
    version: int | None,
    start: datetime | None,
    end: datetime | None,
) -> list[PerformanceResult]:
    """The metrics of `model` (`version`, None: every version) over its predictions
    logged in [`start`, `end`) that have a label; [] when the monitor's
    `model_performance_spec` is off."""
    spec = monitor.tabular_objective.model_performance_spec
    if spec is None:
        return []
    truth, predicted = labelled_predictions(
        store, model=model, version=version, start=_utc(start), end=_utc(end)
    )
    least = spec.min_samples or monitor.min_samples
    return evaluate(spec, truth, predicted, least)


def labelled_predictions(
    store: MetadataStore,
    *,
    model: str,
    version: int | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[pa.Array, pa.Array]:
    """The labels and the predictions of the logged instances of the window that have
    one, in the same order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    labels = ground_truth(store, model)
    label_keys = instance_keys(labels)
    truths: list[pa.Array] = []
    predictions: list[pa.Array] = []
    files = _predictions.log_files(store, model, start=start, end=end)
    value = PREDICTION_VALUE
    columns = [*_LOG_COLUMNS, value]
    for _, batch in _predictions.batches(files, columns, {value: "prediction"}):
        batch = _in_window(batch, model, version, start, end)
        column = value if value in batch.schema.names else "prediction"
        if not batch.num_rows or column not in batch.schema.names:
            continue
        found = pc.index_in(instance_keys(batch), value_set=label_keys)
        keep = pc.is_valid(found)
        if not pc.any(keep).as_py():
            continue
        values = batch[column].filter(keep)
        if column == "prediction":
            values = _decoded(values)
        truths.append(labels["label"].take(found.filter(keep)).combine_chunks())
        predictions.append(values)
    if not truths:
        return labels["label"].combine_chunks().slice(0, 0), pa.array([], pa.float64())
    return _concat(truths), _concat(predictions)


def evaluate(
    spec: ModelPerformanceSpec, truth: pa.Array, predicted: pa.Array, min_samples: int
) -> list[PerformanceResult]:
    """The task's metrics of `predicted` against `truth`, with the spec's thresholds."""
    import pyarrow.compute as pc

    present = pc.and_(pc.is_valid(truth), pc.is_valid(predicted))
    truth, predicted = truth.filter(present), predicted.filter(present)
    task = task_of(spec, predicted, truth)
    count = len(truth)
    values: dict[PerformanceMetric, float | None] = {}
    if count >= min_samples and count:
        if task is Task.CLASSIFICATION:
            values = classification(*_classes(truth, predicted))
        else:
            values = regression(_floats(truth), _floats(predicted))
    results = []
    for metric in CLASSIFICATION if task is Task.CLASSIFICATION else REGRESSION:
        value = values.get(metric)
        threshold = spec.thresholds.get(metric.value)
        anomaly = (
            value is not None
            and threshold is not None
            and (value < threshold if metric.higher_is_better else value > threshold)
        )
        results.append(
            PerformanceResult(
                metric=metric,
                value=value,
                threshold=threshold,
                anomaly=anomaly,
                insufficient_data=count < min_samples,
                count=count,
            )
        )
    return results


def task_of(spec: ModelPerformanceSpec, predicted: pa.Array, truth: pa.Array) -> Task:
    """The spec's task; else the one its thresholds' metrics belong to; else
    classification unless both sides are floats."""
    import pyarrow as pa

    if spec.task is not None:
        return spec.task
    kinds = {PerformanceMetric(m).classification for m in spec.thresholds}
    if len(kinds) == 1:
        return Task.CLASSIFICATION if kinds.pop() else Task.REGRESSION
    if pa.types.is_floating(predicted.type) and (
        pa.types.is_floating(truth.type) or pa.types.is_integer(truth.type) or not len(truth)
    ):
        return Task.REGRESSION
    return Task.CLASSIFICATION


def classification(
    truth: np.ndarray, predicted: np.ndarray
) -> dict[PerformanceMetric, float | None]:
    """Accuracy, balanced accuracy, and precision, recall and F1 of the greater class of
    two, macro-averaged over more (as scikit-learn computes them, 0 where undefined)."""
    import numpy as np

    classes = np.union1d(truth, predicted)
    tp = np.array([np.sum((truth == c) & (predicted == c)) for c in classes], float)
    actual = np.array([np.sum(truth == c) for c in classes], float)
    guessed = np.array([np.sum(predicted == c) for c in classes], float)
    precision = np.divide(tp, guessed, out=np.zeros_like(tp), where=guessed > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    pick = slice(-1, None) if len(classes) <= 2 else slice(None)
    return {
        PerformanceMetric.ACCURACY: float(np.mean(truth == predicted)),
        PerformanceMetric.BALANCED_ACCURACY: float(np.mean(recall[actual > 0])),
        PerformanceMetric.PRECISION: float(np.mean(precision[pick])),
        PerformanceMetric.RECALL: float(np.mean(recall[pick])),
        PerformanceMetric.F1: float(np.mean(f1[pick])),
    }


def regression(truth: np.ndarray, predicted: np.ndarray) -> dict[PerformanceMetric, float | None]:
    """The errors, R2 (None for fewer than two rows or constant labels) and MAPE (None
    when a label is 0)."""
    import numpy as np

    error = predicted - truth
    mse = float(np.mean(error**2))
    spread = float(np.sum((truth - truth.mean()) ** 2))
    found: dict[PerformanceMetric, float | None] = {
        PerformanceMetric.MAE: float(np.mean(np.abs(error))),
        PerformanceMetric.MSE: mse,
        PerformanceMetric.RMSE: math.sqrt(mse),
        PerformanceMetric.MAX_ERROR: float(np.max(np.abs(error))),
        PerformanceMetric.R2: 1 - float(np.sum(error**2)) / spread
        if len(truth) > 1 and spread > 0
        else None,
        PerformanceMetric.MAPE: float(np.mean(np.abs(error) / np.abs(truth)))
        if not np.any(truth == 0)
        else None,
    }
    return {k: v if v is None or math.isfinite(v) else None for k, v in found.items()}


def metric_rows(
    results: list[PerformanceResult], start: datetime | None, end: datetime | None
) -> list[dict[str, Any]]:
    """`results` as a job's metric rows (`model_monitoring_metrics` columns but ids): the
    metric's name as feature and metric type, objective `model_performance`, the count
    of labelled predictions as `target_count`."""
    return [
        {
            "feature": r.metric.value,
            "objective": Objective.MODEL_PERFORMANCE.value,
            "metric_type": r.metric.value,
            "value": r.value,
            "threshold": r.threshold,
            "chance_level": None,
            "anomaly": r.anomaly,
            "insufficient_data": r.insufficient_data,
            "baseline_count": 0,
            "target_count": r.count,
            "window_start": start,
            "window_end": end,
            "statistics": None,
        }
        for r in results
    ]


# Plumbing


def _in_window(
    batch: pa.RecordBatch,
    model: str,
    version: int | None,
    start: datetime | None,
    end: datetime | None,
) -> pa.RecordBatch:
    import pyarrow as pa
    import pyarrow.compute as pc

    names = batch.schema.names
    keep = pc.equal(batch["model"], model) if "model" in names else None
    conditions = []
    if "status" in names:
        conditions.append(pc.equal(batch["status"], 200))
    if version is not None and "model_version" in names:
        conditions.append(pc.equal(batch["model_version"], version))
    if "timestamp" in names:
        stamp = batch["timestamp"].type
        if start is not None:
            conditions.append(pc.greater_equal(batch["timestamp"], pa.scalar(start, stamp)))
        if end is not None:
            conditions.append(pc.less(batch["timestamp"], pa.scalar(end, stamp)))
    for condition in conditions:
        keep = condition if keep is None else pc.and_(keep, condition)
    return batch if keep is None else batch.filter(keep)


def _decoded(texts: pa.Array) -> pa.Array:
    """A layout 1 file's `prediction` JSON as single values (null where not one)."""
    import json

    import pyarrow as pa

    values = [json.loads(t) if t is not None else None for t in texts.to_pylist()]
    plain = [v if isinstance(v, str | int | float | bool) else None for v in values]
    try:
        return pa.array(plain)
    except (pa.ArrowException, TypeError):
        return pa.array([None if v is None else str(v) for v in plain], pa.string())


def _classes(truth: pa.Array, predicted: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as comparable class values: numbers when both are numbers (1 == 1.0),
    else text (`True` as `true`, 1.0 as `1`)."""
    import numpy as np
    import pyarrow as pa

    def numeric(array: pa.Array) -> bool:
        return pa.types.is_integer(array.type) or pa.types.is_floating(array.type)

    if numeric(truth) and numeric(predicted):
        return _floats(truth), _floats(predicted)
    return np.array(_texts(truth), dtype=object), np.array(_texts(predicted), dtype=object)


def _texts(array: pa.Array) -> list[str]:
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return [text(v) for v in array.to_pylist()]


def _floats(array: pa.Array) -> np.ndarray:
    import numpy as np
    import pyarrow as pa

    try:
        return np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), float)
    except (pa.ArrowException, ValueError):
        return np.array([float("nan")] * len(array))


def _concat(arrays: list[pa.Array]) -> pa.Array:
    import pyarrow as pa

    kinds = {a.type for a in arrays}
    if len(kinds) > 1:
        if all(pa.types.is_integer(k) or pa.types.is_floating(k) for k in kinds):
            arrays = [a.cast(pa.float64()) for a in arrays]
        else:
            arrays = [pa.array(_texts(a), pa.string()) for a in arrays]
    return pa.concat_arrays(arrays)


def _utc(moment: datetime | None) -> datetime | None:
    """A naive time (SQLite gives them back so) as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
