"""What several GCPC tests share: GCPC components as compiled, a model in the bucket and its
upload."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import joblib
from google.protobuf import json_format
from google_cloud_pipeline_components.v1.model import ModelUploadOp
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


@functools.cache
def compiled(component: Any) -> dict[str, Any]:
    """A component's pipeline spec, as the compiled YAML holds it."""
    return json_format.MessageToDict(component.pipeline_spec)


def executor_of(component: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The component's container spec and its component definition."""
    spec = compiled(component)
    definition = next(iter(spec["components"].values()))
    label = definition["executorLabel"]
    return spec["deploymentSpec"]["executors"][label]["container"], definition


SKLEARN = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"


def model_folder(gcs: Path, name: str = "iris") -> str:
    """A scikit-learn model saved as Vertex AI's sklearn container reads it, in the bucket."""
    rows, labels = load_iris(return_X_y=True)
    folder = gcs / "bucket" / "models" / name
    folder.mkdir(parents=True)
    joblib.dump(LogisticRegression(max_iter=300).fit(rows, labels), folder / "model.joblib")
    return f"gs://bucket/models/{name}"


def unmanaged(uri: str, image: str = SKLEARN) -> dict:
    """A `dsl.importer` of google.UnmanagedContainerModel, as its task outputs it."""
    return {"uri": uri, "metadata": {"containerSpec": {"imageUri": image}}}


def upload(launch, gcs: Path, **parameters):
    uri = model_folder(gcs, parameters.pop("folder", "iris"))
    values = {"display_name": "iris", **parameters}
    return launch(ModelUploadOp, values, {"unmanaged_container_model": unmanaged(uri)})
