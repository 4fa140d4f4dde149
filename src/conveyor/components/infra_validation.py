"""The infra validation component: load a model in its serving runtime and send it canary
requests (TFX's InfraValidator), before it is uploaded and deployed."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Model, Output

from conveyor.components._component import component


@component
def infra_validate(
    model: Input[Model],
    examples: Input[Dataset],
    infra_blessing: Output[Artifact],
    num_requests: int = 3,
    rows_per_request: int = 4,
    fail_on_error: bool = True,
) -> NamedTuple("Outputs", [("blessed", bool)]):
    """Check that the serving runtime loads the model and answers requests.

    The model folder is checked against the sha256 recorded when its task published it,
    loaded with the framework, trust and input schema it would be registered with, and
    sent canary requests built from sample rows (as JSON, objects and lists), then one
    batch of them all.

    Args:
        model: The model folder (train_model or tune_model).
        examples: Rows to build canary requests from (complete rows are sampled).
        infra_blessing: JSON: blessed, the reason, load time, and each request's rows,
            time and first predictions.
        num_requests: Canary requests sent.
        rows_per_request: Instances in each.
        fail_on_error: Fail the task when the model cannot load or predict; else output
            blessed False.

    Returns:
        blessed: True when the model loaded and answered every request.
    """
    from conveyor.components._lib import canary, files
    from conveyor.components._lib.errors import ComponentError

    document = canary.validate(model.path, model.uri, examples.path, num_requests, rows_per_request)
    files.write_json(document, infra_blessing.path)
    infra_blessing.metadata.update({"blessed": document["blessed"], "reason": document["reason"]})
    print(
        ("INFRA BLESSED: " if document["blessed"] else "NOT INFRA BLESSED: ") + document["reason"]
    )
    if not document["blessed"] and fail_on_error:
        raise ComponentError(f"infra validation failed: {document['reason']}")
    return (document["blessed"],)
