"""API tokens: off by default; once configured, every route needs a token whose role covers
it (401 without one or with a bad one, 403 with too low a role)."""

from __future__ import annotations

import pytest
from serving_support import ROW

from conveyor.errors import UsageError
from conveyor.serving.app import create_app
from conveyor.serving.auth import Role, Tokens, matched_route, required_role
from conveyor.serving.settings import ServerSettings

TOKENS = "read:r-token, predict:p-token, deploy:d-token, admin:a-token"
PREDICT = "/v1/endpoints/e:predict"
INFER_BODY = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [3, 80.5, 6]}]}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def server(churn, endpoints, serve, monkeypatch):
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    monkeypatch.setenv("CONVEYOR_API_TOKENS", TOKENS)
    return serve()


def test_off_by_default(churn, endpoints, serve):
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    server = serve()
    assert server.client.post(PREDICT, json={"instances": [ROW]}).status_code == 200
    assert server.client.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", PREDICT),
        ("POST", "/v2/models/churn/infer"),
        ("GET", "/v2/health/live"),
        ("GET", "/metrics"),
        ("GET", "/v1/endpoints"),
        ("GET", "/no/such/route"),
    ],
)
def test_every_route_needs_a_valid_token(server, method, path):
    for headers in ({}, bearer("wrong"), {"Authorization": "Basic cDpw"}):
        answer = server.client.request(method, path, headers=headers, json={})
        assert answer.status_code == 401, (path, headers, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        error = answer.json()["error"]
        if path.startswith("/v2"):
            assert isinstance(error, str) and "token" in error
        else:
            assert (error["code"], error["status"]) == (401, "UNAUTHENTICATED")


def test_roles(server):
    predict = {"instances": [ROW]}
    denied = server.client.post(PREDICT, json=predict, headers=bearer("r-token"))
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == (
        f"token 'env-1' has role read; POST {PREDICT} needs predict or higher"
    )
    assert denied.json()["error"]["status"] == "PERMISSION_DENIED"
    for token in ("p-token", "d-token", "a-token"):
        assert server.client.post(PREDICT, json=predict, headers=bearer(token)).status_code == 200
    infer = server.client.post("/v2/models/churn/infer", json=INFER_BODY, headers=bearer("r-token"))
    assert infer.status_code == 403 and "needs predict" in infer.json()["error"]
    assert server.client.get("/metrics", headers=bearer("r-token")).status_code == 200
    assert server.client.get("/v2/models/churn", headers=bearer("r-token")).status_code == 200
    # The endpoint methods' roles: tests/api/test_endpoint_routes.py.


def test_a_tokens_file(churn, endpoints, serve, tmp_path, monkeypatch):
    path = tmp_path / "tokens"
    path.write_text("# who may call\npredict  s3cr3t  batch-job\n\nread viewer # dashboards\n")
    monkeypatch.setenv("CONVEYOR_API_TOKENS_FILE", str(path))
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    server = serve()
    ok = server.client.post(PREDICT, json={"instances": [ROW]}, headers=bearer("s3cr3t"))
    assert ok.status_code == 200
    denied = server.client.post(PREDICT, json={"instances": [ROW]}, headers=bearer("viewer"))
    assert "token 'line-4' has role read" in denied.json()["error"]["message"]
    named = server.client.get("/v1/nothing", headers=bearer("s3cr3t"))
    assert named.status_code == 404


def test_bad_token_settings_are_refused_before_serving(tmp_path):
    with pytest.raises(UsageError, match="entry 1 is not ROLE:TOKEN"):
        ServerSettings.from_env({"CONVEYOR_API_TOKENS": "just-a-token"})
    roles = "read, predict, track, deploy, approver, admin"
    with pytest.raises(UsageError, match=f"role 'root' is not one of {roles}"):
        ServerSettings.from_env({"CONVEYOR_API_TOKENS": "root:x"})
    approver = ServerSettings.from_env({"CONVEYOR_API_TOKENS": "approver:x"}).tokens
    assert approver.lookup("x") == (Role.APPROVER, "env-1")
    path = tmp_path / "tokens"
    path.write_text("predict\n")
    with pytest.raises(UsageError, match=r"tokens:1: write ROLE TOKEN \[NAME\]"):
        ServerSettings.from_env({"CONVEYOR_API_TOKENS_FILE": str(path)})
    with pytest.raises(UsageError, match="cannot read the tokens file"):
        ServerSettings.from_env({"CONVEYOR_API_TOKENS_FILE": str(tmp_path / "missing")})
    assert ServerSettings.from_env({}).tokens is None


def test_roles_go_by_the_route_a_request_matches(own_home):
    app = create_app(own_home, ServerSettings())

    def role(method, path):
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        route = matched_route(app.routes, scope)
        return route and required_role(route, method)

    assert role("GET", "/v2/models/infer") is Role.READ  # a model named infer
    assert role("GET", "/v2/models/infer/versions/infer/ready") is Role.READ
    assert role("POST", "/v2/models/infer/infer") is Role.PREDICT
    assert role("POST", "/v2/models/m/versions/2/infer") is Role.PREDICT
    assert role("POST", "/v1/endpoints/infer") is Role.PREDICT  # answered 404 by the route
    assert role("POST", "/v1/projects/p/locations/l/endpoints/e:rawPredict") is Role.PREDICT
    assert role("GET", "/metrics") is Role.READ
    assert role("POST", "/v2/models/infer") is None  # no route takes it: 405
    assert role("POST", "/nothing/infer") is None  # 404
    assert Tokens({"t": (Role.READ, "x")}).lookup("t") == (Role.READ, "x")
