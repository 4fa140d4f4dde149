"""GCPC executors are recognised by image and launcher module, as GCPC 2.x compiles them
(and GCPC 1.x's single launcher); those Conveyor does not run are refused, naming what to
use instead."""

from pathlib import Path

import pytest
from gcpc_support import executor_of
from google_cloud_pipeline_components._implementation.model import GetVertexModelOp
from google_cloud_pipeline_components.preview.custom_job import (
    CustomTrainingJobOp as PreviewCustomTrainingJobOp,
)
from google_cloud_pipeline_components.preview.model_evaluation import ModelImportEvaluationOp
from google_cloud_pipeline_components.v1.automl.tabular import CvTrainerOp
from google_cloud_pipeline_components.v1.automl.training_job import (
    AutoMLTabularTrainingJobRunOp,
)
from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp
from google_cloud_pipeline_components.v1.bigquery import BigqueryQueryJobOp
from google_cloud_pipeline_components.v1.custom_job import (
    CustomTrainingJobOp,
    create_custom_training_job_from_component,
)
from google_cloud_pipeline_components.v1.dataflow import DataflowPythonJobOp
from google_cloud_pipeline_components.v1.dataproc import DataprocPySparkBatchOp
from google_cloud_pipeline_components.v1.dataset import (
    ImageDatasetCreateOp,
    TabularDatasetCreateOp,
    TabularDatasetExportDataOp,
    TextDatasetCreateOp,
    TimeSeriesDatasetCreateOp,
    VideoDatasetCreateOp,
)
from google_cloud_pipeline_components.v1.endpoint import (
    EndpointCreateOp,
    EndpointDeleteOp,
    ModelDeployOp,
    ModelUndeployOp,
)
from google_cloud_pipeline_components.v1.hyperparameter_tuning_job import (
    HyperparameterTuningJobRunOp,
)
from google_cloud_pipeline_components.v1.model import (
    ModelDeleteOp,
    ModelExportOp,
    ModelGetOp,
    ModelUploadOp,
)
from google_cloud_pipeline_components.v1.model_evaluation import ModelEvaluationClassificationOp
from google_cloud_pipeline_components.v1.vertex_notification_email import (
    VertexNotificationEmailOp,
)
from google_cloud_pipeline_components.v1.wait_gcp_resources import WaitGcpResourcesOp
from kfp import dsl

from conveyor.pipelines.executors import gcpc


@dsl.component(base_image="python:3.11")
def train(epochs: int) -> float:
    return float(epochs)


SUPPORTED = {
    ModelUploadOp: "upload_model",
    ModelGetOp: "get_model",
    GetVertexModelOp: "get_model",
    ModelDeleteOp: "delete_model",
    EndpointCreateOp: "create_endpoint",
    EndpointDeleteOp: "delete_endpoint",
    ModelDeployOp: "deploy_model",
    ModelUndeployOp: "undeploy_model",
    ModelBatchPredictOp: "batch_predict",
    CustomTrainingJobOp: "custom_job",
    PreviewCustomTrainingJobOp: "custom_job",
    create_custom_training_job_from_component(train): "custom_job",
    WaitGcpResourcesOp: "wait_gcp_resources",
    ModelImportEvaluationOp: "import_evaluation",
    TabularDatasetCreateOp: "create_dataset",
    TimeSeriesDatasetCreateOp: "create_dataset",
    ImageDatasetCreateOp: "create_dataset",
    TextDatasetCreateOp: "create_dataset",
    VideoDatasetCreateOp: "create_dataset",
}


@pytest.mark.parametrize("component", list(SUPPORTED), ids=lambda c: c.name)
def test_every_supported_component_maps_to_its_implementation(component):
    container, _ = executor_of(component)
    found = gcpc.implementation(container)
    assert found is not None and found.module == SUPPORTED[component]
    assert gcpc.refusal(container) is None
    local = gcpc.local_container(container, {})
    assert local["command"][1:4] == ["-u", "-m", f"conveyor.components.gcpc.{found.module}"]


def test_gcpc_1_x_s_single_launcher_is_recognised_by_its_type():
    container = {
        "image": "gcr.io/ml-pipeline/google-cloud-pipeline-components:1.0.17",
        "command": [
            "python3",
            "-u",
            "-m",
            "google_cloud_pipeline_components.container.v1.gcp_launcher.launcher",
        ],
        "args": ["--type", "CreateEndpoint", "--payload", "{}", "--project", "p"],
    }
    assert gcpc.implementation(container).module == "create_endpoint"
    container["args"][1] = "HyperparameterTuningJob"
    assert "GCPC 1.x jobs of other types" in gcpc.refusal(container)


def test_recognition_is_by_image_and_module_never_by_name():
    container, _ = executor_of(ModelUploadOp)
    elsewhere = {**container, "image": "python:3.11"}
    assert gcpc.launcher(elsewhere) is None  # GCPC's module in another image: a plain container
    assert (
        gcpc.implementation({"image": container["image"], "command": ["sh", "-c", "true"]}) is None
    )
    assert gcpc.is_google_image("gcr.io/ml-pipeline/google-cloud-pipeline-components@sha256:00")
    assert gcpc.is_google_image("europe-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest")
    assert not gcpc.is_google_image("gcr.io/ml-pipeline/google-cloud-pipeline-components-fork:1")


@dsl.component(base_image="gcr.io/ml-pipeline/google-cloud-pipeline-components:2.22.0")
def own_component_on_gcpc_s_image() -> str:
    return "mine"


def test_a_python_component_on_gcpc_s_image_is_the_user_s_own():
    container, _ = executor_of(own_component_on_gcpc_s_image)
    assert gcpc.launcher(container) is None
    assert gcpc.refusal(container) is None


@pytest.mark.parametrize(
    ("component", "named", "instead"),
    [
        (BigqueryQueryJobOp, "BigQuery", "DuckDB"),
        (AutoMLTabularTrainingJobRunOp, "AutoML", "CustomTrainingJobOp"),
        (CvTrainerOp, "AutoML", "CustomTrainingJobOp"),  # a custom job of AutoML's image
        (DataflowPythonJobOp, "Dataflow", "DirectRunner"),
        (DataprocPySparkBatchOp, "Dataproc", "pyspark"),
        (HyperparameterTuningJobRunOp, "hyperparameter tuning", "tune_model"),
        (TabularDatasetExportDataOp, "dataset import and export", "gs:// source"),
        (ModelExportOp, "ModelExportOp", "copy_model"),
        (VertexNotificationEmailOp, "VertexNotificationEmailOp", "monitors"),
        (ModelEvaluationClassificationOp, "model evaluation", "evaluate_model"),
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_what_conveyor_does_not_run_is_refused_saying_what_to_use(component, named, instead):
    container, _ = executor_of(component)
    refused = gcpc.refusal(container)
    assert refused is not None and named in refused and instead in refused
    assert gcpc.implementation(container) is None


def test_the_docs_list_every_component_supported_or_not():
    docs = (Path(__file__).parents[2] / "docs" / "gcpc.md").read_text()
    for found in gcpc.SUPPORTED.values():
        assert f"`{found.component}`" in docs, found.component
    for unsupported in {*gcpc.UNSUPPORTED.values(), *gcpc.REFUSED_IMAGES.values()}:
        assert unsupported.components.split(" (")[0] in docs, unsupported.components
