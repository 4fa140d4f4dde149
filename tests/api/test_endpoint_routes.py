"""`/api/v1/endpoints` over real HTTP: create, read, update, delete, deploy, undeploy and
set traffic, described by OpenAPI and guarded by token roles; on the app `conveyor serve`
runs, a change is served at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from api_support import error_of
from openapi_spec_validator import validate
from starlette.middleware import Middleware

from conveyor.api import create_app
from conveyor.api import server as combined
from conveyor.api.endpoints import router
from conveyor.serving.auth import Role, Tokens
from conveyor.serving.settings import ServerSettings

API = "/api/v1/endpoints"
ROW = [5.1, 3.5, 1.4, 0.2]
DOC = (Path(__file__).parents[2] / "docs" / "api.md").read_text()


@pytest.fixture
def iris(own_home, saved, tmp_path):
    """Model iris: version 1 (default, production) and version 2 (candidate)."""
    for n, alias in ((1, "production"), (2, "candidate")):
        folder = tmp_path / f"v{n}"
        shutil.copytree(saved, folder)
        own_home.registry.upload("iris", folder, framework="sklearn", aliases=[alias])
    return own_home


@pytest.fixture
def both(serve, settings):
    """`both(**server_settings)`: the app `conveyor serve` runs (it opens a home of its
    own), not polling the store, so only a change applied at once is served."""
    return lambda **options: serve(
        combined.create_app(settings, ServerSettings(poll_seconds=3600, **options))
    )


def test_create_read_update_and_delete(api):
    made = api.post(
        API,
        json={
            "name": "churn-prod",
            "description": "made over REST",
            "labels": {"team": "ml"},
            "log_sample_rate": 0.5,
        },
    )
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{API}/churn-prod"
    endpoint = made.json()
    assert (endpoint["name"], endpoint["description"], endpoint["labels"]) == (
        "churn-prod",
        "made over REST",
        {"team": "ml"},
    )
    assert (endpoint["deployed_models"], endpoint["traffic_split"]) == ([], {})
    assert (endpoint["log_sample_rate"], endpoint["created_by"]) == (0.5, "dana")
    api.post(API, json={"name": "a"})
    assert [e["name"] for e in api.get(API).json()["endpoints"]] == ["a", "churn-prod"]
    assert api.get(f"{API}/churn-prod").json() == endpoint

    changed = api.patch(f"{API}/churn-prod", json={"log_sample_rate": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["log_sample_rate"], changed.json()["description"]) == (
        None,
        "made over REST",
    )
    assert changed.json()["generation"] == endpoint["generation"] + 1

    gone = api.delete(f"{API}/a")
    assert (gone.status_code, gone.content) == (204, b"")
    missing = error_of(api.get(f"{API}/a"), 404)
    assert missing["status"] == "NOT_FOUND"
    assert "no endpoint 'a'" in missing["message"]


def test_bad_requests_and_conflicts(api):
    api.post(API, json={"name": "e"})
    again = error_of(api.post(API, json={"name": "e"}), 409)
    assert again["status"] == "FAILED_PRECONDITION"
    assert "endpoint 'e' already exists" in again["message"]
    named = error_of(api.post(API, json={"name": "Bad_Name"}), 400)
    assert named["message"].startswith("body.name 'Bad_Name' is not an endpoint name: 1 to 63")
    extra = error_of(api.post(API, json={"name": "f", "owner": "me"}), 400)
    assert extra["message"] == "body.owner is not a field of this request"
    labels = error_of(api.patch(f"{API}/e", json={"labels": {"Team": "x"}}), 400)
    assert "label key 'Team'" in labels["message"]
    assert "no endpoint 'nowhere'" in error_of(api.get(f"{API}/nowhere"), 404)["message"]
    assert error_of(api.delete(f"{API}/nowhere"), 404)["status"] == "NOT_FOUND"


def test_deploy_traffic_and_undeploy_are_served_at_once(iris, both):
    http = both()
    assert http.post(API, json={"name": "rest"}).status_code == 201
    deployed = http.post(f"{API}/rest:deployModel", json={"model": "iris@candidate"})
    assert deployed.status_code == 200, deployed.text
    first = deployed.json()
    assert (first["model"], first["version_id"], first["alias"]) == ("iris", 2, "candidate")
    assert (first["reference"], first["traffic_percentage"]) == ("iris@candidate", 100)
    second = http.post(
        f"{API}/rest:deployModel",
        json={"model": "iris@1", "traffic_split": {"0": 20, first["id"]: 80}},
    ).json()
    assert (second["alias"], second["deployed_version"]) == (None, 1)
    shown = http.get(f"{API}/rest").json()
    assert shown["traffic_split"] == {first["id"]: 80, second["id"]: 20}
    assert [d["id"] for d in shown["deployed_models"]] == [first["id"], second["id"]]
    answer = http.post("/v1/endpoints/rest:predict", json={"instances": [ROW]})
    assert answer.status_code == 200, answer.text  # no waiting for a poll

    one = http.post(
        f"{API}/rest:setTraffic",
        json={"deployed_model_id": second["id"], "traffic_percentage": 50},
    )
    assert one.status_code == 200, one.text
    assert one.json()["traffic_split"] == {first["id"]: 50, second["id"]: 50}
    whole = http.post(
        f"{API}/rest:setTraffic", json={"traffic_split": {first["id"]: 0, second["id"]: 100}}
    )
    assert whole.json()["traffic_split"] == {first["id"]: 0, second["id"]: 100}
    neither = error_of(http.post(f"{API}/rest:setTraffic", json={}), 400)
    assert "either the whole traffic split" in neither["message"]

    after = http.post(f"{API}/rest:undeployModel", json={"deployed_model_id": first["id"]})
    assert after.status_code == 200, after.text
    assert after.json()["traffic_split"] == {second["id"]: 100}
    assert iris.endpoints.get("rest").traffic_split == {second["id"]: 100}
    served = http.post("/v1/endpoints/rest:predict", json={"instances": [ROW]}).json()
    assert served["deployedModelId"] == second["id"]
    conflict = error_of(http.delete(f"{API}/rest"), 409)
    assert conflict["status"] == "FAILED_PRECONDITION"
    assert "still serves deployed models" in conflict["message"]


def test_deploy_errors_name_what_is_wrong(iris, api):
    api.post(API, json={"name": "e"})
    assert error_of(api.post(f"{API}/nowhere:deployModel", json={"model": "iris"}), 404)
    assert (
        "nobody"
        in error_of(api.post(f"{API}/e:deployModel", json={"model": "nobody"}), 404)["message"]
    )
    assert error_of(api.post(f"{API}/e:deployModel", json={}), 400)["message"] == (
        "body.model is required"
    )
    both_forms = error_of(
        api.post(
            f"{API}/e:deployModel",
            json={"model": "iris", "traffic_percentage": 5, "traffic_split": {"0": 100}},
        ),
        400,
    )
    assert "not both" in both_forms["message"]
    unknown = error_of(api.post(f"{API}/e:undeployModel", json={"deployed_model_id": "9"}), 404)
    assert "no deployed model '9'" in unknown["message"]


def test_changes_are_recorded_as_the_caller_and_heard_by_the_listeners(iris, serve):
    heard = []

    class Caller:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                scope.setdefault("state", {})["user"] = "ci-bot"
            await self.app(scope, receive, send)

    http = serve(
        create_app(iris, middleware=[Middleware(Caller)], endpoint_listeners=[heard.append])
    )
    assert http.post(API, json={"name": "e"}).json()["created_by"] == "ci-bot"
    deployed = http.post(f"{API}/e:deployModel", json={"model": "iris"}).json()
    assert deployed["deployed_by"] == "ci-bot"
    http.patch(f"{API}/e", json={"description": "d"})
    http.post(f"{API}/e:setTraffic", json={"traffic_split": {deployed["id"]: 100}})
    http.get(f"{API}/e")
    http.post(f"{API}/e:undeployModel", json={"deployed_model_id": deployed["id"]})
    http.delete(f"{API}/e")
    assert heard == ["e"] * 6
    assert iris.endpoints.user == "dana"  # the home's own endpoints are left as they were


def test_token_roles_guard_the_endpoint_routes(iris, both):
    http = both(
        tokens=Tokens({"p": (Role.PREDICT, "p"), "d": (Role.DEPLOY, "d"), "a": (Role.ADMIN, "a")})
    )

    def call(method, path, token, **body):
        return http.request(
            method, f"{API}{path}", headers={"Authorization": f"Bearer {token}"}, **body
        ).status_code

    assert call("POST", "", "d", json={"name": "e"}) == 403
    assert call("POST", "", "a", json={"name": "e"}) == 201
    assert call("GET", "/e", "p") == 200
    assert call("PATCH", "/e", "d", json={"description": "x"}) == 403
    assert call("PATCH", "/e", "a", json={"description": "x"}) == 200
    assert call("POST", "/e:deployModel", "p", json={"model": "iris"}) == 403
    assert call("POST", "/e:deployModel", "d", json={"model": "iris"}) == 200
    deployed = iris.endpoints.get("e").deployed_models[0].id
    assert call("POST", "/e:setTraffic", "p", json={"traffic_split": {deployed: 100}}) == 403
    assert call("POST", "/e:setTraffic", "d", json={"traffic_split": {deployed: 100}}) == 200
    assert call("POST", "/e:undeployModel", "d", json={"deployed_model_id": deployed}) == 200
    assert call("DELETE", "/e", "d") == 403
    assert call("DELETE", "/e", "a") == 204


def test_openapi_documents_the_endpoint_routes(api):
    document = api.get("/openapi.json").json()
    validate(document)
    paths = {
        p: ops
        for p, ops in document["paths"].items()
        if p.startswith(API) and "ollout" not in p  # rollouts: test_rollouts_rest.py
    }
    assert set(paths) == {
        API,
        f"{API}/{{endpoint}}",
        f"{API}/{{endpoint}}:deployModel",
        f"{API}/{{endpoint}}:undeployModel",
        f"{API}/{{endpoint}}:setTraffic",
        f"{API}/{{endpoint}}/stats",
    }
    operations = [op for path in paths.values() for op in path.values()]
    assert len(operations) == 9
    for operation in operations:
        assert "422" not in operation["responses"]
        assert operation.get("summary")
    deploy = paths[f"{API}/{{endpoint}}:deployModel"]["post"]
    assert deploy["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Deployment"
    }
    assert deploy["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeployedModelOut"
    }
    assert deploy["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


@pytest.mark.parametrize(
    "route",
    [f"{m} {r.path}" for r in router.routes for m in sorted(r.methods)],  # type: ignore[attr-defined]
)
def test_every_route_is_documented(route):
    assert f"`{route}`" in DOC
