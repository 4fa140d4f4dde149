"""Google Cloud Pipeline Components (GCPC): which of Google's executors run here, and as what.

GCPC compiles each component to a container of Google's image whose command runs a
launcher module, which calls the Vertex AI API::

    image: gcr.io/ml-pipeline/google-cloud-pipeline-components:2.22.0
    command: python3 -u -m google_cloud_pipeline_components.container.v1.model.upload_model.launcher
    args: --type UploadModel --payload {...} --project P --location L
          --gcp_resources {{$.outputs.parameters['gcp_resources'].output_file}} --executor_input {{$}}

A task is recognised by its image and that module, never by its name (`launcher`).
`SUPPORTED` maps each module Conveyor runs to its implementation in
`conveyor.components.gcpc`, which does the same job against Conveyor's registry,
endpoints and batch prediction and writes the outputs GCPC writes; `local_container` is
the container as it runs here (`gcpc_executor` runs it). `UNSUPPORTED` and
`REFUSED_IMAGES` name the others, which `refusal` refuses before a run starts
(`conveyor.pipelines.validate`), saying what to use instead. See docs/gcpc.md.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from conveyor.errors import ConveyorError

PACKAGE = "google_cloud_pipeline_components.container."
"""Where GCPC's launcher modules live; keys below are relative to it."""
IMPLEMENTATIONS = "conveyor.components.gcpc."
IMAGES = ("gcr.io/ml-pipeline/google-cloud-pipeline-components",)
"""Google's GCPC images (any tag); Vertex AI's own registries are matched too (`is_google_image`)."""
VERTEX_REGISTRIES = ("docker.pkg.dev/vertex-ai/", "docker.pkg.dev/vertex-ai-restricted/")


class GcpcError(ConveyorError):
    """A GCPC task cannot be run here."""


@dataclass(frozen=True)
class Implementation:
    """A GCPC component Conveyor runs, and the module of `conveyor.components.gcpc` that does."""

    component: str
    """GCPC's name for it, for messages and docs."""
    module: str
    custom_job: bool = False
    """Its payload holds worker pools to prepare as Vertex AI's backend does."""
    whole_metadata: tuple[str, ...] = ()
    """Keys of input artifacts' metadata its args read that an artifact may lack (Vertex AI
    leaves such a placeholder as it is, and the launcher checks for that): the args get the
    artifact's whole metadata, as JSON, for the implementation to look the key up in."""


@dataclass(frozen=True)
class Unsupported:
    """GCPC components Conveyor does not run, and what to use instead."""

    components: str
    instead: str


SUPPORTED: dict[str, Implementation] = {
    "v1.model.upload_model.launcher": Implementation("ModelUploadOp", "upload_model"),
    "v1.model.get_model.launcher": Implementation("ModelGetOp", "get_model"),
    "_implementation.model.get_model.get_model": Implementation("GetVertexModelOp", "get_model"),
    "v1.model.delete_model.launcher": Implementation("ModelDeleteOp", "delete_model"),
    "v1.endpoint.create_endpoint.launcher": Implementation("EndpointCreateOp", "create_endpoint"),
    "v1.endpoint.delete_endpoint.launcher": Implementation("EndpointDeleteOp", "delete_endpoint"),
    "v1.endpoint.deploy_model.launcher": Implementation("ModelDeployOp", "deploy_model"),
    "v1.endpoint.undeploy_model.launcher": Implementation("ModelUndeployOp", "undeploy_model"),
    "v1.batch_prediction_job.launcher": Implementation("ModelBatchPredictOp", "batch_predict"),
    "v1.custom_job.launcher": Implementation("CustomTrainingJobOp", "custom_job", True),
    "preview.custom_job.launcher": Implementation("CustomTrainingJobOp", "custom_job", True),
    "v1.wait_gcp_resources.launcher": Implementation("WaitGcpResourcesOp", "wait_gcp_resources"),
    "_implementation.model_evaluation.import_model_evaluation": Implementation(
        "ModelImportEvaluationOp", "import_evaluation", whole_metadata=("explanation_gcs_path",)
    ),
    **{
        f"v1.aiplatform.remote_runner {kind}Dataset.create": Implementation(
            f"{kind}DatasetCreateOp", "create_dataset"
        )
        for kind in ("Tabular", "TimeSeries", "Image", "Text", "Video")
    },
    # GCPC 1.x: one launcher for every job, the job's type in `--type`.
    **{
        f"v1.gcp_launcher.launcher {kind}": Implementation(component, module, kind == "CustomJob")
        for kind, (component, module) in {
            "UploadModel": ("ModelUploadOp", "upload_model"),
            "DeleteModel": ("ModelDeleteOp", "delete_model"),
            "CreateEndpoint": ("EndpointCreateOp", "create_endpoint"),
            "DeleteEndpoint": ("EndpointDeleteOp", "delete_endpoint"),
            "DeployModel": ("ModelDeployOp", "deploy_model"),
            "UndeployModel": ("ModelUndeployOp", "undeploy_model"),
            "BatchPredictionJob": ("ModelBatchPredictOp", "batch_predict"),
            "CustomJob": ("CustomTrainingJobOp", "custom_job"),
            "Wait": ("WaitGcpResourcesOp", "wait_gcp_resources"),
        }.items()
    },
}
"""Launcher (module relative to `PACKAGE`, then the `--type` or `Class.method` it is run
with, when one module serves several components) to its implementation."""

_AUTOML = Unsupported(
    "AutoML training (AutoML*TrainingJobRunOp)",
    "AutoML trains in Google's service: train in a CustomTrainingJobOp, or with "
    "conveyor.components.train_model / tune_model",
)
UNSUPPORTED: dict[str, Unsupported] = {
    "v1.aiplatform.remote_runner AutoML": _AUTOML,
    "v1.automl_training_job": _AUTOML,
    "v1.aiplatform.remote_runner": Unsupported(
        "dataset import and export (*DatasetImportDataOp, *DatasetExportDataOp)",
        "read the dataset's files from its gs:// source in a component of your own",
    ),
    "v1.bigquery.": Unsupported(
        "BigQuery and BigQuery ML (Bigquery*JobOp)",
        "query the data with DuckDB or pandas in a Python component "
        "(conveyor.components.extract_sql, extract_files) and train with train_model",
    ),
    "v1.dataflow.": Unsupported(
        "Dataflow (DataflowPythonJobOp)",
        "run the Beam pipeline with its DirectRunner in a Python component",
    ),
    "preview.dataflow.": Unsupported(
        "Dataflow (DataflowFlexTemplateJobOp)",
        "run the Beam pipeline with its DirectRunner in a Python component",
    ),
    "v1.dataproc.": Unsupported(
        "Dataproc Serverless (Dataproc*BatchOp)",
        "run Spark in local mode (pyspark) in a Python component",
    ),
    "v1.hyperparameter_tuning_job.": Unsupported(
        "hyperparameter tuning (HyperparameterTuningJobRunOp)",
        "conveyor.components.tune_model, or a dsl.ParallelFor over CustomTrainingJobOp",
    ),
    "v1.infra_validation_job.": Unsupported(
        "InfraValidatorOp", "conveyor.components.infra_validate"
    ),
    "v1.model.export_model.": Unsupported(
        "ModelExportOp", "Client.copy_model, which copies a registered version's files"
    ),
    "v1.vertex_notification_email.": Unsupported(
        "VertexNotificationEmailOp",
        "the email alerts of model monitors (docs/monitoring.md), or a component of your own",
    ),
    "_implementation.model_evaluation.": Unsupported(
        "model evaluation (ModelEvaluation*Op)",
        "conveyor.components.evaluate_model, and upload_model's evaluation input to attach "
        "it to the registered version (or Client.add_model_evaluation)",
    ),
    "_implementation.model_evaluation.import_evaluated_annotation": Unsupported(
        "ModelImportEvaluatedAnnotationOp",
        "Conveyor's registry holds metrics, not the annotations of Vertex AI's data items: "
        "import the metrics with ModelImportEvaluationOp (a slice per annotation spec) and "
        "keep the annotations' file as an artifact of the run",
    ),
    "_implementation.llm.": Unsupported(
        "LLM tuning and inference", "a CustomTrainingJobOp of your own training code"
    ),
    "v1.gcp_launcher.launcher": Unsupported(
        "GCPC 1.x jobs of other types", "the GCPC 2.x component, or a CustomTrainingJobOp"
    ),
}
"""Launcher prefixes Conveyor refuses; the longest matching prefix speaks."""

REFUSED_IMAGES: dict[str, Unsupported] = {
    "docker.pkg.dev/vertex-ai-restricted/": _AUTOML,
    "docker.pkg.dev/vertex-ai/automl": _AUTOML,
    "gcr.io/ml-pipeline/model-evaluation": UNSUPPORTED["_implementation.model_evaluation."],
}
"""Google's images that run only in Google's service, as a container's image or in a custom
job's worker pool (AutoML's internal components run custom jobs of AutoML's images)."""


@dataclass(frozen=True)
class Launcher:
    """The GCPC launcher a container runs."""

    module: str
    """Relative to `PACKAGE`: `v1.model.upload_model.launcher`."""
    selector: str = ""
    """`--type` of GCPC 1.x's single launcher, `Class.method` of the aiplatform runner."""

    @property
    def key(self) -> str:
        return f"{self.module} {self.selector}".strip()

    def describe(self) -> str:
        """As the container names it: `google_cloud_pipeline_components.container.v1...`."""
        return f"{PACKAGE}{self.module}" + (f" ({self.selector})" if self.selector else "")


def is_google_image(image: str) -> bool:
    """Whether `image` is GCPC's or one of Vertex AI's registries (any tag or digest)."""
    name = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image
    return name in IMAGES or any(r in image for r in VERTEX_REGISTRIES)


def launcher(container: dict[str, Any]) -> Launcher | None:
    """The GCPC launcher a PipelineContainerSpec runs: its image is Google's and its command
    runs a module of GCPC's container package (`python3 -u -m MODULE ...`); else None."""
    if not is_google_image(container.get("image", "")):
        return None
    command = list(container.get("command") or [])
    at = next(
        (
            i
            for i in range(len(command) - 1)
            if command[i] == "-m" and command[i + 1].startswith(PACKAGE)
        ),
        None,
    )
    if at is None:
        return None
    module = command[at + 1][len(PACKAGE) :]
    rest = command[at + 2 :]
    if module.endswith("aiplatform.remote_runner"):
        return Launcher(module, f"{_option(rest, '--cls_name')}.{_option(rest, '--method_name')}")
    if module.endswith("gcp_launcher.launcher"):
        return Launcher(module, _option(list(container.get("args") or []), "--type"))
    return Launcher(module)


def _option(words: list[str], name: str) -> str:
    return next((words[i + 1] for i in range(len(words) - 1) if words[i] == name), "")


def implementation(container: dict[str, Any]) -> Implementation | None:
    """The implementation of a supported GCPC container, else None."""
    found = launcher(container)
    if found is None or _refused_image(container) is not None:
        return None
    return SUPPORTED.get(found.key)


def _refused_image(container: dict[str, Any]) -> str | None:
    """The first of `REFUSED_IMAGES` the container runs, itself or in a worker pool."""
    text = json.dumps(container)
    return next((image for image in REFUSED_IMAGES if image in text), None)


def refusal(container: dict[str, Any]) -> str | None:
    """Why a container cannot run here, for a GCPC executor Conveyor does not implement or
    one of Google's `REFUSED_IMAGES`; None for everything else."""
    image = _refused_image(container)
    if image is not None:
        unsupported = REFUSED_IMAGES[image]
        return (
            f"Google's {unsupported.components} (image {image}...) runs only in Google's "
            f"service; instead: {unsupported.instead} (docs/gcpc.md)"
        )
    found = launcher(container)
    if found is None or found.key in SUPPORTED:
        return None
    prefixes = sorted((p for p in UNSUPPORTED if found.key.startswith(p)), key=len)
    if not prefixes:
        return (
            f"Google Cloud Pipeline Components' executor {found.describe()} does not run on "
            "Conveyor (docs/gcpc.md lists the components that do)"
        )
    unsupported = UNSUPPORTED[prefixes[-1]]
    return (
        f"Google Cloud Pipeline Components' {unsupported.components} ({found.describe()}) "
        f"does not run on Conveyor; instead: {unsupported.instead} (docs/gcpc.md)"
    )


def local_container(container: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """A supported GCPC container as it runs here: its command the implementation's module in
    Conveyor's interpreter, then the words after GCPC's module; its args GCPC's, with each
    optional input parameter missing from `given` (the task's values) as JSON `null`, as
    Vertex AI (and kfp's local runner) fill it in, so GCPC's payloads stay JSON, and the
    metadata keys of `Implementation.whole_metadata` as the artifact's whole metadata."""
    found = implementation(container)
    if found is None:
        raise GcpcError(refusal(container) or "not a GCPC executor Conveyor runs")
    command = list(container.get("command") or [])
    rest = command[command.index("-m") + 2 :]
    args = [_nulls_for_missing(a, given) for a in container.get("args") or []]
    return {
        **container,
        "command": [sys.executable, "-u", "-m", IMPLEMENTATIONS + found.module, *rest],
        "args": [_whole_metadata(a, found.whole_metadata) for a in args],
    }


_INPUT_PARAMETER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']*)'\]\}\}")


def _nulls_for_missing(argument: str, given: dict[str, Any]) -> str:
    return _INPUT_PARAMETER.sub(
        lambda m: m.group(0) if given.get(m.group(1)) is not None else "null", argument
    )


_METADATA_KEY = re.compile(r"(\{\{\$\.inputs\.artifacts\['[^']*'\]\.metadata)\['([^']*)'\]\}\}")


def _whole_metadata(argument: str, keys: tuple[str, ...]) -> str:
    """`argument` with each `{{$.inputs.artifacts['x'].metadata['KEY']}}` of `keys` as the
    artifact's whole metadata (`Implementation.whole_metadata`)."""
    return _METADATA_KEY.sub(
        lambda m: m.group(1) + "}}" if m.group(2) in keys else m.group(0), argument
    )
