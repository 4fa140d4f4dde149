"""Token roles on the app `conveyor serve` runs: every route × every role, authorised on
the route the request matches (never on the text of its path), with models, aliases and
endpoints named after route words; the token's name is who the history records."""

from __future__ import annotations

import re
import shutil

import pytest
from api_support import error_of
from starlette.routing import Mount

from conveyor.api import server as combined
from conveyor.serving.auth import Role, Tokens
from conveyor.serving.settings import ServerSettings

TOKENS = {
    "r-token": (Role.READ, "viewer"),
    "p-token": (Role.PREDICT, "crm-backend"),
    "t-token": (Role.TRACK, "trainer"),
    "d-token": (Role.DEPLOY, "release-bot"),
    "ap-token": (Role.APPROVER, "dana"),
    "a-token": (Role.ADMIN, "ops"),
}
BY_ROLE = {role: token for token, (role, _) in TOKENS.items()}

PREDICTIONS = {
    ("POST", "/v1/endpoints/{target}"),
    ("POST", "/v1/projects/{project}/locations/{location}/endpoints/{target}"),
    # ... as the OpenAPI document spells Vertex AI's two methods
    ("POST", "/v1/endpoints/{endpoint}:predict"),
    ("POST", "/v1/endpoints/{endpoint}:rawPredict"),
    ("POST", "/v1/projects/{project}/locations/{location}/endpoints/{endpoint}:predict"),
    ("POST", "/v1/projects/{project}/locations/{location}/endpoints/{endpoint}:rawPredict"),
    ("POST", "/v2/models/{name}/infer"),
    ("POST", "/v2/models/{name}/versions/{version}/infer"),
}
DEPLOYMENTS = {
    ("POST", "/api/v1/endpoints/{endpoint}:deployModel"),
    ("POST", "/api/v1/endpoints/{endpoint}:undeployModel"),
    ("POST", "/api/v1/endpoints/{endpoint}:setTraffic"),
    ("POST", "/api/v1/endpoints/{endpoint}/rollouts"),
    ("POST", "/api/v1/endpoints/{endpoint}:pauseRollout"),
    ("POST", "/api/v1/endpoints/{endpoint}:resumeRollout"),
    ("POST", "/api/v1/endpoints/{endpoint}:abortRollout"),
    ("POST", "/api/v1/pipelines"),
    ("PUT", "/api/v1/pipelines/{name}/tags/{tag}"),
    ("DELETE", "/api/v1/pipelines/{name}/tags/{tag}"),
    ("POST", "/api/v1/schedules/{schedule}:pause"),
    ("POST", "/api/v1/schedules/{schedule}:resume"),
    ("POST", "/api/v1/triggers/{trigger}:pause"),
    ("POST", "/api/v1/triggers/{trigger}:resume"),
    ("POST", "/api/v1/triggers/{trigger}:fire"),
    ("POST", "/api/v1/runs/{run_id}:cancel"),
    ("POST", "/api/v1/runs/{run_id}:resume"),
}
APPROVALS = {("POST", "/api/v1/models/{name}:approvePromotion")}
_RUN = "/api/v1/experiments/{experiment}/runs/{run}"
TRACKING = {
    ("POST", "/api/v1/experiments"),
    ("POST", "/api/v1/experiments/{experiment}/runs"),
    *(
        ("POST", f"{_RUN}:{verb}")
        for verb in (
            "end",
            "logParams",
            "logMetrics",
            "logTimeSeriesMetrics",
            "logPoints",
            "setLabels",
            "logClassificationMetrics",
        )
    ),
}
QUERIES = {("POST", "/v2/repository/index"), ("POST", "/api/v1/experiments:searchRuns")}
"""Routes whose POST only reads."""
CONSOLE = {
    ("GET", "/"),
    ("GET", "/ui"),
    ("GET", "/ui/{page:path}"),
    ("GET", "/ui/assets/{name:path}"),
}
"""The web console's page shell and assets: public, the only routes that are."""
WORDS = (
    "infer",
    "predict",
    "rawPredict",
    "deployModel",
    "setTraffic",
    "rollouts",
    "approvePromotion",
)
"""Names that are also route words: models, aliases and endpoints are named after them."""
PIPELINE = {
    "pipelineInfo": {"name": "infer"},
    "root": {"inputDefinitions": {"parameters": {"n": {"parameterType": "NUMBER_INTEGER"}}}},
}
"""A pipeline spec the registry takes, registered as pipeline `infer`."""


def expected_role(method: str, template: str, declared: str | None = None) -> Role:
    """The role a route's OpenAPI operation declares, else the rule for its kind."""
    if (method, template) in CONSOLE:
        return Role.PUBLIC
    if declared is not None:
        return Role[declared.upper()]
    if method == "GET" or (method, template) in QUERIES:
        return Role.READ
    if (method, template) in PREDICTIONS:
        return Role.PREDICT
    if (method, template) in TRACKING:
        return Role.TRACK
    if (method, template) in DEPLOYMENTS:
        return Role.DEPLOY
    if (method, template) in APPROVALS:
        return Role.APPROVER
    return Role.ADMIN


def every_route(app, document) -> list[tuple[str, str, str | None]]:
    """(method, path template, declared role) of every route of `app`: those its OpenAPI
    document describes (the control API, the prediction routes), and the documentation's,
    the console's and the mounted prediction server's from the app's routes too
    (Starlette's templates)."""
    found = [
        (m.upper(), p, op.get("x-conveyor-role"))
        for p, ops in document["paths"].items()
        for m, op in ops.items()
    ]
    for route in app.routes:
        routes = route.routes if isinstance(route, Mount) else [route]
        for inner in routes:
            declared = (getattr(inner, "openapi_extra", None) or {}).get("x-conveyor-role")
            for method in sorted(getattr(inner, "methods", None) or ()):
                if method != "HEAD" and not any(f[:2] == (method, inner.path) for f in found):
                    found.append((method, inner.path, declared))
    return found


def concrete(template: str, word: str) -> str:
    """`template` with every parameter named `word` (a name that may be an alias too)."""
    values = {"target": f"{word.lower()}:predict", "project": "p", "location": "l"}
    if template.endswith((":predict", ":rawPredict")):
        values["endpoint"] = word.lower()
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), word), template)


@pytest.fixture
def app(own_home, saved, tmp_path, settings):
    """Models `infer` and `predict`, each with aliases `infer`, `predict` and so on, an
    endpoint `infer` serving one, a monitor `infer` watching one, a pipeline `infer` with
    tags named alike, a schedule `infer` running it, and an experiment of each word with a
    run of that name; the app `conveyor serve` runs, with a token of each role."""
    for name in ("infer", "predict"):
        for n in (1, 2):
            folder = tmp_path / f"{name}-{n}"
            shutil.copytree(saved, folder)
            own_home.registry.upload(name, folder, framework="sklearn")
        for alias in ("infer", "predict", "setTraffic"):
            own_home.registry.set_alias(name, alias, 2)
    own_home.endpoints.create("infer")
    own_home.endpoints.deploy("infer", "infer@1")
    schema = [{"name": f"x{i}", "type": "float"} for i in range(4)]
    own_home.monitors.create("infer", "infer@predict", model_monitoring_schema=schema)
    own_home.pipelines.upload("infer", PIPELINE, tags=["infer", "predict", "setTraffic"])
    run_infer = {"pipeline_job": {"pipeline": "infer@infer", "parameters": {"n": 1}}}
    own_home.schedules.create("infer", "0 3 * * *", run_infer)
    for word in WORDS:
        own_home.experiments.create(word)
        own_home.experiments.start_run(word, word)
    return combined.create_app(settings, ServerSettings(poll_seconds=3600, tokens=Tokens(TOKENS)))


def state(home):
    """What a refused request must leave as it was."""
    registry = home.registry
    return (
        [m.to_json() for m in registry.list_models()],
        [v.to_json() for name in ("infer", "predict") for v in registry.list_versions(name)],
        [len(registry.history(name)) for name in ("infer", "predict")],
        [e.to_json() for e in home.endpoints.list()],
        [m.to_json() for m in home.monitors.list()],
        [v.to_json() for v in home.pipelines.versions("infer")],
        [s.to_json() for s in home.schedules.list()],
        [r.to_json() for r in home.experiments.list_runs(WORDS)],
        [len(home.experiments.time_series(word, word)) for word in WORDS],
    )


def test_every_route_and_every_role(app, serve, own_home):
    http = serve(app)
    routes = every_route(app, http.get("/openapi.json", headers=bearer("r-token")).json())
    assert len(routes) > 35, routes
    assert {(m, t) for m, t, declared in routes if declared == "public"} == CONSOLE
    before = state(own_home)
    allowed = []
    for method, template, declared in routes:
        needed = expected_role(method, template, declared)
        for word in WORDS:
            path = concrete(template, word)
            for role, token in BY_ROLE.items():
                if role >= needed:
                    allowed.append((method, path, token))
                    continue
                answer = http.request(method, path, json={}, headers=bearer(token))
                assert answer.status_code == 403, (method, path, role, answer.text)
                message = answer.text
                assert f"needs {needed.name.lower()} or higher" in message, message
    assert state(own_home) == before  # nothing a refused request could change changed
    for method, path, token in allowed:
        answer = http.request(method, path, json={}, headers=bearer(token))
        assert answer.status_code not in (401, 403), (method, path, token, answer.text)


def test_the_roles_are_in_the_openapi_document(app, serve):
    document = serve(app).get("/openapi.json", headers=bearer("r-token")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            role = expected_role(method.upper(), path).name.lower()
            assert operation["x-conveyor-role"] == role, (method, path)


def test_without_a_token_nothing_is_told(app, serve):
    http = serve(app)
    for method, path in [
        ("GET", "/api/v1/models/infer"),
        ("DELETE", "/api/v1/models/infer"),
        ("POST", "/api/v1/nothing"),
        ("GET", "/no/such/route"),
    ]:
        error = error_of(http.request(method, path, headers=bearer("wrong")), 401)
        assert error["message"] == "the API token is not valid on this server"


def test_only_the_console_s_shell_and_assets_need_no_token(app, serve):
    http = serve(app)
    for path in ("/", "/ui", "/ui/runs/train-1", "/ui/assets/nothing.js"):
        answer = http.get(path, follow_redirects=False)
        assert answer.status_code not in (401, 403), (path, answer.text)
    for method, path in [("GET", "/api/v1/runs"), ("POST", "/ui"), ("DELETE", "/ui/runs")]:
        error = error_of(http.request(method, path), 401)
        assert "needs an API token" in error["message"], (method, path)


def test_unknown_routes_answer_404_to_any_valid_token(app, serve):
    http = serve(app)
    for method in ("GET", "POST", "DELETE"):
        for path in ("/api/v1/nothing", "/api/v1/models/infer/nothing", "/nothing"):
            answer = http.request(method, path, headers=bearer("r-token"))
            assert answer.status_code == 404, (method, path, answer.text)


def test_the_tokens_name_is_who_the_history_records(app, serve, own_home, saved):
    http = serve(app)
    moved = http.put(
        "/api/v1/models/infer/aliases/production", json={"version": 1}, headers=bearer("a-token")
    )
    assert moved.status_code == 200, moved.text
    made = http.post("/api/v1/endpoints", json={"name": "e"}, headers=bearer("a-token"))
    assert made.json()["created_by"] == "ops"
    deployed = http.post(
        "/api/v1/endpoints/e:deployModel", json={"model": "infer@1"}, headers=bearer("d-token")
    )
    assert deployed.json()["deployed_by"] == "release-bot"
    entries = own_home.registry.history("infer", alias="production")
    assert [e.actor for e in entries] == ["ops"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
