"""The model validation component: bless a candidate on thresholds and against a baseline."""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Artifact, Dataset, Input, Model, Output

from conveyor.components._component import component


@component
def validate_model(
    evaluation: Input[Artifact],
    blessing: Output[Artifact],
    thresholds: Optional[dict] = None,
    change_thresholds: Optional[dict] = None,
    baseline_model: Input[Model] = None,
    test_data: Input[Dataset] = None,
    baseline_evaluation: Input[Artifact] = None,
) -> NamedTuple("Outputs", [("blessed", bool)]):
    """Bless a model when its metrics pass value thresholds and change thresholds against a
    baseline (TFX's Evaluator validation). The first model, without a baseline, is blessed on
    value thresholds alone.

    Args:
        evaluation: The candidate's evaluation (evaluate_model).
        blessing: JSON: blessed, the reason, and every check with the candidate's and the
            baseline's values.
        thresholds: Bounds on the candidate's metrics: `{"accuracy": {"min": 0.8}}`.
        change_thresholds: Bounds on the change from the baseline:
            `{"accuracy": {"tolerance": 0.01}}` (worse by 0.01 at most), also min_improvement,
            relative_tolerance, min_relative_improvement, and direction (higher or lower).
        baseline_model: The model to beat (e.g. the registry's production version). It is
            evaluated on test_data as the candidate was. A Model artifact with no model file
            means there is no baseline.
        test_data: The candidate's evaluation data, to evaluate baseline_model on.
        baseline_evaluation: Instead of baseline_model: the baseline's evaluation document
            (fairest when computed on the same data). An empty artifact means no baseline.

    Returns:
        blessed: True when every threshold holds: branch on it with `dsl.If`.
    """
    from conveyor.components._lib import blessing as judge
    from conveyor.components._lib import files

    document = judge.validate(
        files.read_json(evaluation.path, "evaluation"),
        thresholds,
        change_thresholds,
        baseline_model_path=baseline_model.path if baseline_model is not None else None,
        baseline_model_uri=baseline_model.uri if baseline_model is not None else None,
        test_data_path=test_data.path if test_data is not None else None,
        baseline_evaluation_path=(
            baseline_evaluation.path if baseline_evaluation is not None else None
        ),
    )
    files.write_json(document, blessing.path)
    blessing.metadata.update({"blessed": document["blessed"], "reason": document["reason"]})
    print(("BLESSED: " if document["blessed"] else "NOT BLESSED: ") + document["reason"])
    return (document["blessed"],)
