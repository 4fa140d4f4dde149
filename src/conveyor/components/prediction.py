"""The batch prediction component: a Dataset through a registered model version (TFX's
BulkInferrer, Vertex AI's batch prediction).

When `model` names an alias (`churn@production`), turn caching off for the task: the
alias may have moved since the cached run.
"""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Dataset, Input, Output

from conveyor.components._component import component


@component
def batch_predict(
    examples: Input[Dataset],
    model: str,
    predictions: Output[Dataset],
    parameters: Optional[dict] = None,
    batch_size: int = 10000,
) -> NamedTuple("Outputs", [("model_version", str), ("rows", int)]):
    """Predict every row of a Dataset with a registered model version.

    Args:
        examples: The rows (Parquet or CSV, or a folder of them); columns other than the
            model's features (ids) pass through.
        model: The version: `churn@3`, `churn@production`, or `churn` (its default).
        predictions: One Parquet file: the rows, then `prediction`, or `predictions` (a
            list per row) when the model gives several values.
        parameters: Passed to the model as a request's parameters:
            {"method": "predict_proba"} for class probabilities.
        batch_size: Rows predicted at once.

    Returns:
        model_version: The version used (`churn@3`), whatever its alias becomes.
        rows: Rows predicted.
    """
    from conveyor.components._lib import prediction

    done = prediction.predict(examples.path, model, predictions.path, parameters, batch_size)
    predictions.metadata.update(
        {"rows": done.rows, "model_version": done.reference, "column": done.column}
    )
    print(f"PREDICTED {done.rows} rows with {done.reference} into column {done.column}")
    return (done.reference, done.rows)
