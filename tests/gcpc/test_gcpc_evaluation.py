"""ModelImportEvaluationOp imports an evaluation's metrics (over all data and by slice) as
registry evaluations of the version its model names, on its documented inputs and outputs;
ModelImportEvaluatedAnnotationOp stays refused."""

import base64
import json
from pathlib import Path

import pytest
from gcpc_support import SKLEARN, executor_of, model_folder, upload
from google_cloud_pipeline_components._implementation.model_evaluation import (
    ModelImportEvaluatedAnnotationOp,
)
from google_cloud_pipeline_components.preview.model_evaluation import ModelImportEvaluationOp
from google_cloud_pipeline_components.types.artifact_types import UnmanagedContainerModel
from google_cloud_pipeline_components.v1.model import ModelUploadOp
from kfp import dsl

import conveyor
from conveyor.client import Client
from conveyor.components.gcpc._launcher import LauncherError
from conveyor.pipelines.executors import gcpc

CLASSIFICATION = {
    "slicedMetrics": [
        {
            "singleOutputSlicingSpec": {},
            "metrics": {
                "classification": {
                    "auPrc": 0.97,
                    "auRoc": 0.98,
                    "logLoss": 0.12,
                    "confusionMatrix": {
                        "annotationSpecs": [{"displayName": "setosa"}, {"displayName": "other"}],
                        "rows": [[50, 0], [1, 99]],
                    },
                }
            },
        },
        {
            "singleOutputSlicingSpec": {"bytesValue": base64.b64encode(b"setosa").decode()},
            "metrics": {"classification": {"auPrc": 1.0}},
        },
        {
            "singleOutputSlicingSpec": {
                "dimension": "slice",
                "value": "country",
                "slicingSpec": {"configs": {"country": {"value": {"stringValue": "FR"}}}},
            },
            "metrics": {"classification": {"auPrc": 0.9}},
        },
    ]
}


def bucket_file(gcs: Path, name: str, document) -> str:
    path = gcs / "bucket" / "eval" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return f"gs://bucket/eval/{name}"


def written(tmp_path: Path, output: str) -> str:
    """An output parameter the last launched task wrote."""
    tasks = sorted(tmp_path.glob("task-*"), key=lambda p: int(p.name.split("-")[1]))
    return (tasks[-1] / "outputs" / output).read_text()


def test_classification_metrics_become_evaluations_of_the_version(gcs, launch, tmp_path):
    model = upload(launch, gcs, project="p", location="europe-west4").artifacts["model"]
    out = launch(
        ModelImportEvaluationOp,
        {
            "display_name": "holdout",
            "dataset_paths": ["gs://bucket/data/test.csv"],
            "dataset_type": "csv",
        },
        {
            "model": model,
            "classification_metrics": {"uri": bucket_file(gcs, "metrics.json", CLASSIFICATION)},
        },
    )
    with Client() as client:
        overall, by_class, by_country = client.list_model_evaluations("iris@1")
    name = f"projects/p/locations/europe-west4/models/iris@1/evaluations/{overall.id}"
    assert written(tmp_path, "evaluation_resource_name") == name
    api = "https://europe-west4-aiplatform.googleapis.com/v1/"
    assert out.gcp_resources == {
        "resources": [
            {"resourceType": "ModelEvaluation", "resourceUri": api + name},
            {
                "resourceType": "ModelEvaluationSlice",
                "resourceUri": f"{api}{name}/slices/{by_class.id}",
            },
            {
                "resourceType": "ModelEvaluationSlice",
                "resourceUri": f"{api}{name}/slices/{by_country.id}",
            },
        ]
    }
    assert overall.slice is None
    assert overall.metrics["auPrc"] == 0.97  # at the top, where promotion gates read them
    assert overall.metrics["confusionMatrix"]["rows"] == [[50, 0], [1, 99]]
    assert overall.metrics["problemType"] == "classification"
    assert overall.metrics["metricsSchemaUri"] == (
        "gs://google-cloud-aiplatform/schema/modelevaluation/classification_metrics_1.0.0.yaml"
    )
    assert overall.metrics["displayName"] == "holdout"
    assert overall.metrics["dataset"] == "gs://bucket/data/test.csv"
    assert overall.metrics["metadata"] == {
        "evaluation_dataset_type": "csv",
        "evaluation_dataset_path": ["gs://bucket/data/test.csv"],
    }
    assert (by_class.slice, by_class.metrics) == ({"annotationSpec": "setosa"}, {"auPrc": 1.0})
    assert (by_country.slice, by_country.metrics) == ({"country": "FR"}, {"auPrc": 0.9})


def test_metrics_with_a_problem_type_and_their_explanation(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    regression = {
        "slicedMetrics": [
            {
                "singleOutputSlicingSpec": {},
                "metrics": {"regression": {"rootMeanSquaredError": 0.5, "rSquared": float("nan")}},
            }
        ]
    }
    explanation = {
        "explanation": {"attributions": [{"featureAttributions": {"petal_length": 0.7}}]}
    }
    metrics = {
        "uri": bucket_file(gcs, "regression.json", regression),
        "metadata": {"explanation_gcs_path": bucket_file(gcs, "explanation.json", explanation)},
    }
    launch(
        ModelImportEvaluationOp,
        {"problem_type": "regression", "dataset_path": "gs://bucket/data/test.csv"},
        {"model": model, "metrics": metrics, "row_based_metrics": {"uri": "gs://bucket/rows"}},
    )
    with Client() as client:
        [evaluation] = client.list_model_evaluations("iris@1")
    assert evaluation.metrics["rootMeanSquaredError"] == 0.5
    assert evaluation.metrics["rSquared"] == "NaN"  # as Vertex AI's JSON writes it
    assert evaluation.metrics["problemType"] == "regression"
    assert evaluation.metrics["modelExplanation"] == {
        "meanAttributions": [{"featureAttributions": {"petal_length": 0.7}}]
    }
    assert evaluation.metrics["metadata"]["row_based_metrics_path"] == "gs://bucket/rows"
    assert "displayName" not in evaluation.metrics


def test_a_text_task_s_metrics_are_the_file_itself(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    rouge = {"uri": bucket_file(gcs, "text.json", {"rougeLSum": 0.41, "bleu": 0.2})}
    launch(ModelImportEvaluationOp, {}, {"model": model, "summarization_metrics": rouge})
    with Client() as client:
        [evaluation] = client.list_model_evaluations("iris@1")
    assert evaluation.metrics["rougeLSum"] == 0.41
    assert evaluation.metrics["problemType"] == "summarization"


def test_a_version_named_by_alias_gets_the_evaluation(gcs, launch, tmp_path):
    upload(launch, gcs, project="p", location="l", version_aliases=["candidate"])
    upload(launch, gcs, folder="iris-2", project="p", location="l")
    model = {
        "uri": "",
        "metadata": {"resourceName": "projects/p/locations/l/models/iris@candidate"},
    }
    metrics = {"uri": bucket_file(gcs, "metrics.json", CLASSIFICATION)}
    launch(ModelImportEvaluationOp, {}, {"model": model, "classification_metrics": metrics})
    assert written(tmp_path, "evaluation_resource_name").startswith(
        "projects/p/locations/l/models/iris@1/evaluations/"
    )
    with Client() as client:
        assert len(client.list_model_evaluations("iris@1")) == 3
        assert client.list_model_evaluations("iris@2") == []


@pytest.mark.parametrize(
    ("parameters", "artifacts", "message"),
    [
        ({}, {}, "has no metrics"),
        ({}, {"metrics": {"uri": "gs://bucket/eval/metrics.json"}}, "problem_type"),
        (
            {"problem_type": "ranking"},
            {"metrics": {"uri": "gs://bucket/eval/metrics.json"}},
            "'ranking'",
        ),
        ({}, {"classification_metrics": {"uri": "gs://bucket/eval/none.json"}}, "cannot read"),
        ({}, {"regression_metrics": {"uri": "gs://bucket/eval/flat.json"}}, "slicedMetrics"),
        (
            {},
            {"classification_metrics": {"uri": "gs://bucket/eval/bad-slice.json"}},
            r"slicedMetrics\[1\].*singleOutputSlicingSpec",
        ),
        (
            {},
            {
                "classification_metrics": {"uri": "gs://bucket/eval/metrics.json"},
                "explanation": {"uri": "", "metadata": {}},
            },
            "explanation_gcs_path",
        ),
    ],
)
def test_metrics_that_cannot_be_imported_are_refused_naming_why(
    gcs, launch, parameters, artifacts, message
):
    model = upload(launch, gcs).artifacts["model"]
    bucket_file(gcs, "metrics.json", CLASSIFICATION)
    bucket_file(gcs, "flat.json", {"rootMeanSquaredError": 0.5})
    bad = {"singleOutputSlicingSpec": {"bytesValue": "not base64!"}, "metrics": {"x": {"a": 1}}}
    sliced = CLASSIFICATION["slicedMetrics"]
    bucket_file(gcs, "bad-slice.json", {"slicedMetrics": [sliced[0], bad]})
    with pytest.raises(LauncherError, match=message):
        launch(ModelImportEvaluationOp, parameters, {"model": model, **artifacts})
    with Client() as client:
        assert client.list_model_evaluations("iris@1") == []


def test_a_model_that_is_not_a_vertex_model_resource_is_refused(gcs, launch):
    model = {"uri": "", "metadata": {"resourceName": "iris@1"}}
    metrics = {"uri": bucket_file(gcs, "metrics.json", CLASSIFICATION)}
    with pytest.raises(LauncherError, match="projects/PROJECT/locations/LOCATION/models/ID"):
        launch(ModelImportEvaluationOp, {}, {"model": model, "classification_metrics": metrics})


def test_google_s_publisher_models_are_skipped_as_gcpc_skips_them(gcs, launch, tmp_path):
    name = "projects/p/locations/l/publishers/google/models/gemini-pro"
    metrics = {"uri": bucket_file(gcs, "text.json", {"bleu": 0.2})}
    out = launch(
        ModelImportEvaluationOp,
        {},
        {
            "model": {"uri": "", "metadata": {"resourceName": name}},
            "text_generation_metrics": metrics,
        },
    )
    assert written(tmp_path, "evaluation_resource_name") == ""
    assert out.gcp_resources == {}


def test_import_is_supported_and_evaluated_annotations_are_refused():
    container, _ = executor_of(ModelImportEvaluationOp)
    assert gcpc.implementation(container).module == "import_evaluation"
    assert gcpc.refusal(container) is None
    local = gcpc.local_container(container, {})
    assert any("['metrics'].metadata}}" in a for a in local["args"])  # read whole: the key may lack
    annotations, _ = executor_of(ModelImportEvaluatedAnnotationOp)
    refused = gcpc.refusal(annotations)
    assert "ModelImportEvaluatedAnnotationOp" in refused and "ModelImportEvaluationOp" in refused
    assert gcpc.implementation(annotations) is None


@dsl.component(base_image="python:3.11")
def evaluate(metrics: dsl.Output[dsl.Metrics]):
    import json

    overall = {"singleOutputSlicingSpec": {}, "metrics": {"classification": {"auRoc": 0.93}}}
    with open(metrics.path, "w") as f:
        json.dump({"slicedMetrics": [overall]}, f)


@dsl.component(base_image="python:3.11")
def echo(text: str) -> str:
    return text


@dsl.pipeline(name="gcpc-evaluation")
def evaluated(project: str = "p", location: str = "l"):
    model = dsl.importer(
        artifact_uri="gs://bucket/models/iris",
        artifact_class=UnmanagedContainerModel,
        metadata={"containerSpec": {"imageUri": SKLEARN}},
    )
    uploaded = ModelUploadOp(
        project=project,
        location=location,
        display_name="iris",
        unmanaged_container_model=model.outputs["artifact"],
    )
    scored = evaluate()
    imported = ModelImportEvaluationOp(
        model=uploaded.outputs["model"],
        metrics=scored.outputs["metrics"],
        problem_type="classification",
        display_name="holdout",
    )
    echo(text=imported.outputs["evaluation_resource_name"])


def test_a_pipeline_imports_its_evaluation_into_the_registry(gcs):
    model_folder(gcs)
    run = conveyor.run(evaluated)
    assert run.status == "SUCCEEDED", run.error
    with Client() as client:
        [evaluation] = client.list_model_evaluations("iris@1")
        detail = client.get_run(run.run_id)
    assert evaluation.metrics["auRoc"] == 0.93
    assert evaluation.run_id == run.run_id
    executions = {e.task_key: e for e in detail.executions}
    name = f"projects/p/locations/l/models/iris@1/evaluations/{evaluation.id}"
    assert executions["echo"].output_parameters["Output"] == name
