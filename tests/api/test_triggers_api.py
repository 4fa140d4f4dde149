"""`/api/v1/triggers` served for real: create, read, pause, resume, delete, and the webhook
`:fire` with its idempotency key; bad bodies answer 400 naming the field, an unknown
trigger 404, a name taken 409, a token of too low a role 403."""

import pytest
from api_support import error_of
from kfp import dsl

from conveyor.api import server as combined
from conveyor.pipelines.spec import load
from conveyor.serving.auth import Role, Tokens
from conveyor.serving.settings import ServerSettings

API = "/api/v1/triggers"


@dsl.component
def greet(name: str, times: int) -> str:
    return name * times


@dsl.pipeline(name="greeter")
def greeter(name: str = "Ada", times: int = 1) -> str:
    return greet(name=name, times=times).output


GREETER = dict(load(greeter))


@pytest.fixture
def hooked(own_home):
    """Pipeline greeter@prod, and a webhook trigger `retrain` that runs it."""
    own_home.pipelines.upload("greeter", GREETER, tags=["prod"])
    own_home.triggers.create(
        "retrain", "webhook", {}, {"pipeline_job": {"pipeline": "greeter@prod"}}
    )
    return own_home


def webhook(name: str = "retrain", **event) -> dict:
    return {
        "name": name,
        "kind": "webhook",
        "event": event,
        "request": {"pipeline_job": {"pipeline": "greeter@prod", "parameters": {"times": 2}}},
    }


def test_create_read_pause_resume_and_delete(api, hooked, tmp_path):
    made = api.post(API, json=webhook("calls", parameters=["name"]))
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{API}/calls"
    body = made.json()
    assert (body["kind"], body["state"], body["created_by"]) == ("webhook", "ACTIVE", "dana")
    assert body["event"] == {"parameters": ["name"], "max_concurrent_run_count": 1}
    assert body["request"]["pipeline_job"]["parameters"] == {"times": 2}
    spans = tmp_path / "spans"
    spans.mkdir()
    data = {
        "name": "spans",
        "kind": "new_data",
        "event": {"pattern": f"{spans}/*.csv", "parameter": "name"},
        "request": {"pipeline_job": {"pipeline": "greeter@prod"}},
    }
    assert api.post(API, json=data).status_code == 201
    listed = api.get(API).json()["triggers"]
    assert [(t["name"], t["kind"]) for t in listed] == [
        ("calls", "webhook"),
        ("retrain", "webhook"),
        ("spans", "new_data"),
    ]
    assert api.post(f"{API}/calls:pause").json()["state"] == "PAUSED"
    assert api.get(f"{API}/calls").json()["state"] == "PAUSED"
    assert api.post(f"{API}/calls:resume").json()["state"] == "ACTIVE"
    gone = api.delete(f"{API}/calls")
    assert gone.status_code == 204 and gone.content == b""
    error_of(api.get(f"{API}/calls"), 404)


def test_a_webhook_call_queues_a_fire_once_per_key(api, hooked):
    called = api.post(
        f"{API}/retrain:fire",
        json={"parameters": {"name": "Grace"}},
        headers={"Idempotency-Key": "build-41"},
    )
    assert called.status_code == 202, called.text
    fire = called.json()
    assert (fire["source"], fire["source_name"], fire["state"]) == ("trigger", "retrain", "QUEUED")
    assert fire["occurrence"] == "key:build-41"
    assert fire["event"] == {"key": "build-41", "parameters": {"name": "Grace"}}
    again = api.post(
        f"{API}/retrain:fire",
        json={"parameters": {"name": "Grace"}},
        headers={"Idempotency-Key": "build-41"},
    )
    assert again.status_code == 202 and again.json() == fire
    other = error_of(
        api.post(
            f"{API}/retrain:fire",
            json={"parameters": {"name": "Bob"}},
            headers={"Idempotency-Key": "build-41"},
        ),
        409,
    )
    assert other["message"].startswith("key: 'build-41' made fire")
    bare = api.post(f"{API}/retrain:fire")
    assert bare.status_code == 202 and bare.json()["occurrence"].startswith("call:")
    fires = api.get(f"{API}/retrain/fires").json()["fires"]
    assert [f["id"] for f in fires] == [bare.json()["id"], fire["id"]]
    assert len(api.get(f"{API}/retrain/fires", params={"limit": 1}).json()["fires"]) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"parameters": {"times": "two"}}, "parameters: "),
        ({"parameters": {"nope": 1}}, "parameters: unknown parameter 'nope'"),
        ({"parameters": [1]}, "body.parameters: "),
        ({"params": {}}, "body.params is not a field"),
    ],
)
def test_a_call_that_does_not_fit_the_pipeline_answers_400(api, hooked, body, message):
    error = error_of(api.post(f"{API}/retrain:fire", json=body), 400)
    assert error["message"].startswith(message), error["message"]
    assert api.get(f"{API}/retrain/fires").json() == {"fires": []}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({**webhook("a b")}, 400, "body.name 'a b' is not a trigger name"),
        ({**webhook(), "kind": "cron"}, 400, "body.kind: "),
        ({**webhook(), "name": "retrain"}, 409, "name: a trigger 'retrain' already exists"),
        (
            {**webhook("x"), "request": {"pipeline_job": {"pipeline": "nothing@prod"}}},
            404,
            "",
        ),
        (
            {**webhook("x"), "kind": "new_data", "event": {"pattern": "data/*", "parameter": "name"}},
            400,
            "event.pattern: give an absolute path",
        ),
        (
            {**webhook("x"), "kind": "new_data", "event": {"pattern": "foo://x/*", "parameter": "name"}},
            400,
            "event.pattern: foo://x/* cannot be listed",
        ),
        (
            {**webhook("x"), "kind": "run_finished", "event": {"pipeline": "a", "parameters": {"no": "Output"}}},
            400,
            "request.pipeline_job.parameters: greeter@1 has no parameter 'no'",
        ),
        (
            {**webhook("x"), "kind": "monitoring_alert", "event": {"monitor": "nothing"}},
            404,
            "event.monitor: ",
        ),
    ],
)  # fmt: skip
def test_bad_triggers_are_refused_naming_the_field(api, hooked, body, code, message):
    error = error_of(api.post(API, json=body), code)
    assert error["message"].startswith(message), error["message"]
    assert [t["name"] for t in api.get(API).json()["triggers"]] == ["retrain"]


def test_unknown_triggers_answer_404(api, hooked):
    for method, path in [
        ("GET", f"{API}/other"),
        ("DELETE", f"{API}/other"),
        ("POST", f"{API}/other:fire"),
        ("POST", f"{API}/other:pause"),
        ("GET", f"{API}/other/fires"),
    ]:
        error_of(api.request(method, path), 404)


TOKENS = {
    "r-token": (Role.READ, "viewer"),
    "d-token": (Role.DEPLOY, "release-bot"),
    "a-token": (Role.ADMIN, "ops"),
}


def test_a_call_needs_the_deploy_role(serve, settings, hooked):
    http = serve(
        combined.create_app(settings, ServerSettings(poll_seconds=3600, tokens=Tokens(TOKENS)))
    )

    def call(method, path, token, **options):
        return http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **options)

    refused = error_of(call("POST", f"{API}/retrain:fire", "r-token"), 403)
    assert "needs deploy" in refused["message"]
    assert call("GET", f"{API}/retrain/fires", "r-token").json() == {"fires": []}
    assert call("POST", f"{API}/retrain:fire", "d-token").status_code == 202
    assert (
        "needs admin" in error_of(call("POST", API, "d-token", json=webhook("x")), 403)["message"]
    )
    made = call("POST", API, "a-token", json=webhook("x"))
    assert made.status_code == 201 and made.json()["created_by"] == "ops"
    assert "needs admin" in error_of(call("DELETE", f"{API}/x", "d-token"), 403)["message"]
