"""`POST /api/v1/models/{name}:approvePromotion` on the app `conveyor serve` runs, with API
tokens: only `approver` (and `admin`) may approve, the token's name is who the history
records, the candidate is kept as promotion keeps it, so the target's `approval` gate
finds it; bad bodies answer 400 and record nothing."""

from __future__ import annotations

import dataclasses

import pytest
from api_support import error_of

from conveyor.api import server as combined
from conveyor.automation import gates
from conveyor.config import Settings
from conveyor.environments import Gates
from conveyor.home import open_home
from conveyor.registry import HistoryAction, ModelNotFound
from conveyor.serving.auth import Role, Tokens
from conveyor.serving.settings import ServerSettings

ROUTE = "/api/v1/models/churn:approvePromotion"
TOKENS = {
    "r-token": (Role.READ, "viewer"),
    "d-token": (Role.DEPLOY, "release-bot"),
    "ap-token": (Role.APPROVER, "erin"),
    "a-token": (Role.ADMIN, "ops"),
}


@pytest.fixture
def dev(saved, tmp_path):
    """A `dev` environment's home of its own, holding churn@1 (the candidate)."""
    settings = dataclasses.replace(Settings.from_env(tmp_path / "dev-home", environ={}), env="dev")
    with open_home(settings=settings) as home:
        home.registry.upload("churn", saved, framework="sklearn")
        yield home


@pytest.fixture
def candidate(dev):
    return gates.Candidate("dev", dev.registry.get_version("churn@1"), [], source=dev)


@pytest.fixture
def http(serve, settings):
    """The server of the test's home (the target, say prod), with a token of each role."""
    return serve(
        combined.create_app(settings, ServerSettings(poll_seconds=3600, tokens=Tokens(TOKENS)))
    )


def post(http, token, body, route=ROUTE):
    return http.post(route, json=body, headers={"Authorization": f"Bearer {token}"})


def approval(candidate, reason="eval report reviewed"):
    key = candidate.key
    return {"environment": "dev", "version": key["version"], "sha256": key["sha256"]} | {
        "reason": reason
    }


def approvals(own_home, candidate):
    return gates.approvals(own_home.registry, candidate)


def test_an_approver_approves_and_the_gate_finds_it(http, own_home, candidate):
    required = Gates(approval=True)
    assert not gates.judge(required, candidate, own_home.registry, "prod")[0].passed
    for token, role in (("r-token", "read"), ("d-token", "deploy")):
        refused = error_of(post(http, token, approval(candidate)), 403)
        assert refused["message"] == (
            f"token {TOKENS[token][1]!r} has role {role}; POST {ROUTE} needs approver or higher"
        )
    with pytest.raises(ModelNotFound):  # nothing recorded, not even the model's name
        own_home.registry.history("churn")

    answer = post(http, "ap-token", approval(candidate, reason="  eval report reviewed\n"))
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    assert entry["action"] == "promotion_approved"
    assert (entry["model"], entry["actor"]) == ("churn", "erin")
    assert entry["comment"] == "eval report reviewed"
    assert entry["details"] == candidate.key
    assert entry["version"] is None  # a version of dev: none of this registry's

    (found,) = approvals(own_home, candidate)
    assert (found.id, found.action, found.actor) == (
        entry["id"],
        HistoryAction.PROMOTION_APPROVED,
        "erin",
    )
    assert (found.comment, found.details) == (entry["comment"], entry["details"])
    (verdict,) = gates.judge(required, candidate, own_home.registry, "prod")
    assert verdict.passed and "approved by erin" in verdict.detail, verdict

    assert post(http, "a-token", approval(candidate)).json()["actor"] == "ops"
    assert [e.actor for e in approvals(own_home, candidate)] == ["erin", "ops"]


def test_another_version_or_environment_is_not_approved(http, own_home, candidate):
    other = approval(candidate) | {"sha256": "0" * 64}
    assert post(http, "ap-token", other).status_code == 201
    assert post(http, "ap-token", approval(candidate) | {"environment": "qa"}).status_code == 201
    assert approvals(own_home, candidate) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": ""}, "body.reason: '' is not a reason: say why the version is approved"),
        ({"reason": " \n\t"}, "body.reason: ' \\n\\t' is not a reason: say why"),
        ({"reason": "ok\x00"}, "body.reason: the text holds a NUL character"),
        ({"reason": None}, "body.reason: None is not a reason"),
        ({"sha256": "A" * 64}, "is not a sha256: 64 lowercase hexadecimal digits"),
        ({"sha256": "ab12"}, "body.sha256: 'ab12' is not a sha256"),
        ({"environment": "-dev"}, "body.environment: '-dev' is not an environment name"),
        ({"environment": "d" * 129}, "is not an environment name"),
        ({"environment": 3}, "body.environment: 3 is not an environment name"),
        ({"version": "1"}, "body.version: Input should be a valid integer"),
        ({"version": 0}, "body.version: Input should be greater than or equal to 1"),
        ({"version": 2**63}, "body.version"),
        ({"comment": "x"}, "body.comment is not a field of this request"),
    ],
)
def test_a_bad_body_answers_400_and_records_nothing(http, own_home, candidate, change, message):
    error = error_of(post(http, "ap-token", approval(candidate) | change), 400)
    assert message in error["message"], error
    with pytest.raises(ModelNotFound):
        own_home.registry.history("churn")


def test_a_missing_field_or_a_bad_model_name_answers_400(http, candidate):
    body = approval(candidate)
    del body["reason"]
    assert error_of(post(http, "ap-token", body), 400)["message"] == "body.reason is required"
    bad_name = "/api/v1/models/-churn:approvePromotion"
    error = error_of(post(http, "ap-token", approval(candidate), route=bad_name), 400)
    assert "is not a model name" in error["message"], error


def test_without_tokens_the_home_user_approves(api, own_home, candidate):
    answer = api.post(ROUTE, json=approval(candidate))
    assert answer.status_code == 201, answer.text
    assert answer.json()["actor"] == "dana"
    assert [e.actor for e in approvals(own_home, candidate)] == ["dana"]


def test_the_route_is_documented(http):
    document = http.get("/openapi.json", headers={"Authorization": "Bearer r-token"}).json()
    operation = document["paths"]["/api/v1/models/{name}:approvePromotion"]["post"]
    assert operation["x-conveyor-role"] == "approver"
    assert set(operation["responses"]) >= {"201", "400"}
    body = document["components"]["schemas"]["PromotionApproval"]
    assert body["required"] == ["environment", "version", "sha256", "reason"]
    assert body["additionalProperties"] is False
    assert body["properties"]["sha256"]["pattern"] == "^[0-9a-f]{64}$"
    assert body["properties"]["environment"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
