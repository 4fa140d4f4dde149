"""`conveyor serve`'s app: the control API and the prediction routes on one server."""

from __future__ import annotations

import pytest
from serving_support import ROW, start_server

from conveyor.api.server import create_app
from conveyor.serving.settings import ServerSettings


@pytest.fixture
def both(settings, churn, endpoints):
    """`both()`: start the app `conveyor serve` runs, which opens a home of its own."""
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")

    def start(**overrides):
        server = ServerSettings.from_env(poll_seconds=0.05, log_flush_seconds=3600.0, **overrides)
        return start_server(create_app(settings, server))

    started = []
    yield lambda **o: started.append(start(**o)) or started[-1]
    for running in started:
        running.stop()


def test_control_api_and_predictions_answer_on_one_port(both):
    server = both()
    http = server.client
    models = http.get("/api/v1/models")
    assert models.status_code == 200, models.text
    assert [m["name"] for m in models.json()["models"]] == ["churn"]
    answer = http.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "churn"
    assert http.get("/v2/health/ready").status_code == 200
    assert "/api/v1/models" in http.get("/openapi.json").json()["paths"]


def test_a_deployed_version_cannot_be_deleted_through_the_api(both):
    http = both().client
    refused = http.delete("/api/v1/models/churn/versions/1")
    assert refused.status_code == 409, refused.text
    assert "deployed to endpoint churn-prod" in refused.json()["error"]["message"]


def test_tokens_guard_the_control_api_too(both, monkeypatch):
    monkeypatch.setenv("CONVEYOR_API_TOKENS", "read:r-token,admin:a-token")
    http = both().client
    assert http.get("/api/v1/models").status_code == 401
    headers = {"Authorization": "Bearer r-token"}
    assert http.get("/api/v1/models", headers=headers).status_code == 200
    refused = http.delete("/api/v1/models/churn", headers=headers)
    assert refused.status_code == 403


def test_the_cli_refuses_to_delete_a_deployed_version(churn, endpoints):
    from typer.testing import CliRunner

    from conveyor.cli.main import app

    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    result = CliRunner().invoke(app, ["models", "delete", "churn@1", "--yes"])
    assert result.exit_code != 0
    assert "deployed to endpoint churn-prod" in result.output
