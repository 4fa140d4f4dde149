"""What a client sends never makes `/api/v1` answer a 500, nor a value it did not mean:
strict booleans and integers, integers that fit the store, JSON that nests and counts
within bounds, Unicode text, JSON bodies only (415), and a body limit (413). Each refusal
is a 4xx whose message names the field."""

from __future__ import annotations

import json

import pytest
from api_support import error_of

from conveyor.api import server as combined
from conveyor.errors import UsageError
from conveyor.serving.settings import ServerSettings

API = "/api/v1/models"
BIG = 2**63
JSON = {"content-type": "application/json"}


@pytest.fixture
def churn(api, saved):
    """Model churn, version 1, not trusted; endpoint e."""
    body = {"name": "churn", "artifact_uri": str(saved), "framework": "sklearn"}
    assert api.post(API, json=body).status_code == 201
    assert api.post("/api/v1/endpoints", json={"name": "e"}).status_code == 201
    return api


@pytest.mark.parametrize("value", ["yes", "on", "true", 1, 0, [], {}])
def test_booleans_are_booleans(churn, value):
    error = error_of(churn.patch(f"{API}/churn/versions/1", json={"trusted": value}), 400)
    assert error["message"].startswith("body.trusted:"), error
    assert churn.get(f"{API}/churn/versions/1").json()["trusted"] is False
    pin = error_of(
        churn.post("/api/v1/endpoints/e:deployModel", json={"model": "churn", "pin": value}), 400
    )
    assert pin["message"].startswith("body.pin:"), pin


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("body.execution_id", {"execution_id": "3"}),
        ("body.execution_id", {"execution_id": 3.0}),
        ("body.execution_id", {"execution_id": True}),
    ],
)
def test_integers_are_integers(churn, saved, field, body):
    fields = {"artifact_uri": str(saved), "framework": "sklearn", **body}
    error = error_of(churn.post(f"{API}/churn/versions", json=fields), 400)
    assert error["message"].startswith(f"{field}:"), error


def test_log_sample_rate_is_a_number(churn):
    error = error_of(churn.patch("/api/v1/endpoints/e", json={"log_sample_rate": "0.5"}), 400)
    assert error["message"].startswith("body.log_sample_rate:"), error


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("GET", f"{API}/churn/versions/{BIG}", {}, "path.version"),
        ("GET", f"{API}/churn@{BIG}", {}, "path.selector"),
        ("PATCH", f"{API}/churn/versions/{BIG}", {"json": {}}, "path.version"),
        ("GET", f"{API}/churn/history", {"params": {"version": BIG}}, "query.version"),
        ("GET", f"{API}/churn/history", {"params": {"after": BIG}}, "query.after"),
        ("GET", f"{API}/churn/history", {"params": {"limit": BIG}}, "query.limit"),
        ("PUT", f"{API}/churn/aliases/prod", {"json": {"version": BIG}}, "body.version"),
        ("PUT", f"{API}/churn/aliases/prod", {"json": {"version": str(BIG)}}, "body.version"),
        (
            "POST",
            f"{API}/churn/versions/1/evaluations",
            {"json": {"metrics": {"n": BIG}}},
            "body.metrics.n",
        ),
        (
            "POST",
            f"{API}/churn/versions/1/evaluations",
            {"json": {"metrics": {}, "slice": {"n": -BIG - 1}}},
            "body.slice.n",
        ),
        (
            "POST",
            "/api/v1/endpoints/e:setTraffic",
            {"json": {"traffic_split": {"1": BIG}}},
            "body.traffic_split.1",
        ),
        (
            "POST",
            "/api/v1/endpoints/e:setTraffic",
            {"json": {"deployed_model_id": "1", "traffic_percentage": BIG}},
            "body.traffic_percentage",
        ),
        (
            "POST",
            "/api/v1/endpoints/e:undeployModel",
            {"json": {"deployed_model_id": str(BIG)}},
            "body.deployed_model_id",
        ),
        (
            "POST",
            "/api/v1/endpoints/e:deployModel",
            {"json": {"model": f"churn@{BIG}"}},
            "body.model",
        ),
    ],
)
def test_integers_beyond_64_bits_are_refused(churn, method, path, kwargs, field):
    error = error_of(churn.request(method, path, **kwargs), 400)
    assert error["message"].startswith(field), error


def test_an_integer_too_big_for_the_store_at_registration(churn, saved):
    body = {"artifact_uri": str(saved), "framework": "sklearn", "execution_id": BIG}
    error = error_of(churn.post(f"{API}/churn/versions", json=body), 400)
    assert error["message"].startswith("body.execution_id:"), error


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"metrics": {"a": 1' + "0" * 400 + "}}", "body.metrics.a"),
        ('{"metrics": {"a": 1' + "0" * 5000 + "}}", "body.metrics.a"),
        ('{"metrics": {"a": 1e999}}', "body.metrics.a"),
        ('{"metrics": {"a": [NaN]}}', "body.metrics.a.0"),
        ('{"metrics": {"a": -Infinity}}', "body.metrics.a"),
    ],
)
def test_numbers_beyond_a_double_are_refused(churn, text, field):
    answer = churn.post(f"{API}/churn/versions/1/evaluations", content=text, headers=JSON)
    error = error_of(answer, 400)
    assert error["message"].startswith(f"{field}:"), error


@pytest.mark.parametrize("depth", [40, 5_000, 200_000])
def test_deep_nesting_is_refused(churn, depth):
    text = '{"metrics": {"a": ' + "[" * depth + "]" * depth + "}}"
    answer = churn.post(f"{API}/churn/versions/1/evaluations", content=text, headers=JSON)
    error = error_of(answer, 400)
    assert "nests deeper than 32 levels" in error["message"], error
    assert churn.get(f"{API}/churn/evaluations").json()["evaluations"] == []


def test_nesting_within_the_bound_is_taken(churn):
    metrics = {"curve": [[[0.1, 0.2]] * 3] * 2}
    answer = churn.post(f"{API}/churn/versions/1/evaluations", json={"metrics": metrics})
    assert answer.status_code == 201, answer.text
    assert answer.json()["metrics"] == metrics


@pytest.mark.parametrize(
    ("method", "path", "text", "field"),
    [
        ("PATCH", f"{API}/churn", '{"description": "a\\ud800b"}', "body.description"),
        ("PATCH", f"{API}/churn", '{"labels": {"team": "\\udfff"}}', "body.labels.team"),
        (
            "POST",
            f"{API}/churn/versions/1/evaluations",
            '{"metrics": {"\\ud83d": 1}}',
            "body.metrics",
        ),
        (
            "POST",
            f"{API}/churn/versions/1/evaluations",
            '{"metrics": {}, "run_id": "\\ud800"}',
            "body.run_id",
        ),
        (
            "POST",
            "/api/v1/endpoints",
            '{"name": "x", "description": "\\udc80"}',
            "body.description",
        ),
    ],
)
def test_lone_surrogates_are_refused(churn, method, path, text, field):
    answer = churn.request(method, path, content=text.encode(), headers=JSON)
    error = error_of(answer, 400)
    assert error["message"].startswith(f"{field}"), error
    assert "surrogate" in error["message"], error


def test_a_pair_of_surrogates_is_one_character(churn):
    answer = churn.patch(f"{API}/churn", content='{"description": "\\ud83d\\ude00"}', headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "\U0001f600"


def test_bytes_that_are_not_utf8_are_refused(churn):
    answer = churn.patch(f"{API}/churn", content=b'{"description": "\xed\xa0\x80"}', headers=JSON)
    assert "not UTF-8" in error_of(answer, 400)["message"]


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}],
)
def test_json_routes_take_json_only(churn, headers):
    body = json.dumps({"description": "d"}).encode()
    answer = churn.patch(f"{API}/churn", content=body, headers=headers)
    error = error_of(answer, 415)
    assert "application/json" in error["message"]
    assert churn.get(f"{API}/churn").json()["description"] is None


def test_json_with_a_charset_is_json(churn):
    headers = {"content-type": "application/json; charset=utf-8"}
    answer = churn.patch(f"{API}/churn", content=b'{"description": "d"}', headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_body_over_the_limit_is_refused(churn):
    big = {"metrics": {"a": "x" * 1_100_000}}
    error = error_of(churn.post(f"{API}/churn/versions/1/evaluations", json=big), 413)
    assert "limit of 1048576 bytes" in error["message"], error
    assert error["status"] == "INVALID_ARGUMENT"

    def chunks():
        yield b'{"metrics": {"a": "'
        for _ in range(40):
            yield b"x" * 50_000
        yield b'"}}'

    streamed = churn.post(f"{API}/churn/versions/1/evaluations", content=chunks(), headers=JSON)
    assert "limit of 1048576 bytes" in error_of(streamed, 413)["message"]
    assert churn.get(f"{API}/churn/evaluations").json()["evaluations"] == []


def test_the_limit_is_a_server_setting(own_home, serve, settings, saved):
    own_home.registry.upload("churn", saved, framework="sklearn")
    server = ServerSettings.from_env({"CONVEYOR_MAX_API_REQUEST_BYTES": "200"}, poll_seconds=3600)
    http = serve(combined.create_app(settings, server))  # what `conveyor serve` runs
    long = error_of(http.patch(f"{API}/churn", json={"description": "d" * 200}), 413)
    assert "limit of 200 bytes" in long["message"]
    assert http.patch(f"{API}/churn", json={"description": "short"}).status_code == 200
    with pytest.raises(UsageError, match="CONVEYOR_MAX_API_REQUEST_BYTES must be positive"):
        ServerSettings.from_env({"CONVEYOR_MAX_API_REQUEST_BYTES": "0"})


def test_the_openapi_document_declares_what_the_server_enforces(api):
    document = api.get("/openapi.json").json()
    paths = document["paths"]

    def parameter(path, method, name):
        found = [p for p in paths[path][method]["parameters"] if p["name"] == name]
        return found[0]["schema"]

    name = parameter(f"{API}/{{name}}", "get", "name")
    assert name["pattern"] == "^[A-Za-z][A-Za-z0-9_-]{0,127}$"
    alias = parameter(f"{API}/{{name}}/aliases/{{alias}}", "put", "alias")
    assert alias["pattern"] == "^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$"
    version = parameter(f"{API}/{{name}}/versions/{{version}}", "get", "version")
    assert version["pattern"] == "^(?:[0-9]{1,18}|[a-z][a-zA-Z0-9-]{0,126}[a-z0-9])$"
    selector = parameter(f"{API}/{{name}}@{{selector}}", "get", "selector")
    assert selector["pattern"] == version["pattern"]
    endpoint = parameter("/api/v1/endpoints/{endpoint}", "get", "endpoint")
    assert endpoint["pattern"] == "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
    history = paths[f"{API}/{{name}}/history"]["get"]["parameters"]
    limits = {p["name"]: p["schema"].get("anyOf", [p["schema"]])[0] for p in history}
    assert limits["version"]["maximum"] == BIG - 1
    schemas = document["components"]["schemas"]
    assert schemas["NewModel"]["properties"]["name"]["pattern"] == name["pattern"]
    assert schemas["NewEndpoint"]["properties"]["name"]["pattern"] == endpoint["pattern"]
    for operation in (op for ops in paths.values() for op in ops.values()):
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(operation["responses"]), operation["summary"]


@pytest.mark.parametrize(
    ("path", "field"),
    [(f"{API}/churn%20x", "path.name"), (f"{API}/churn/aliases/Prod", "path.alias")],
)
def test_a_path_breaking_its_pattern_names_the_parameter(churn, path, field):
    error = error_of(churn.delete(path), 400)
    assert error["message"].startswith(f"{field} "), error
