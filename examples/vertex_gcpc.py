"""A Vertex AI pipeline of Google Cloud Pipeline Components, as Vertex AI's samples write it.

A custom training job trains a scikit-learn model and saves it to `AIP_MODEL_DIR`; an
importer brings the folder in as an `UnmanagedContainerModel` with Vertex AI's prebuilt
scikit-learn serving image; `ModelUploadOp` registers it, `EndpointCreateOp` and
`ModelDeployOp` serve it, `ModelBatchPredictOp` predicts the rows the training held out.

On Conveyor, with `gs://` mapped to a local folder (docs/gcpc.md):

    CONVEYOR_GCS_ROOT=/tmp/gcs conveyor run examples/vertex_gcpc.py:pipeline

The model is then in the registry (`conveyor models list`), the endpoint serves it
(`conveyor endpoints list`, `conveyor serve`), and the predictions are under
`/tmp/gcs/conveyor-example/iris/predictions/`. Compiled, the same pipeline runs on Vertex
AI unchanged (set BUCKET_URI to a bucket of yours first):

    python examples/vertex_gcpc.py vertex_gcpc.yaml

It needs `google-cloud-pipeline-components` to compile (Conveyor's dev dependencies);
Conveyor runs the compiled executors without it.
"""

import sys

from google_cloud_pipeline_components.types import artifact_types
from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp
from google_cloud_pipeline_components.v1.custom_job import (
    create_custom_training_job_from_component,
)
from google_cloud_pipeline_components.v1.endpoint import EndpointCreateOp, ModelDeployOp
from google_cloud_pipeline_components.v1.model import ModelUploadOp
from kfp import compiler, dsl

BUCKET_URI = "gs://conveyor-example"
MODEL_DIR = f"{BUCKET_URI}/iris"
SERVING_IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"


@dsl.component(base_image="python:3.11", packages_to_install=["scikit-learn"])
def train(n_estimators: int) -> float:
    """Train on iris, save `model.joblib` in AIP_MODEL_DIR, and the held-out rows as batch
    instances beside that folder; return the held-out accuracy."""
    import json
    import os

    import joblib
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    rows, labels = load_iris(return_X_y=True)
    train_rows, test_rows, train_labels, test_labels = train_test_split(
        rows, labels, test_size=0.2, random_state=0
    )
    model = RandomForestClassifier(n_estimators=n_estimators, random_state=0)
    model.fit(train_rows, train_labels)
    # Vertex AI mounts Cloud Storage at /gcs/; on Conveyor AIP_MODEL_DIR is a local folder.
    model_dir = os.environ["AIP_MODEL_DIR"].replace("gs://", "/gcs/")
    os.makedirs(model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    with open(os.path.join(os.path.dirname(model_dir.rstrip("/")), "instances.jsonl"), "w") as f:
        for row in test_rows:
            f.write(json.dumps(row.tolist()) + "\n")
    return float(model.score(test_rows, test_labels))


train_job = create_custom_training_job_from_component(
    train,
    display_name="train-iris",
    machine_type="n1-standard-4",
    base_output_directory=MODEL_DIR,
)


@dsl.pipeline(name="vertex-gcpc", pipeline_root=f"{BUCKET_URI}/pipeline-root")
def pipeline(project: str = "my-project", location: str = "us-central1", n_estimators: int = 20):
    training = train_job(project=project, location=location, n_estimators=n_estimators)
    imported = dsl.importer(
        artifact_uri=f"{MODEL_DIR}/model",
        artifact_class=artifact_types.UnmanagedContainerModel,
        metadata={"containerSpec": {"imageUri": SERVING_IMAGE}},
    ).after(training)
    uploaded = ModelUploadOp(
        project=project,
        location=location,
        display_name="iris",
        unmanaged_container_model=imported.outputs["artifact"],
        version_aliases=["candidate"],
        labels={"team": "ml"},
    )
    endpoint = EndpointCreateOp(project=project, location=location, display_name="iris")
    ModelDeployOp(
        endpoint=endpoint.outputs["endpoint"],
        model=uploaded.outputs["model"],
        deployed_model_display_name="iris",
        dedicated_resources_machine_type="n1-standard-2",
        dedicated_resources_min_replica_count=1,
        dedicated_resources_max_replica_count=1,
        traffic_split={"0": 100},
    )
    ModelBatchPredictOp(
        project=project,
        location=location,
        job_display_name="iris-batch",
        model=uploaded.outputs["model"],
        gcs_source_uris=[f"{MODEL_DIR}/instances.jsonl"],
        instances_format="jsonl",
        predictions_format="jsonl",
        gcs_destination_output_uri_prefix=f"{MODEL_DIR}/predictions",
        machine_type="n1-standard-2",
    )


if __name__ == "__main__":
    compiler.Compiler().compile(pipeline, sys.argv[1] if len(sys.argv) > 1 else "vertex_gcpc.yaml")
