"""`/api/v1/schedules` served for real: create, read, update, pause, resume, fires and
delete; bad bodies answer 400 naming the field, unknown names 404, a name taken or a
completed schedule paused 409, a token of too low a role 403."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_support import error_of

from conveyor.api import server as combined
from conveyor.serving.auth import Role, Tokens
from conveyor.serving.settings import ServerSettings

API = "/api/v1/schedules"
HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.py"
RUN_HELLO = {"pipeline_job": {"pipeline": "hello@prod", "parameters": {"name": "Ada"}}}


@pytest.fixture
def hello(own_home):
    """The example pipeline registered as `hello`, tagged `prod`."""
    own_home.pipelines.upload("hello", f"{HELLO}:hello_pipeline", tags=["prod"])


def create(api, name="nightly", cron="TZ=Europe/Paris 0 3 * * *", request=RUN_HELLO, **fields):
    return api.post(API, json={"name": name, "cron": cron, "request": request, **fields})


def iso(at: datetime) -> str:
    return at.isoformat()


def test_create_read_update_pause_resume_and_delete(api, hello):
    made = create(api, max_run_count=5)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{API}/nightly"
    body = made.json()
    assert (body["state"], body["display_name"], body["created_by"]) == (
        "ACTIVE",
        "nightly",
        "dana",
    )
    assert body["request"] == {
        "pipeline_job": {
            "pipeline": "hello@prod",
            "parameters": {"name": "Ada"},
            "enable_caching": None,
        }
    }
    assert (body["max_run_count"], body["max_concurrent_run_count"]) == (5, 1)
    assert (body["allow_queueing"], body["catch_up"], body["started_run_count"]) == (
        False,
        False,
        0,
    )
    next_time = datetime.fromisoformat(body["next_run_time"])
    assert next_time > datetime.now(UTC)
    assert next_time.astimezone(UTC).minute == 0  # 03:00 in Paris is 01:00 or 02:00 UTC

    assert [s["name"] for s in api.get(API).json()["schedules"]] == ["nightly"]
    assert api.get(f"{API}/nightly").json() == body

    changed = api.patch(
        f"{API}/nightly",
        json={"cron": "*/15 * * * *", "display_name": "Every quarter", "max_run_count": None},
    )
    assert changed.status_code == 200, changed.text
    shown = changed.json()
    assert (shown["cron"], shown["display_name"], shown["max_run_count"]) == (
        "*/15 * * * *",
        "Every quarter",
        None,
    )
    assert datetime.fromisoformat(shown["next_run_time"]).minute % 15 == 0
    assert shown["request"] == body["request"]  # left out: stays
    monitored_later = api.patch(f"{API}/nightly", json={"display_name": None, "catch_up": True})
    assert (monitored_later.json()["display_name"], monitored_later.json()["catch_up"]) == (
        "nightly",
        True,
    )

    paused = api.post(f"{API}/nightly:pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["state"] == "PAUSED"
    assert paused.json()["last_pause_time"] is not None
    assert api.post(f"{API}/nightly:pause").json()["state"] == "PAUSED"  # stays paused
    resumed = api.post(f"{API}/nightly:resume")
    assert (resumed.json()["state"], resumed.json()["catch_up"]) == ("ACTIVE", False)
    assert resumed.json()["last_resume_time"] is not None
    api.post(f"{API}/nightly:pause")
    resumed = api.post(f"{API}/nightly:resume", json={"catch_up": True})
    assert (resumed.json()["state"], resumed.json()["catch_up"]) == ("ACTIVE", True)

    gone = api.delete(f"{API}/nightly")
    assert (gone.status_code, gone.content) == (204, b"")
    error_of(api.get(f"{API}/nightly"), 404)
    assert api.get(API).json() == {"schedules": []}


def test_a_monitoring_job_schedule(api, own_home, saved):
    own_home.registry.upload("churn", saved, framework="sklearn")
    schema = [{"name": f"x{i}", "type": "float"} for i in range(4)]
    own_home.monitors.create("churn-drift", "churn@1", model_monitoring_schema=schema)
    request = {"model_monitoring_job": {"monitor": "churn-drift"}}
    made = create(api, "hourly-drift", "0 * * * *", request)
    assert made.status_code == 201, made.text
    assert made.json()["request"] == request
    error_of(create(api, "other", "0 * * * *", {"model_monitoring_job": {"monitor": "nope"}}), 404)


def test_fires_newest_first_and_a_completed_schedule(api, own_home, hello):
    """An hour of five-minute times missed: the scheduler's claim skips them and fires the
    latest; with max_run_count 1 the schedule then completes, and cannot pause or resume."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    made = create(api, cron="*/5 * * * *", start_time=iso(an_hour_ago), max_run_count=1)
    assert made.status_code == 201, made.text
    (claim,) = own_home.schedules.claim_due("test", timedelta(minutes=1))
    fires = api.get(f"{API}/nightly/fires").json()["fires"]
    assert [(f["state"], f["source"], f["source_name"]) for f in fires] == [
        ("CLAIMED", "schedule", "nightly"),
        ("SKIPPED", "schedule", "nightly"),
    ]
    assert fires[0]["run_id"] == claim.run_id
    assert fires[0]["event"]["request"]["pipeline_job"]["parameters"]["name"] == "Ada"
    assert "missed" in fires[1]["error"]
    assert datetime.fromisoformat(fires[0]["scheduled_time"]) > an_hour_ago
    assert len(api.get(f"{API}/nightly/fires", params={"limit": 1}).json()["fires"]) == 1
    error_of(api.get(f"{API}/nightly/fires", params={"limit": 0}), 400)

    assert own_home.schedules.claim_due("test", timedelta(minutes=1)) == []
    shown = api.get(f"{API}/nightly").json()
    assert (shown["state"], shown["started_run_count"], shown["next_run_time"]) == (
        "COMPLETED",
        1,
        None,
    )
    assert shown["last_scheduled_run_response"]["run_response"] == claim.run_id
    assert "completed" in error_of(api.post(f"{API}/nightly:pause"), 409)["message"]
    error_of(api.post(f"{API}/nightly:resume"), 409)


def test_a_name_is_taken_once(api, hello):
    assert create(api).status_code == 201
    assert "nightly" in error_of(create(api), 409)["message"]


def test_unknown_names_answer_404(api, hello):
    for answer in (
        api.get(f"{API}/nope"),
        api.patch(f"{API}/nope", json={"cron": "0 * * * *"}),
        api.post(f"{API}/nope:pause"),
        api.post(f"{API}/nope:resume"),
        api.delete(f"{API}/nope"),
        api.get(f"{API}/nope/fires"),
        create(api, request={"pipeline_job": {"pipeline": "other@prod"}}),
        create(api, request={"pipeline_job": {"pipeline": "hello@canary"}}),
    ):
        error_of(answer, 404)
    assert api.get(API).json() == {"schedules": []}


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "not a cron"}, "cron: 'not a cron' has 3 fields"),
        ({"cron": "61 * * * *"}, "cron: '61 * * * *' is not a valid cron expression"),
        ({"cron": "TZ=Mars/Olympus 0 3 * * *"}, "cron: unknown time zone 'Mars/Olympus'"),
        ({"cron": ""}, "body.cron: String should have at least 1 character"),
        ({"name": "a b"}, "body.name 'a b' is not a schedule name"),
        (
            {"request": {"pipeline_job": {"pipeline": "hello@prod", "parameters": {"nope": 1}}}},
            "request.pipeline_job.parameters: unknown parameter 'nope'",
        ),
        (
            {"request": {"pipeline_job": {"pipeline": "hello@prod", "parameters": {"name": 3}}}},
            "request.pipeline_job.parameters: ",
        ),
        (
            {"request": {**RUN_HELLO, "model_monitoring_job": {"monitor": "drift"}}},
            "body.request: give exactly one of pipeline_job and model_monitoring_job",
        ),
        (
            {"request": {}},
            "body.request: give exactly one of pipeline_job and model_monitoring_job",
        ),
        (
            {"request": {"pipeline_job": None}},
            "body.request: give exactly one of pipeline_job and model_monitoring_job",
        ),
        (
            {"request": {"pipeline_job": {"pipeline": "hello@"}}},
            "body.request.pipeline_job.pipeline 'hello@' is not a registered pipeline",
        ),
        (
            {"request": {"pipeline_job": {"pipeline": "hello", "extra": 1}}},
            "body.request.pipeline_job.extra is not a field",
        ),
        (
            {"start_time": "2026-01-01T00:00:00"},
            "body.start_time: give an ISO 8601 time with its zone",
        ),
        ({"start_time": 1767225600}, "body.start_time: give an ISO 8601 time with its zone"),
        ({"end_time": "0001-01-01T00:00:00+01:00"}, "body.end_time: give a time from 1970 to 8999"),
        (
            {"start_time": iso(NOW), "end_time": iso(NOW - timedelta(days=1))},
            "end_time: must be after start_time",
        ),
        ({"max_run_count": 0}, "body.max_run_count: Input should be greater than or equal to 1"),
        ({"max_concurrent_run_count": "2"}, "body.max_concurrent_run_count: Input should be"),
        ({"display_name": ""}, "body.display_name: String should have at least 1 character"),
        ({"display_name": "   "}, "display_name: 1 to 128 characters"),
    ],
)
def test_bad_bodies_answer_400_naming_the_field(api, hello, fields, message):
    body = {"name": "nightly", "cron": "0 3 * * *", "request": RUN_HELLO, **fields}
    error = error_of(api.post(API, json=body), 400)
    assert error["message"].startswith(message), error["message"]
    assert api.get(API).json() == {"schedules": []}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "TZ=Nowhere/City * * * * *"}, "cron: unknown time zone 'Nowhere/City'"),
        ({"cron": None}, "body.cron: give a value, or leave the field out"),
        ({"request": None}, "body.request: give a value, or leave the field out"),
        ({"catch_up": None}, "body.catch_up: give a value, or leave the field out"),
        ({"request": {}}, "body.request: give exactly one of"),
        (
            {"request": {"pipeline_job": {"pipeline": "hello", "parameters": {"x": 1}}}},
            "request.pipeline_job.parameters: unknown parameter 'x'",
        ),
        ({"state": "PAUSED"}, "body.state is not a field"),
    ],
)
def test_bad_updates_answer_400_and_change_nothing(api, hello, fields, message):
    before = create(api).json()
    error = error_of(api.patch(f"{API}/nightly", json=fields), 400)
    assert error["message"].startswith(message), error["message"]
    assert api.get(f"{API}/nightly").json() == before


def test_bad_paths_and_resume_bodies_answer_400(api, hello):
    create(api)
    assert "a schedule name" in error_of(api.get(f"{API}/a b"), 400)["message"]
    error_of(api.post(f"{API}/nightly:resume", json={"catch_up": "yes"}), 400)
    error_of(api.post(f"{API}/nightly:resume", json={"other": True}), 400)
    assert api.get(f"{API}/nightly").json()["state"] == "ACTIVE"


TOKENS = {
    "r-token": (Role.READ, "viewer"),
    "d-token": (Role.DEPLOY, "release-bot"),
    "a-token": (Role.ADMIN, "ops"),
}


def test_roles_read_deploy_and_admin(serve, settings, hello):
    http = serve(
        combined.create_app(settings, ServerSettings(poll_seconds=3600, tokens=Tokens(TOKENS)))
    )

    def call(method, path, token, **options):
        return http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **options)

    body = {"name": "nightly", "cron": "0 3 * * *", "request": RUN_HELLO}
    for token in ("r-token", "d-token"):
        assert "needs admin" in error_of(call("POST", API, token, json=body), 403)["message"]
    made = call("POST", API, "a-token", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "ops"
    for path in (API, f"{API}/nightly", f"{API}/nightly/fires"):
        assert call("GET", path, "r-token").status_code == 200
    for verb in ("pause", "resume"):
        assert (
            "needs deploy"
            in error_of(call("POST", f"{API}/nightly:{verb}", "r-token"), 403)["message"]
        )
        assert call("POST", f"{API}/nightly:{verb}", "d-token").status_code == 200
    patch = {"cron": "0 4 * * *"}
    error_of(call("PATCH", f"{API}/nightly", "d-token", json=patch), 403)
    error_of(call("DELETE", f"{API}/nightly", "d-token"), 403)
    assert call("GET", f"{API}/nightly", "r-token").json()["cron"] == "0 3 * * *"
    assert call("PATCH", f"{API}/nightly", "a-token", json=patch).status_code == 200
    assert call("DELETE", f"{API}/nightly", "a-token").status_code == 204
