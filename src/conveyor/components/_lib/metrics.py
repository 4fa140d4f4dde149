"""Model evaluation: metrics over all rows and over slices, as the evaluation document.

    {"task": "classification", "label": "species", "rows": 50,
     "classes": ["setosa", ...], "positive_class": null,
     "metrics": {"accuracy": 0.96, "precision": 0.96, "recall": 0.96, "f1": 0.96,
                 "log_loss": 0.11, "roc_auc": 0.99, "example_count": 50},
     "confusion_matrix": {"labels": ["setosa", ...], "matrix": [[16, 0, 0], ...]},
     "roc_curve": {"fpr": [...], "tpr": [...], "thresholds": [...], "class": "virginica"},
     "slices": [{"slice": {"colour": "red"}, "rows": 17, "metrics": {...}}, ...]}

Classification: `accuracy`, `precision`, `recall`, `f1` (of the positive class
for two classes, macro-averaged for more), `balanced_accuracy`, and when the
model gives probabilities `log_loss`, `roc_auc` (one-vs-rest macro for more
than two classes) and `average_precision` (two classes). Regression: `mae`,
`mse`, `rmse`, `r2`, `max_error`, and `mape` when no label is zero. Every
document has `example_count`. A metric that a slice cannot define (the AUC of a
slice that holds one class) is left out of that slice.

Slices (TFMA's feature-value slicing): each value of a slice column, or for a
numeric column with more than `max_slice_values` values, its quartiles as
intervals `"[2.5, 4.1)"`. Slices with fewer than `min_slice_size` rows are
left out.

The ROC curve is that of the positive class for two classes; for more, of the
positive class if one is named, else the micro-average over all classes.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from conveyor.components._lib import features as ftypes
from conveyor.components._lib.errors import ComponentError
from conveyor.components._lib.estimators import CLASSIFICATION
from conveyor.components._lib.models import LoadedModel

MAX_CURVE_POINTS = 200
HIGHER_IS_BETTER = {
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
    "average_precision", "r2",
}  # fmt: skip
LOWER_IS_BETTER = {"log_loss", "mae", "mse", "rmse", "mape", "max_error"}


def evaluate(
    model: LoadedModel,
    frame: pd.DataFrame,
    label: str = "",
    positive_class: str = "",
    slice_columns: list[str] | None = None,
    min_slice_size: int = 1,
    max_slice_values: int = 10,
) -> dict[str, Any]:
    """The evaluation document of a model on a frame holding its features and the label."""
    label = label or model.info.get("label", "")
    if not label or label not in frame.columns:
        raise ComponentError(
            f"label column {label!r} is not in the evaluation data; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
    missing = [f for f in model.features if f not in frame.columns]
    if missing:
        raise ComponentError(f"the evaluation data lacks the model's features {', '.join(missing)}")
    for column in slice_columns or []:
        if column not in frame.columns:
            raise ComponentError(f"slice column {column!r} is not in the evaluation data")
    frame = frame[frame[label].notna()].reset_index(drop=True)
    if frame.empty:
        raise ComponentError("the evaluation data has no rows with a label")
    truth = frame[label].to_numpy()
    predicted = model.predict(frame)
    document: dict[str, Any] = {"task": model.task, "label": label, "rows": len(frame)}
    if model.task == CLASSIFICATION:
        classes = model.classes or sorted(pd.unique(np.concatenate([truth, predicted])))
        truth, predicted, classes = _align(truth, predicted, classes)
        probabilities = model.predict_proba(frame)
        positive = _positive(classes, positive_class)
        document.update(classes=classes, positive_class=positive)

        def compute(rows: np.ndarray) -> dict[str, Any]:
            proba = probabilities[rows] if probabilities is not None else None
            return classification(truth[rows], predicted[rows], proba, classes, positive)

        document["metrics"] = compute(np.arange(len(frame)))
        matrix = skm.confusion_matrix(truth, predicted, labels=classes)
        document["confusion_matrix"] = {
            "labels": [str(c) for c in classes],
            "matrix": matrix.tolist(),
        }
        if probabilities is not None:
            document["roc_curve"] = roc_curve(truth, probabilities, classes, positive)
    else:
        values = truth.astype(float)

        def compute(rows: np.ndarray) -> dict[str, Any]:
            return regression(values[rows], predicted[rows])

        document["metrics"] = compute(np.arange(len(frame)))
    document["slices"] = [
        {"slice": {column: key}, "rows": len(rows), "metrics": compute(rows)}
        for column in slice_columns or []
        for key, rows in slices(frame[column], max_slice_values)
        if len(rows) >= max(1, min_slice_size)
    ]
    return document


def classification(
    truth: np.ndarray,
    predicted: np.ndarray,
    probabilities: np.ndarray | None,
    classes: list[Any],
    positive: Any,
) -> dict[str, float]:
    binary = len(classes) == 2
    averaging = {"average": "binary", "pos_label": positive} if binary else {"average": "macro"}
    found: dict[str, float] = {"example_count": float(len(truth))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found["accuracy"] = skm.accuracy_score(truth, predicted)
        found["balanced_accuracy"] = skm.balanced_accuracy_score(truth, predicted)
        for name, score in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            found[name] = score(
                truth, predicted, labels=None if binary else classes, zero_division=0, **averaging
            )
        if probabilities is not None:
            found["log_loss"] = skm.log_loss(truth, probabilities, labels=classes)
            present = set(truth.tolist())
            if binary and len(present) == 2:
                scores = probabilities[:, classes.index(positive)]
                found["roc_auc"] = skm.roc_auc_score(truth == positive, scores)
                found["average_precision"] = skm.average_precision_score(truth == positive, scores)
            elif not binary and present == set(classes):
                found["roc_auc"] = skm.roc_auc_score(
                    truth, probabilities, multi_class="ovr", average="macro", labels=classes
                )
    return {k: float(v) for k, v in found.items() if math.isfinite(float(v))}


def regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    found = {
        "example_count": float(len(truth)),
        "mae": skm.mean_absolute_error(truth, predicted),
        "mse": skm.mean_squared_error(truth, predicted),
        "rmse": math.sqrt(skm.mean_squared_error(truth, predicted)),
        "max_error": skm.max_error(truth, predicted),
    }
    if len(truth) > 1:
        found["r2"] = skm.r2_score(truth, predicted)
    if not np.any(truth == 0):
        found["mape"] = skm.mean_absolute_percentage_error(truth, predicted)
    return {k: float(v) for k, v in found.items() if math.isfinite(float(v))}


def roc_curve(
    truth: np.ndarray, probabilities: np.ndarray, classes: list[Any], positive: Any
) -> dict[str, Any] | None:
    if len(classes) == 2 or positive is not None:
        index = classes.index(positive)
        hits, scores, which = truth == positive, probabilities[:, index], str(positive)
    else:
        hits = (truth[:, None] == np.asarray(classes, dtype=object)[None, :]).ravel()
        scores, which = probabilities.ravel(), "micro-average"
    if hits.all() or not hits.any():
        return None
    fpr, tpr, thresholds = skm.roc_curve(hits, scores)
    thresholds = np.minimum(thresholds, 1.0)  # the first threshold is infinity
    if len(fpr) > MAX_CURVE_POINTS:
        keep = np.unique(np.linspace(0, len(fpr) - 1, MAX_CURVE_POINTS).round().astype(int))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    return {
        "class": which,
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": thresholds.tolist(),
    }


def slices(column: pd.Series, max_values: int) -> list[tuple[Any, np.ndarray]]:
    """(slice value, row positions) for each slice of a column; missing values are their own."""
    kind = ftypes.feature_type(column)
    present = column.notna().to_numpy()
    found: list[tuple[Any, np.ndarray]] = []
    if kind in ftypes.NUMERIC and column.nunique() > max_values:
        edges = np.unique(np.quantile(column[present].astype(float), [0, 0.25, 0.5, 0.75, 1]))
        values = column.to_numpy(dtype=float)
        for i, (low, high) in enumerate(itertools.pairwise(edges)):
            last = i == len(edges) - 2
            inside = present & (values >= low) & ((values <= high) if last else (values < high))
            bracket = "]" if last else ")"
            found.append((f"[{low:g}, {high:g}{bracket}", np.flatnonzero(inside)))
    else:
        for value in sorted(pd.unique(column[present]), key=str):
            found.append((_plain(value), np.flatnonzero(present & (column == value).to_numpy())))
    if not present.all():
        found.append((None, np.flatnonzero(~present)))
    return found


def _align(
    truth: np.ndarray, predicted: np.ndarray, classes: list[Any]
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Labels and classes as the same values, in arrays scikit-learn's metrics accept: the
    data may read 1 where the model recorded 1.0, and numpy strings; labels that are not
    all numbers are compared as text."""
    classes = [_key(_plain(c)) for c in classes]
    numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes)
    if not numeric:
        classes = [str(c) for c in classes]

    def convert(values: np.ndarray) -> np.ndarray:
        plain = [_key(_plain(v)) for v in values]
        return np.asarray(plain if numeric else [str(v) for v in plain])

    truth, predicted = convert(truth), convert(predicted)
    unknown = sorted({str(v) for v in truth.tolist()} - {str(c) for c in classes})
    if unknown:
        raise ComponentError(
            f"the evaluation labels hold {', '.join(unknown[:5])}, which the model never saw; "
            f"its classes are {', '.join(map(str, classes))}"
        )
    return truth, predicted, classes


def _key(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _positive(classes: list[Any], positive_class: str) -> Any:
    if positive_class:
        for c in classes:
            if str(c) == positive_class:
                return c
        raise ComponentError(
            f"positive_class {positive_class!r} is not one of the classes "
            f"{', '.join(map(str, classes))}"
        )
    return classes[-1] if len(classes) == 2 else None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def better(metric: str, direction: str = "") -> str:
    """ "higher" or "lower": which way a metric improves (`direction` overrides)."""
    if direction:
        if direction not in ("higher", "lower"):
            raise ComponentError(f"direction {direction!r} of {metric} is not higher or lower")
        return direction
    if metric in HIGHER_IS_BETTER:
        return "higher"
    if metric in LOWER_IS_BETTER:
        return "lower"
    raise ComponentError(
        f"Conveyor does not know whether a higher {metric} is better; "
        'add "direction": "higher" or "lower" to its threshold'
    )
