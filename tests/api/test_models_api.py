"""`/api/v1/models` over real HTTP: a uvicorn server on a free loopback port, driven by httpx.

Each test starts its own server on its own Conveyor home (the root conftest's folder,
opened by `own_home`), as `conveyor serve` would.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from api_support import error_of
from openapi_spec_validator import validate
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route

from conveyor.api import create_app
from conveyor.store.metadata.errors import NotFound

API = "/api/v1/models"
IRIS = [
    {"name": "sepal_length", "type": "float", "description": "cm"},
    {"name": "sepal_width", "type": "float"},
    {"name": "petal_length", "type": "float"},
    {"name": "petal_width", "type": "float"},
]


def register(api, saved, name="churn", **fields):
    body = {"name": name, "artifact_uri": str(saved), "framework": "sklearn", **fields}
    answer = api.post(API, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_register_creates_the_model_and_its_first_version(api, saved):
    answer = api.post(
        API,
        json={
            "name": "churn",
            "artifact_uri": str(saved),
            "framework": "sklearn",
            "description": "first",
            "labels": {"team": "growth"},
            "input_schema": IRIS,
            "aliases": ["candidate"],
            "comment": "trained on March data",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == f"{API}/churn/versions/1"
    version = answer.json()
    assert version["reference"] == "churn@1"
    assert version["aliases"] == ["default", "candidate"]
    assert version["framework"] == "sklearn"
    assert version["artifact_uri"] == str(saved)
    assert version["model_file"] == "model.skops"
    assert version["needs_trust"] is False
    assert version["files"][0]["path"] == "model.skops"
    assert len(version["files"][0]["sha256"]) == 64
    assert version["input_schema"] == IRIS
    assert version["created_by"] == "dana"

    model = api.get(f"{API}/churn").json()
    assert model["description"] == "first"
    assert model["labels"] == {"team": "growth"}
    assert model["aliases"] == {"default": 1, "candidate": 1}
    assert (model["version_count"], model["default_version"], model["latest_version"]) == (1, 1, 1)
    assert [m["name"] for m in api.get(API).json()["models"]] == ["churn"]


def test_next_versions_list_oldest_first(api, saved):
    register(api, saved)
    answer = api.post(
        f"{API}/churn/versions",
        json={"artifact_uri": str(saved), "framework": "sklearn", "aliases": ["default"]},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["reference"] == "churn@2"
    versions = api.get(f"{API}/churn/versions").json()["versions"]
    assert [(v["version_id"], v["aliases"]) for v in versions] == [(1, []), (2, ["default"])]


def test_references_by_id_and_alias(api, saved):
    register(api, saved)
    register(api, saved, aliases=["production"])
    assert api.get(f"{API}/churn@2").json()["version_id"] == 2
    assert api.get(f"{API}/churn@production").json()["version_id"] == 2
    assert api.get(f"{API}/churn@default").json()["version_id"] == 1
    assert api.get(f"{API}/churn/versions/production").json()["reference"] == "churn@2"
    assert api.get(f"{API}/churn/versions/1").json()["aliases"] == ["default"]

    missing = error_of(api.get(f"{API}/churn@staging"), 404)
    assert missing["status"] == "NOT_FOUND"
    assert "staging" in missing["message"]
    error_of(api.get(f"{API}/churn/versions/9"), 404)
    assert "model name" in error_of(api.get(f"{API}/9lives"), 400)["message"]
    assert error_of(api.get(f"{API}/churn@Prod"), 400)["status"] == "INVALID_ARGUMENT"


def test_unknown_model_is_404_everywhere(api):
    for path in ("/nope", "/nope@3", "/nope/versions", "/nope/versions/1", "/nope/history"):
        assert "nope" in error_of(api.get(API + path), 404)["message"], path


def test_alias_moves_are_in_the_history(api, saved):
    register(api, saved)
    register(api, saved)
    moved = api.put(f"{API}/churn/aliases/production", json={"version": 1, "comment": "v1 ok"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["aliases"] == ["default", "production"]
    moved = api.put(f"{API}/churn/aliases/production", json={"version": "2", "comment": "better"})
    assert moved.json()["reference"] == "churn@2"
    copied = api.put(f"{API}/churn/aliases/champion", json={"version": "production"})
    assert copied.json()["aliases"] == ["champion", "production"]
    assert api.get(f"{API}/churn").json()["aliases"] == {
        "champion": 2,
        "default": 1,
        "production": 2,
    }

    entries = api.get(f"{API}/churn/history", params={"alias": "production"}).json()["entries"]
    assert [(e["version"], e["previous_version"], e["comment"]) for e in entries] == [
        (1, None, "v1 ok"),
        (2, 1, "better"),
    ]
    assert {e["actor"] for e in entries} == {"dana"}
    everything = api.get(f"{API}/churn/history").json()["entries"]
    assert [e["action"] for e in everything][:3] == [
        "model_created",
        "version_created",
        "alias_set",
    ]
    after = api.get(f"{API}/churn/history", params={"after": everything[-2]["id"]}).json()
    assert [e["id"] for e in after["entries"]] == [everything[-1]["id"]]
    limited = api.get(f"{API}/churn/history", params={"limit": 2}).json()["entries"]
    assert len(limited) == 2


def test_remove_alias_and_default_refused(api, saved):
    register(api, saved, aliases=["candidate"])
    removed = api.delete(f"{API}/churn/aliases/candidate", params={"comment": "rejected"})
    assert removed.status_code == 200, removed.text
    assert removed.json()["aliases"] == ["default"]
    assert "candidate" in error_of(api.delete(f"{API}/churn/aliases/candidate"), 404)["message"]
    refused = error_of(api.delete(f"{API}/churn/aliases/default"), 409)
    assert refused["status"] == "FAILED_PRECONDITION"
    assert "only moved" in refused["message"]
    assert error_of(api.put(f"{API}/churn/aliases/x", json={"version": 1}), 400)
    assert error_of(api.put(f"{API}/churn/aliases/prod", json={"version": 7}), 404)


def test_evaluations(api, saved):
    register(api, saved)
    register(api, saved, aliases=["candidate"])
    added = api.post(
        f"{API}/churn/versions/candidate/evaluations",
        json={"metrics": {"auc": 0.91, "confusion": [[50, 3], [4, 43]]}, "slice": {"plan": "pro"}},
    )
    assert added.status_code == 201, added.text
    evaluation = added.json()
    assert (evaluation["version_id"], evaluation["slice"]) == (2, {"plan": "pro"})
    api.post(f"{API}/churn/versions/1/evaluations", json={"metrics": {"auc": 0.88}})

    of_two = api.get(f"{API}/churn/versions/2/evaluations").json()["evaluations"]
    assert [e["metrics"]["auc"] for e in of_two] == [0.91]
    every = api.get(f"{API}/churn/evaluations").json()["evaluations"]
    assert sorted(e["version_id"] for e in every) == [1, 2]

    empty = error_of(api.post(f"{API}/churn/versions/1/evaluations", json={"metrics": {}}), 400)
    assert "non-empty" in empty["message"]
    nan = api.post(
        f"{API}/churn/versions/1/evaluations",
        content='{"metrics": {"auc": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert error_of(nan, 400)["message"].startswith("body.metrics.auc: the number NaN is out")


def test_updates_are_recorded(api, saved):
    register(api, saved, labels={"team": "growth"})
    model = api.patch(f"{API}/churn", json={"description": "churn in 30 days"})
    assert model.status_code == 200, model.text
    assert model.json()["description"] == "churn in 30 days"
    assert model.json()["labels"] == {"team": "growth"}
    version = api.patch(
        f"{API}/churn/versions/default",
        json={"labels": {"stage": "qa"}, "trusted": True, "comment": "reviewed"},
    )
    assert version.status_code == 200, version.text
    assert (version.json()["labels"], version.json()["trusted"]) == ({"stage": "qa"}, True)
    change = api.get(f"{API}/churn/history", params={"version": 1}).json()["entries"][-1]
    assert change["action"] == "version_updated"
    assert change["details"]["trusted"] == [False, True]
    assert change["comment"] == "reviewed"

    bad = error_of(api.patch(f"{API}/churn", json={"labels": {"Team": "x"}}), 400)
    assert "'Team'" in bad["message"]
    extra = error_of(api.patch(f"{API}/churn", json={"owner": "me"}), 400)
    assert extra["message"] == "body.owner is not a field of this request"


def test_deletes(api, saved):
    register(api, saved)
    register(api, saved)
    register(api, saved)
    refused = error_of(api.delete(f"{API}/churn/versions/1"), 409)
    assert "move default first" in refused["message"]
    gone = api.delete(f"{API}/churn/versions/2", params={"comment": "leaked test data"})
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"model": "churn", "versions": [2], "model_deleted": False}
    error_of(api.get(f"{API}/churn@2"), 404)

    whole = api.delete(f"{API}/churn", params={"comment": "retired"})
    assert whole.json() == {"model": "churn", "versions": [1, 3], "model_deleted": True}
    error_of(api.get(f"{API}/churn"), 404)
    assert api.get(API).json() == {"models": []}
    entries = api.get(f"{API}/churn/history").json()["entries"]
    assert entries[-1]["action"] == "model_deleted"
    assert entries[-1]["comment"] == "retired"


def test_the_homes_delete_guard_answers_409(api, saved, own_home):
    register(api, saved)
    own_home.endpoints.create("churn-ep")
    own_home.endpoints.deploy("churn-ep", "churn@1")
    refused = error_of(api.delete(f"{API}/churn"), 409)
    assert refused["status"] == "FAILED_PRECONDITION"
    assert "deployed to endpoint churn-ep" in refused["message"]
    assert api.get(f"{API}/churn").status_code == 200


def test_bad_requests_answer_400_naming_the_field(api, saved, tmp_path):
    malformed = api.post(API, content="{not json", headers={"content-type": "application/json"})
    assert error_of(malformed, 400)["message"].startswith("the request body is not valid JSON")
    missing = error_of(api.post(API, json={"name": "churn", "artifact_uri": str(saved)}), 400)
    assert missing["message"] == "body.framework is required"
    json_list = api.post(API, content="[1]", headers={"content-type": "application/json"})
    assert error_of(json_list, 400)["message"].startswith("the request body must be a JSON object")
    framework = error_of(
        api.post(API, json={"name": "churn", "artifact_uri": str(saved), "framework": "torch"}),
        400,
    )
    assert framework["message"].startswith("body.framework:")
    nowhere = error_of(
        api.post(
            API,
            json={"name": "churn", "artifact_uri": str(tmp_path / "no"), "framework": "sklearn"},
        ),
        400,
    )
    assert "does not exist" in nowhere["message"]
    schema = error_of(
        api.post(
            API,
            json={
                "name": "churn",
                "artifact_uri": str(saved),
                "framework": "sklearn",
                "input_schema": [{"name": "a", "type": "tensor"}],
            },
        ),
        400,
    )
    assert schema["message"].startswith("body.input_schema.0.type:")
    assert error_of(api.get(f"{API}/churn/history", params={"version": "x"}), 400)
    assert error_of(api.get("/api/v1/nothing"), 404)["message"].startswith("no route")
    assert error_of(api.put(API), 405)["message"] == f"PUT is not allowed on {API}"
    assert api.get(API).status_code == 200  # the server kept serving


def test_concurrent_alias_moves_all_succeed(api, saved):
    register(api, saved)
    register(api, saved)

    def move(i):
        return api.put(f"{API}/churn/aliases/production", json={"version": 1 + i % 2}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(move, range(40))) == {200}
    entries = api.get(f"{API}/churn/history", params={"alias": "production"}).json()["entries"]
    holders = [e["version"] for e in entries]
    assert all(a != b for a, b in zip(holders, holders[1:]))  # only real moves are recorded


def test_openapi_documents_every_route(api):
    document = api.get("/openapi.json").json()
    validate(document)
    paths = {p: ops for p, ops in document["paths"].items() if p.startswith(API)}
    assert set(paths) == {
        API,
        f"{API}/{{name}}",
        f"{API}/{{name}}@{{selector}}",
        f"{API}/{{name}}/versions",
        f"{API}/{{name}}/versions/{{version}}",
        f"{API}/{{name}}/evaluations",
        f"{API}/{{name}}/versions/{{version}}/evaluations",
        f"{API}/{{name}}/aliases/{{alias}}",
        f"{API}/{{name}}/history",
        f"{API}/{{name}}:approvePromotion",
    }
    operations = [op for path in paths.values() for op in path.values()]
    assert len(operations) == 18
    for operation in operations:
        assert "422" not in operation["responses"]
        assert operation.get("summary")
    create = paths[API]["post"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VersionOut"
    }
    assert create["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_extra_routes_middleware_and_lifespans(serve, saved, own_home):
    """What the prediction server plugs in: Starlette routes, a middleware naming the
    caller, a lifespan entered at startup with the home at hand."""
    seen = []

    @asynccontextmanager
    async def service(app):
        seen.append(("start", app.state.home is own_home))
        yield
        seen.append(("stop", None))

    async def ping(request):
        if request.query_params.get("missing"):
            raise NotFound("no endpoint 'x'")
        return JSONResponse({"models": len(request.app.state.home.store.list_runs())})

    class Caller:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                caller = dict(scope["headers"]).get(b"x-caller")
                if caller:
                    scope.setdefault("state", {})["user"] = caller.decode()
            await self.app(scope, receive, send)

    api = serve(
        create_app(
            own_home,
            extra_routers=[Route("/v1/ping", ping)],
            middleware=[Middleware(Caller)],
            lifespans=[service],
        )
    )
    assert seen == [("start", True)]
    assert api.get("/v1/ping").json() == {"models": 0}
    assert error_of(api.get("/v1/ping", params={"missing": 1}), 404)["message"] == (
        "no endpoint 'x'"
    )
    version = api.post(
        API,
        json={"name": "churn", "artifact_uri": str(saved), "framework": "sklearn"},
        headers={"x-caller": "ci-bot"},
    ).json()
    assert version["created_by"] == "ci-bot"
    assert register(api, saved)["created_by"] == "dana"


def test_a_request_registers_only_what_the_server_may_read(api, saved, tmp_path_factory):
    """Over REST, an artifact is a local path under the allowed roots or an object store
    URL: never a URL the server would fetch from a host, never a folder elsewhere."""
    import shutil

    elsewhere = tmp_path_factory.mktemp("elsewhere") / "model"
    shutil.copytree(saved, elsewhere)
    for uri in (str(elsewhere), "http://127.0.0.1:9/model", "/dev/zero"):
        refused = error_of(
            api.post(API, json={"name": "churn", "artifact_uri": uri, "framework": "sklearn"}), 400
        )
        assert uri in refused["message"] or "not allowed" in refused["message"], refused
    assert api.get(API).json() == {"models": []}


def test_the_docs_page_works_offline(api):
    """/docs loads Swagger UI from this server: no script, style or icon from a host."""
    import re

    page = api.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    sources += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = api.get(f"/docs/static/{asset}")
        assert served.status_code == 200 and len(served.content) > 10_000
    assert api.get("/docs/static/../../../etc/passwd").status_code == 404
