"""`/api/v1/endpoints/{endpoint}/rollouts` over real HTTP: start, read, pause, resume and
abort a rollout; bad input and conflicts answer 400, 404 and 409 before anything moves;
starting and stopping need the deploy role."""

from __future__ import annotations

import shutil

import pytest
from api_support import error_of
from starlette.middleware import Middleware

from conveyor.api import create_app
from conveyor.serving.auth import Role, TokenAuth, Tokens

API = "/api/v1/endpoints/iris-prod"
CANARY = {
    "model": "iris@2",
    "steps": [10, 50, 100],
    "interval_seconds": 60,
    "criteria": {"max_error_rate": 0.02, "max_p99_ms": 50, "min_requests": 10},
    "failure_limit": 3,
}


@pytest.fixture
def iris(own_home, saved, tmp_path):
    """iris@1 (production) serving all of iris-prod; iris@2 the candidate."""
    for n, alias in ((1, "production"), (2, "candidate")):
        folder = tmp_path / f"v{n}"
        shutil.copytree(saved, folder)
        own_home.registry.upload("iris", folder, framework="sklearn", aliases=[alias])
    own_home.endpoints.create("iris-prod")
    own_home.endpoints.deploy("iris-prod", "iris@production")
    return own_home


def test_start_read_pause_resume_and_abort(api, iris):
    started = api.post(f"{API}/rollouts", json=CANARY)
    assert started.status_code == 201, started.text
    body = started.json()
    assert started.headers["location"] == f"{API}/rollouts/{body['id']}"
    assert (body["state"], body["weight"], body["step"], body["alias"]) == (
        "progressing",
        10,
        0,
        "production",
    )
    assert body["criteria"]["max_p99_ms"] == 50 and body["failure_limit"] == 3
    split = api.get(API).json()["traffic_split"]
    assert split == {body["stable_deployed_model_id"]: 90, body["candidate_deployed_model_id"]: 10}
    assert api.get(f"{API}/rollouts/{body['id']}").json()["id"] == body["id"]
    assert [r["id"] for r in api.get(f"{API}/rollouts").json()["rollouts"]] == [body["id"]]
    assert api.post(f"{API}:pauseRollout").json()["state"] == "paused"
    assert api.post(f"{API}:resumeRollout").json()["state"] == "progressing"
    aborted = api.post(f"{API}:abortRollout", json={"reason": "not today"})
    assert aborted.status_code == 200, aborted.text
    assert (aborted.json()["state"], aborted.json()["message"]) == ("aborted", "not today")
    assert api.get(API).json()["traffic_split"] == {body["stable_deployed_model_id"]: 100}
    last = iris.registry.history("iris")[-1]
    assert (last.action, last.actor, last.comment) == ("rollout_aborted", "dana", "not today")


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"steps": [10, 50]}, 400, "must end at 100"),
        ({"steps": [10, 5, 100]}, 400, "must rise"),
        ({"strategy": "shadow"}, 400, "takes no steps"),
        ({"strategy": "blue-green"}, 400, "strategy"),
        ({"interval_seconds": 0}, 400, "interval_seconds"),
        ({"failure_limit": 0}, 400, "failure_limit"),
        ({"criteria": {"max_error_rate": 2}}, 400, "max_error_rate"),
        ({"model": "iris@9"}, 404, "version 9"),
        ({"model": "iris@1"}, 409, "already serves iris@1"),
        ({"surprise": True}, 400, "surprise"),
    ],
)
def test_bad_rollouts_answer_before_anything_moves(api, iris, change, status, words):
    before = api.get(API).json()
    answer = api.post(f"{API}/rollouts", json={**CANARY, **change})
    assert words in error_of(answer, status)["message"]
    assert api.get(API).json()["deployed_models"] == before["deployed_models"]
    assert api.get(f"{API}/rollouts").json()["rollouts"] == []


def test_conflicts_and_unknowns(api, iris):
    assert api.post(f"{API}/rollouts", json=CANARY).status_code == 201
    again = api.post(f"{API}/rollouts", json=CANARY)
    assert "already has rollout" in error_of(again, 409)["message"]
    assert api.post(f"{API}:resumeRollout").status_code == 409  # it is not paused
    assert api.get(f"{API}/rollouts/999").status_code == 404
    assert api.get("/api/v1/endpoints/nowhere/rollouts").status_code == 404
    assert api.post("/api/v1/endpoints/nowhere:abortRollout").status_code == 404
    assert api.post("/api/v1/endpoints/Bad_Name/rollouts", json=CANARY).status_code == 400
    api.post(f"{API}:abortRollout")
    assert api.post(f"{API}:abortRollout").status_code == 404  # nothing in progress


def test_starting_a_rollout_needs_the_deploy_role(serve, own_home, iris):
    tokens = Tokens({"r-token": (Role.READ, "reader"), "d-token": (Role.DEPLOY, "deployer")})
    app = create_app(own_home, middleware=[Middleware(TokenAuth, tokens=tokens)])
    http = serve(app)
    reader = {"Authorization": "Bearer r-token"}
    assert http.get(f"{API}/rollouts", headers=reader).status_code == 200
    refused = http.post(f"{API}/rollouts", json=CANARY, headers=reader)
    assert refused.status_code == 403
    assert http.post(f"{API}:abortRollout", headers=reader).status_code == 403
    deployer = {"Authorization": "Bearer d-token"}
    assert http.post(f"{API}/rollouts", json=CANARY, headers=deployer).status_code == 201
