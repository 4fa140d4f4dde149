"""EndpointCreateOp, ModelDeployOp, ModelUndeployOp and EndpointDeleteOp against Conveyor's
endpoints, on their documented inputs and outputs."""

from __future__ import annotations

import pytest
from gcpc_support import upload
from google_cloud_pipeline_components.v1.endpoint import (
    EndpointCreateOp,
    EndpointDeleteOp,
    ModelDeployOp,
    ModelUndeployOp,
)

from conveyor.client import Client
from conveyor.components.gcpc._launcher import LauncherError
from conveyor.errors import ConveyorError


def create(launch, display_name: str = "Iris endpoint", **parameters):
    values = {"project": "p", "location": "l", "display_name": display_name, **parameters}
    return launch(EndpointCreateOp, values).artifacts["endpoint"]


def test_create_makes_a_new_endpoint_each_time_as_vertex_does(launch):
    first = create(launch, description="iris scores", labels={"team": "ml"})
    second = create(launch)
    assert first["metadata"] == {"resourceName": "projects/p/locations/l/endpoints/iris-endpoint"}
    assert second["metadata"] == {
        "resourceName": "projects/p/locations/l/endpoints/iris-endpoint-2"
    }
    with Client() as client:
        endpoint = client.get_endpoint("iris-endpoint")
        assert (endpoint.description, endpoint.labels) == ("iris scores", {"team": "ml"})
        assert client.get_endpoint("iris-endpoint-2").deployed_models == []


def test_create_refuses_a_display_name_without_letters_or_digits(launch):
    with pytest.raises(LauncherError, match="display_name"):
        create(launch, display_name="---")


def test_deploy_serves_the_version_and_records_the_machines_asked_for(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    endpoint = create(launch)
    out = launch(
        ModelDeployOp,
        {
            "traffic_split": {"0": 100},
            "dedicated_resources_machine_type": "n1-standard-2",
            "dedicated_resources_min_replica_count": 1,
            "dedicated_resources_max_replica_count": 2,
        },
        {"endpoint": endpoint, "model": model},
    )
    assert out.gcp_resources["resources"][0]["resourceType"] == "VertexLro"
    with Client() as client:
        served = client.get_endpoint("iris-endpoint")
        [deployed] = served.deployed_models
        assert (deployed.reference, served.traffic_split) == ("iris@1", {deployed.id: 100})
        assert served.labels == {
            f"deployed-model-{deployed.id}-machine-type": "n1-standard-2",
            f"deployed-model-{deployed.id}-min-replicas": "1",
            f"deployed-model-{deployed.id}-max-replicas": "2",
        }
        answer = client.predict("iris-endpoint", [[5.1, 3.5, 1.4, 0.2]])
        assert (answer["predictions"], answer["model"]) == ([0], "iris")


def test_a_traffic_split_shares_the_endpoint_between_versions(gcs, launch):
    endpoint = create(launch)
    first = upload(launch, gcs).artifacts["model"]
    launch(ModelDeployOp, {}, {"endpoint": endpoint, "model": first})  # empty: takes all
    second = upload(launch, gcs, folder="iris-2").artifacts["model"]
    launch(
        ModelDeployOp,
        {"traffic_split": {"0": "30", "1": "70"}},  # GCPC's split is text to text
        {"endpoint": endpoint, "model": second},
    )
    with Client() as client:
        served = client.get_endpoint("iris-endpoint")
        assert {d.reference: d.traffic_percentage for d in served.deployed_models} == {
            "iris@1": 70,
            "iris@2": 30,
        }


def test_undeploy_then_delete_the_endpoint(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    endpoint = create(launch)
    launch(ModelDeployOp, {}, {"endpoint": endpoint, "model": model})
    with pytest.raises(ConveyorError, match="undeploy them first"):
        launch(EndpointDeleteOp, artifacts={"endpoint": endpoint})  # as Vertex AI refuses
    out = launch(ModelUndeployOp, {}, {"endpoint": endpoint, "model": model})
    assert out.gcp_resources["resources"][0]["resourceType"] == "VertexLro"
    with Client() as client:
        assert client.get_endpoint("iris-endpoint").deployed_models == []
    launch(EndpointDeleteOp, artifacts={"endpoint": endpoint})
    with Client() as client:
        assert client.find_endpoint("iris-endpoint") is None


def test_undeploy_of_a_model_the_endpoint_does_not_serve_says_so(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    endpoint = create(launch)
    with pytest.raises(LauncherError, match="iris@1 is not deployed to endpoint iris-endpoint"):
        launch(ModelUndeployOp, {}, {"endpoint": endpoint, "model": model})
