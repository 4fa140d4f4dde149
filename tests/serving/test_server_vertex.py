"""Vertex AI prediction over HTTP: a real server, real trained models, both URL forms,
`:rawPredict` and traffic splits (the endpoint methods are the control API's:
tests/api/test_endpoint_routes.py)."""

from __future__ import annotations

from collections import Counter

import pytest
from serving_support import ROW, local_predictions, wait_for

OTHER = {"tenure": 60, "charges": 20.0, "calls": 0}


@pytest.fixture
def deployed(churn, endpoints):
    endpoints.create("churn-prod")
    return endpoints.deploy("churn-prod", "churn@production")


def test_predict_answers_with_the_deployed_version(deployed, serve, trained):
    server = serve()
    rows = [ROW, OTHER]
    answer = server.client.post("/v1/endpoints/churn-prod:predict", json={"instances": rows})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "predictions": local_predictions(trained["v1"], rows),
        "deployedModelId": deployed.id,
        "model": "churn",
        "modelVersionId": "1",
        "modelDisplayName": "churn",
    }


def test_the_long_form_and_list_instances_and_parameters(deployed, serve, trained):
    server = serve()
    url = "/v1/projects/my-project/locations/europe-west1/endpoints/churn-prod:predict"
    rows = [[3, 80.5, 6], [60, 20.0, 0]]
    answer = server.client.post(url, json={"instances": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == local_predictions(trained["v1"], [ROW, OTHER])
    probabilities = server.client.post(
        url, json={"instances": rows, "parameters": {"method": "predict_proba"}}
    ).json()["predictions"]
    assert len(probabilities) == 2 and all(len(p) == 2 for p in probabilities)
    assert probabilities[0][1] > 0.5 > probabilities[1][1]


def test_raw_predict_takes_the_body_as_the_model_does(deployed, serve, trained):
    server = serve()
    expected = local_predictions(trained["v1"], [ROW])
    for body in ([ROW], {"instances": [ROW]}):
        answer = server.client.post("/v1/endpoints/churn-prod:rawPredict", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": expected}
        assert answer.headers["x-vertex-ai-endpoint-id"] == "churn-prod"
        assert answer.headers["x-vertex-ai-deployed-model-id"] == deployed.id


def test_raw_predict_gives_a_custom_predictor_the_raw_body(registry, endpoints, serve, tmp_path):
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "predictor.py").write_text(
        "from conveyor.serving.runtimes import Predictor\n"
        "class Echo(Predictor):\n"
        "    def load(self, artifacts_uri):\n"
        "        pass\n"
        "    def predict(self, instances):\n"
        "        if isinstance(instances, bytes):\n"
        "            return instances.upper()\n"
        "        return {'got': instances}\n"
    )
    registry.upload("echo", folder, framework="custom", trusted=True)
    endpoints.create("echo")
    endpoints.deploy("echo", "echo")
    server = serve()
    raw = server.client.post(
        "/v1/endpoints/echo:rawPredict",
        content=b"plain bytes",
        headers={"content-type": "application/octet-stream"},
    )
    assert (raw.status_code, raw.content) == (200, b"PLAIN BYTES")
    as_json = server.client.post("/v1/endpoints/echo:rawPredict", json={"anything": [1, 2]})
    assert as_json.json() == {"got": {"anything": [1, 2]}}


def test_traffic_is_split_by_count_as_the_split_says(churn, endpoints, serve):
    endpoints.create("ab")
    a = endpoints.deploy("ab", "churn@1")
    b = endpoints.deploy("ab", "churn@2", traffic_percentage=30)
    server = serve()
    seen = Counter(
        server.client.post("/v1/endpoints/ab:predict", json={"instances": [ROW]}).json()[
            "deployedModelId"
        ]
        for _ in range(200)
    )
    assert seen == {a.id: 140, b.id: 60}


def test_changes_made_elsewhere_are_picked_up_while_serving(churn, endpoints, serve):
    endpoints.create("late")
    server = serve()
    refused = server.client.post("/v1/endpoints/late:predict", json={"instances": [ROW]})
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    deployed = endpoints.deploy("late", "churn@2")

    def served():
        answer = server.client.post("/v1/endpoints/late:predict", json={"instances": [ROW]})
        return answer.status_code == 200 and answer.json()

    assert wait_for(served, "the new deployment")["deployedModelId"] == deployed.id
    endpoints.create("newer")
    endpoints.deploy("newer", "churn@1")
    wait_for(
        lambda: (
            server.client.post("/v1/endpoints/newer:predict", json={"instances": [ROW]}).status_code
            == 200
        ),
        "the new endpoint",
    )
    endpoints.undeploy("newer", endpoints.get("newer").deployed_models[0].id)
    endpoints.delete("newer")
    wait_for(
        lambda: (
            server.client.post("/v1/endpoints/newer:predict", json={"instances": [ROW]}).status_code
            == 404
        ),
        "the endpoint to go",
    )
