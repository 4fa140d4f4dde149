"""The evaluation component: metrics of a model on labelled data, overall and by slice."""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import Optional

from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from conveyor.components._component import component


@component
def evaluate_model(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    evaluation: Output[Artifact],
    label_column: str = "",
    positive_class: str = "",
    slice_columns: Optional[list] = None,
    min_slice_size: int = 1,
    max_slice_values: int = 10,
):
    """Evaluate a model (train_model's folder convention) on labelled data.

    Args:
        model: The model folder.
        test_data: Rows with the model's features and the label.
        metrics: Overall metrics: accuracy, precision, recall, f1, balanced_accuracy,
            log_loss, roc_auc, average_precision for classifiers; mae, mse, rmse, r2,
            max_error, mape for regressors; example_count for both.
        classification_metrics: The confusion matrix and ROC curve (empty for regressors).
        evaluation: JSON: overall metrics, confusion matrix, ROC curve and per-slice metrics
            (the input of validate_model, and of registry evaluations).
        label_column: Default: the label the model was trained on.
        positive_class: The class precision, recall, f1 and the ROC curve are about; default:
            the greater of two classes (scikit-learn's convention); for more, macro averages
            and a micro-averaged ROC curve.
        slice_columns: Columns to slice by: each value, or quartiles for numbers with more
            than max_slice_values values.
        min_slice_size: Slices with fewer rows are left out.
        max_slice_values: See slice_columns.
    """
    from conveyor.components._lib import files, models
    from conveyor.components._lib import metrics as measure

    loaded = models.load(model.path)
    frame = files.read_table(test_data.path)
    document = measure.evaluate(
        loaded, frame, label_column, positive_class, slice_columns, min_slice_size, max_slice_values
    )
    files.write_json(document, evaluation.path)
    for name, value in document["metrics"].items():
        metrics.log_metric(name, value)
    if "confusion_matrix" in document:
        matrix = document["confusion_matrix"]
        classification_metrics.log_confusion_matrix(matrix["labels"], matrix["matrix"])
    curve = document.get("roc_curve")
    if curve:
        classification_metrics.log_roc_curve(curve["fpr"], curve["tpr"], curve["thresholds"])
    evaluation.metadata.update(
        {"task": document["task"], "rows": document["rows"], "slices": len(document["slices"])}
    )
