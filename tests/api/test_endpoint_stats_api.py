"""`GET /api/v1/endpoints/{endpoint}/stats`: a real `conveyor serve` counts each deployed
model's requests, errors and latencies as predictions arrive, read with a token of any
role; the app of `conveyor ui`, which serves no predictions, says so with 409."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from api_support import error_of

from conveyor.api.server import create_console_app
from conveyor.config import Settings
from conveyor.home import open_home
from endpoint_stats_support import ENDPOINT, FAILING, GOOD, add_flaky_endpoint, predict
from remote_support import TOKENS, conveyor_serve, fill_home

READ = {"Authorization": f"Bearer {TOKENS['read']}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`conveyor serve` over a home whose endpoint `flaky` serves deployed model `id`."""
    root = tmp_path_factory.mktemp("stats")
    folder = root / "server-home"
    fill_home(folder)
    with open_home(settings=Settings.from_env(folder, environ={})) as home:
        deployed = add_flaky_endpoint(home, root / "flaky")
    tokens = {role: (token, f"{role}r") for role, token in TOKENS.items()}
    with conveyor_serve(folder, tokens, root) as url:
        yield url, deployed


def stats(http, endpoint=ENDPOINT):
    return http.get(f"/api/v1/endpoints/{endpoint}/stats", headers=READ)


def test_the_counters_grow_with_the_predictions_answered(served):
    url, deployed = served
    with httpx.Client(base_url=url, timeout=30) as http:
        before = stats(http).json()
        headers = {"Authorization": f"Bearer {TOKENS['predict']}"}
        assert predict(url, [GOOD, GOOD, FAILING], headers) == [200, 200, 500]
        after = stats(http).json()
    assert after["endpoint"] == ENDPOINT
    assert datetime.fromisoformat(after["read_at"]) >= datetime.fromisoformat(before["read_at"])
    [was], [now] = before["deployed_models"], after["deployed_models"]
    assert (now["id"], now["reference"]) == (deployed, "flaky@1")
    assert now["requests"] - was["requests"] == 3
    assert now["errors"] - was["errors"] == 1
    assert now["latency_bounds"][-1] == "+Inf" and now["latency_bounds"][0] == 0.0005
    assert now["latency_counts"][-1] == now["requests"]  # cumulative: +Inf holds them all
    assert now["latency_counts"] == sorted(now["latency_counts"])


def test_reading_needs_a_token_and_a_known_endpoint(served):
    url, _ = served
    with httpx.Client(base_url=url, timeout=30) as http:
        error_of(http.get(f"/api/v1/endpoints/{ENDPOINT}/stats"), 401)
        assert "nope" in error_of(stats(http, "nope"), 404)["message"]


def test_a_server_that_serves_no_predictions_says_where_to_look(serve, own_home, settings):
    own_home.endpoints.create("quiet")
    http = serve(create_console_app(settings))  # what `conveyor ui` serves
    error = error_of(http.get("/api/v1/endpoints/quiet/stats"), 409)
    assert "does not serve predictions" in error["message"]
    assert "`conveyor serve`" in error["message"]
    error_of(http.get("/api/v1/endpoints/nope/stats"), 404)
