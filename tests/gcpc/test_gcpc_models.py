"""ModelUploadOp, ModelGetOp and ModelDeleteOp against Conveyor's registry, on their
documented inputs and outputs, and which serving containers map to which runtime."""

from __future__ import annotations

import pytest
from gcpc_support import SKLEARN, model_folder, unmanaged, upload
from google_cloud_pipeline_components.v1.model import ModelDeleteOp, ModelGetOp, ModelUploadOp

from conveyor.client import Client
from conveyor.components.gcpc._containers import framework
from conveyor.components.gcpc._launcher import LauncherError
from conveyor.errors import ConveyorError


def test_upload_registers_a_version_named_as_vertex_names_it(gcs, launch):
    out = upload(
        launch,
        gcs,
        project="my-project",
        location="europe-west4",
        display_name="Iris classifier",
        description="first try",
        version_aliases=["candidate"],
        labels={"team": "ml"},
    )
    name = "projects/my-project/locations/europe-west4/models/Iris-classifier@1"
    assert out.artifacts["model"]["metadata"] == {"resourceName": name}
    assert out.artifacts["model"]["uri"] == out.staged["model"]  # a resource: no bytes of ours
    [resource] = out.gcp_resources["resources"]
    assert resource["resourceType"] == "VertexLro"
    assert resource["resourceUri"].startswith(
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/"
        "europe-west4/models/Iris-classifier/operations/"
    )
    with Client() as client:
        version = client.get_model_version("Iris-classifier@candidate")
        assert version.version_id == 1
        assert version.framework == "sklearn"
        assert version.description == "first try"
        assert version.labels == {"team": "ml"}
        assert version.trusted  # Vertex AI's sklearn container loads the pickle
        assert version.artifact_uri == str(gcs / "bucket" / "models" / "iris")
        runtime = client.load_model(
            version.artifact_uri, framework=version.framework, trusted=version.trusted
        )
        assert runtime.predict([[5.1, 3.5, 1.4, 0.2]]) == [0]


def test_a_project_left_to_vertex_ai_is_named_local(gcs, launch):
    out = upload(launch, gcs)
    assert out.artifacts["model"]["metadata"]["resourceName"] == (
        "projects/local/locations/us-central1/models/iris@1"
    )


def test_parent_model_makes_a_new_version_of_it(gcs, launch):
    first = upload(launch, gcs, project="p", location="l")
    second = launch(
        ModelUploadOp,
        {"project": "p", "location": "l", "display_name": "another name"},
        {
            "unmanaged_container_model": unmanaged(model_folder(gcs, "iris-2")),
            "parent_model": {"uri": "", "metadata": first.artifacts["model"]["metadata"]},
        },
    )
    assert second.artifacts["model"]["metadata"]["resourceName"] == (
        "projects/p/locations/l/models/iris@2"
    )
    with Client() as client:
        assert client.get_model_version("iris").version_id == 1  # default stays on the first
        assert client.find_model_version("another-name") is None


def test_a_custom_serving_image_is_refused_unless_a_predictor_serves_it(gcs, launch):
    uri = model_folder(gcs)
    model = unmanaged(uri, "europe-docker.pkg.dev/my-project/serving/iris:1")
    with pytest.raises(LauncherError, match="custom image.*predictor.py"):
        launch(ModelUploadOp, {"display_name": "iris"}, {"unmanaged_container_model": model})
    with Client() as client:
        assert client.find_model_version("iris") is None


@pytest.mark.parametrize(
    ("image", "files", "expected"),
    [
        (SKLEARN, {"model.joblib"}, "sklearn"),
        (
            "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest",
            {"model.pkl"},
            "sklearn",
        ),
        ("gcr.io/cloud-aiplatform/prediction/xgboost-cpu.1-1:latest", {"model.bst"}, "xgboost"),
        (
            "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.1-7:latest",
            {"model.json"},
            "xgboost",
        ),
        ("us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-12:latest", {"model.onnx"}, "onnx"),
        ("my-registry/my-image:1", {"predictor.py", "model.joblib"}, "custom"),
    ],
)
def test_serving_images_map_to_conveyor_runtimes(image, files, expected):
    assert framework(image, files) == expected


@pytest.mark.parametrize(
    ("image", "files", "message"),
    [
        ("us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-12:latest", {"saved_model.pb"}, "ONNX"),
        ("us-docker.pkg.dev/vertex-ai/prediction/pytorch-gpu.2-1:latest", {"model.mar"}, "ONNX"),
        ("my-registry/my-image:1", {"model.joblib"}, "predictor.py"),
        ("", {"model.joblib"}, "containerSpec"),
    ],
)
def test_serving_images_conveyor_cannot_serve_say_what_to_do(image, files, message):
    with pytest.raises(LauncherError, match=message):
        framework(image, files)


def test_get_model_by_alias_and_by_resource_name(gcs, launch):
    upload(launch, gcs, version_aliases=["candidate"])
    by_alias = launch(ModelGetOp, {"model_name": "iris@candidate", "project": "p", "location": "l"})
    assert by_alias.artifacts["model"]["metadata"] == {
        "resourceName": "projects/p/locations/l/models/iris@1"
    }
    by_name = launch(ModelGetOp, {"model_name": "projects/q/locations/m/models/iris"})
    assert by_name.artifacts["model"]["metadata"] == {
        "resourceName": "projects/q/locations/m/models/iris@1"
    }


def test_get_model_of_an_unknown_model_fails_naming_it(launch):
    with pytest.raises(ConveyorError, match="nothing"):
        launch(ModelGetOp, {"model_name": "nothing"})


def test_delete_model_deletes_every_version(gcs, launch):
    first = upload(launch, gcs)
    upload(launch, gcs, folder="iris-2")
    out = launch(ModelDeleteOp, artifacts={"model": first.artifacts["model"]})
    assert out.gcp_resources["resources"][0]["resourceType"] == "VertexLro"
    with Client() as client:
        assert client.find_model_version("iris") is None


def test_delete_model_refuses_a_name_that_is_not_a_model_resource(launch):
    model = {"uri": "", "metadata": {"resourceName": "iris@1"}}
    with pytest.raises(LauncherError, match="projects/PROJECT/locations/LOCATION/models/ID"):
        launch(ModelDeleteOp, artifacts={"model": model})
