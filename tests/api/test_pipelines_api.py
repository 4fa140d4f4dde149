"""`/api/v1/pipelines` served for real: upload, list, get, versions, tags and deletes; bad
bodies answer 400 naming the field, a guarded delete 409, a token of too low a role 403."""

import pytest
from api_support import error_of
from kfp import dsl
from starlette.middleware import Middleware

from conveyor.api import create_app
from conveyor.pipelines.spec import load
from conveyor.serving.auth import Role, TokenAuth, Tokens

API = "/api/v1/pipelines"


@dsl.component
def double(n: int) -> int:
    return 2 * n


@dsl.pipeline(name="doubler")
def doubler(n: int = 2) -> int:
    return double(n=n).output


@dsl.pipeline(name="doubler")
def tripler(n: int = 3) -> int:
    return double(n=n).output


DOUBLER, TRIPLER = dict(load(doubler)), dict(load(tripler))


def upload(api, spec=DOUBLER, **fields):
    return api.post(API, json={"name": "train", "pipeline_spec": spec, **fields})


def test_upload_read_tag_and_delete(api):
    made = upload(api, tags=["prod"], description="first")
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{API}/train/versions/1"
    body = made.json()
    assert (body["reference"], body["created"], body["tags"]) == ("train@1", True, ["prod"])
    assert (body["created_by"], body["default_parameters"]) == ("dana", {"n": 2})
    assert body["spec_digest"] == load(doubler).digest
    assert body["pipeline_spec"] is None
    again = upload(api, tags=["stable"])
    assert again.status_code == 200, again.text
    assert (again.json()["version"], again.json()["created"]) == (1, False)
    assert upload(api, TRIPLER).json()["reference"] == "train@2"

    listed = api.get(API).json()["pipelines"]
    assert [(p["name"], p["latest_version"], p["tags"]) for p in listed] == [
        ("train", 2, {"prod": 1, "stable": 1})
    ]
    assert api.get(f"{API}/train").json()["description"] == "first"
    assert [v["version"] for v in api.get(f"{API}/train/versions").json()["versions"]] == [2, 1]
    assert api.get(f"{API}/train/versions/prod").json()["version"] == 1
    assert api.get(f"{API}/train/versions/latest").json()["version"] == 2
    full = api.get(f"{API}/train/versions/1", params={"view": "full"}).json()
    assert full["pipeline_spec"] == DOUBLER

    moved = api.put(f"{API}/train/tags/prod", json={"version": "latest"})
    assert (moved.json()["version"], moved.json()["tags"]) == (2, ["prod"])
    assert api.put(f"{API}/train/tags/canary", json={"version": 1}).json()["tags"] == [
        "canary",
        "stable",
    ]
    untagged = api.delete(f"{API}/train/tags/canary")
    assert untagged.json()["tags"] == {"prod": 2, "stable": 1}
    gone = api.delete(f"{API}/train/versions/2")
    assert gone.json() == {"pipeline": "train", "version": 2}
    assert api.get(f"{API}/train").json()["tags"] == {"stable": 1}
    assert api.delete(f"{API}/train").json() == {"pipeline": "train", "version": None}
    assert api.get(API).json() == {"pipelines": []}


def test_not_found_and_a_guarded_delete(api, own_home):
    upload(api, tags=["prod"])
    for path in (f"{API}/other", f"{API}/train/versions/7", f"{API}/train/versions/canary"):
        error_of(api.get(path), 404)
    error_of(api.delete(f"{API}/train/tags/canary"), 404)
    error_of(api.put(f"{API}/train/tags/prod", json={"version": 9}), 404)
    own_home.pipelines.add_delete_guard(lambda name, version: "schedule nightly")
    refused = error_of(api.delete(f"{API}/train/versions/1"), 409)
    assert refused["message"].startswith("train@1 is in use (schedule nightly)")
    error_of(api.delete(f"{API}/train"), 409)
    assert api.get(f"{API}/train").json()["latest_version"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pipeline_spec": DOUBLER}, "body.name is required"),
        ({"name": "train"}, "body.pipeline_spec is required"),
        ({"name": "a b", "pipeline_spec": DOUBLER}, "body.name 'a b' is not a pipeline name"),
        ({"name": "train", "pipeline_spec": [1]}, "body.pipeline_spec: "),
        ({"name": "train", "pipeline_spec": DOUBLER, "extra": 1}, "body.extra is not a field"),
        ({"name": "train", "pipeline_spec": DOUBLER, "tags": ["a b"]}, "body.tags.0 'a b' is not"),
        ({"name": "train", "pipeline_spec": DOUBLER, "tags": ["latest"]}, "tags: tag 'latest'"),
        ({"name": "train", "pipeline_spec": {"root": {}, "x": 1}}, "pipeline_spec: the given"),
        (
            {"name": "train", "pipeline_spec": {"root": {}, "deploymentSpec": {"executors": 5}}},
            "pipeline_spec: the given pipeline spec: deploymentSpec.executors must map",
        ),
        (
            {
                "name": "train",
                "pipeline_spec": {**DOUBLER, "root": {"dag": {"tasks": {"t": {}}}}},
            },
            "pipeline_spec: root.dag.tasks.t.componentRef: component None is not defined",
        ),
    ],
)
def test_bad_bodies_answer_400_naming_the_field(api, body, message):
    error = error_of(api.post(API, json=body), 400)
    assert error["message"].startswith(message), error["message"]
    assert api.get(API).json() == {"pipelines": []}


def test_bad_paths_and_tag_bodies_answer_400(api):
    upload(api)
    assert "a pipeline version" in error_of(api.get(f"{API}/train/versions/a b"), 400)["message"]
    error_of(api.delete(f"{API}/train/versions/0"), 400)
    error_of(api.put(f"{API}/train/tags/latest", json={"version": 1}), 400)
    error_of(api.put(f"{API}/train/tags/prod", json={"version": "one two"}), 400)
    error_of(api.put(f"{API}/train/tags/prod", json={}), 400)
    error_of(api.put(f"{API}/train/tags/prod", json={"version": True}), 400)


TOKENS = {
    "r-token": (Role.READ, "viewer"),
    "d-token": (Role.DEPLOY, "release-bot"),
    "a-token": (Role.ADMIN, "ops"),
}


def test_roles_read_deploy_and_admin(serve, own_home):
    http = serve(create_app(own_home, middleware=[Middleware(TokenAuth, tokens=Tokens(TOKENS))]))

    def call(method, path, token, **options):
        return http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **options)

    body = {"name": "train", "pipeline_spec": DOUBLER}
    assert "needs deploy" in error_of(call("POST", API, "r-token", json=body), 403)["message"]
    made = call("POST", API, "d-token", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "release-bot"
    error_of(call("PUT", f"{API}/train/tags/prod", "r-token", json={"version": 1}), 403)
    assert call("PUT", f"{API}/train/tags/prod", "d-token", json={"version": 1}).status_code == 200
    assert call("GET", f"{API}/train", "r-token").json()["tags"] == {"prod": 1}
    for path in (f"{API}/train/versions/1", f"{API}/train"):
        assert "needs admin" in error_of(call("DELETE", path, "d-token"), 403)["message"]
    assert call("DELETE", f"{API}/train", "a-token").status_code == 200
