"""Classification metrics (a confusion matrix, an ROC curve) as artifact metadata, in the
shape KFP's `ClassificationMetrics` writes and Vertex AI Experiments logs:

    confusionMatrix     {annotationSpecs: [{displayName: label}, ...], rows: [{row: [...]}, ...]}
    confidenceMetrics   [{confidenceThreshold, recall, falsePositiveRate}, ...]

so that a run's logged metrics and a pipeline task's outputs read back the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conveyor.experiments.errors import ExperimentUsageError
from conveyor.experiments.records import ClassificationMetrics
from conveyor.experiments.values import number

TYPE = "system.ClassificationMetrics"
METRICS_TYPE = "system.Metrics"


def metadata_of(
    labels: Sequence[str] | None,
    matrix: Sequence[Sequence[float]] | None,
    fpr: Sequence[float] | None,
    tpr: Sequence[float] | None,
    threshold: Sequence[float] | None,
) -> dict[str, Any]:
    """The artifact metadata of a confusion matrix (`labels` and a square `matrix`, rows the
    true labels) and an ROC curve (`fpr`, `tpr`, `threshold` of one length); either or both."""
    metadata: dict[str, Any] = {}
    if labels is not None or matrix is not None:
        if labels is None or matrix is None:
            raise ExperimentUsageError("a confusion matrix needs both `labels` and `matrix`")
        names = [str(label) for label in labels]
        rows = [[number(v, "a confusion matrix cell") for v in row] for row in matrix]
        if len(rows) != len(names) or any(len(row) != len(names) for row in rows):
            raise ExperimentUsageError(
                f"the confusion matrix must be {len(names)} x {len(names)}, one row and one "
                "column per label"
            )
        metadata["confusionMatrix"] = {
            "annotationSpecs": [{"displayName": name} for name in names],
            "rows": [{"row": row} for row in rows],
        }
    curve = (fpr, tpr, threshold)
    if any(part is not None for part in curve):
        if any(part is None for part in curve):
            raise ExperimentUsageError("an ROC curve needs `fpr`, `tpr` and `threshold`")
        fprs, tprs, thresholds = (
            [number(v, name) for v in part or ()]
            for name, part in zip(("fpr", "tpr", "threshold"), curve, strict=True)
        )
        if not len(fprs) == len(tprs) == len(thresholds):
            raise ExperimentUsageError(
                f"fpr, tpr and threshold must be of one length, not {len(fprs)}, {len(tprs)} "
                f"and {len(thresholds)}"
            )
        metadata["confidenceMetrics"] = [
            {"confidenceThreshold": t, "recall": r, "falsePositiveRate": f}
            for f, r, t in zip(fprs, tprs, thresholds, strict=True)
        ]
    if not metadata:
        raise ExperimentUsageError(
            "nothing to log: give a confusion matrix (`labels`, `matrix`) or an ROC curve "
            "(`fpr`, `tpr`, `threshold`)"
        )
    return metadata


def record_of(artifact_id: int, name: str, metadata: dict[str, Any]) -> ClassificationMetrics:
    matrix = metadata.get("confusionMatrix") or {}
    curve = metadata.get("confidenceMetrics") or []
    return ClassificationMetrics(
        artifact_id=artifact_id,
        display_name=metadata.get("display_name") or name,
        labels=[spec.get("displayName", "") for spec in matrix.get("annotationSpecs", [])],
        matrix=[row["row"] if isinstance(row, dict) else row for row in matrix.get("rows", [])],
        fpr=[point.get("falsePositiveRate") for point in curve],
        tpr=[point.get("recall") for point in curve],
        thresholds=[point.get("confidenceThreshold") for point in curve],
    )


def scalar_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """The numbers of a KFP `Metrics` artifact's metadata (`log_metric` keys)."""
    return {
        key: float(value)
        for key, value in metadata.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
