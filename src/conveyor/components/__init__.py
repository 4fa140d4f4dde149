"""Conveyor's prebuilt KFP components: the development environment, and the hand-over to
production (registry, endpoints, batch prediction).

Each is a normal `@dsl.component`: it runs on Conveyor and compiles for Vertex
AI or Kubeflow (see `_component` for the image they need there). The
reference, with every input and output, is docs/components.md.

    from conveyor.components import extract_files, compute_statistics, train_model, ...

| Step        | Components                                              |
|-------------|---------------------------------------------------------|
| extraction  | extract_files, extract_sql                              |
| analysis    | compute_statistics, infer_schema, validate_data         |
| preparation | split_data, fit_transform                               |
| training    | train_model, tune_model                                 |
| evaluation  | evaluate_model                                          |
| validation  | validate_model, infra_validate                          |
| hand-over   | get_production_model, upload_model, deploy_model,       |
|             | batch_predict, monitor_model, promote_model             |

`__all__` lists the development components; `HANDOVER` the hand-over ones.
"""

from conveyor.components.analysis import compute_statistics, infer_schema, validate_data
from conveyor.components.evaluation import evaluate_model
from conveyor.components.extraction import extract_files, extract_sql
from conveyor.components.handover import deploy_model as deploy_model
from conveyor.components.handover import get_production_model as get_production_model
from conveyor.components.handover import upload_model as upload_model
from conveyor.components.infra_validation import infra_validate as infra_validate
from conveyor.components.monitoring import monitor_model as monitor_model
from conveyor.components.prediction import batch_predict as batch_predict
from conveyor.components.preparation import fit_transform, split_data
from conveyor.components.promotion import promote_model as promote_model
from conveyor.components.training import train_model, tune_model
from conveyor.components.validation import validate_model

__all__ = [
    "compute_statistics",
    "evaluate_model",
    "extract_files",
    "extract_sql",
    "fit_transform",
    "infer_schema",
    "split_data",
    "train_model",
    "tune_model",
    "validate_data",
    "validate_model",
]

HANDOVER = (
    "batch_predict",
    "deploy_model",
    "get_production_model",
    "infra_validate",
    "monitor_model",
    "promote_model",
    "upload_model",
)
"""The hand-over components, importable from here like the others."""
