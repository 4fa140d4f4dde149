"""`GET /api/v1/monitors/{monitor}/alerts` served for real: the alerts with their
deliveries, strict filters (400 naming the parameter, unknown ones included), 404 for an
unknown monitor, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_support import error_of

from alert_support import NOW, raise_alert

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]
URL = "/api/v1/monitors/churn-drift/alerts"


@pytest.fixture
def alerting(own_home, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    own_home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    own_home.registry.set_alias("churn", "production", 1)
    own_home.monitors.create(
        "churn-drift", "churn@production", notification_spec={"user_emails": ["ops@example.com"]}
    )
    first = raise_alert(own_home.store, "churn-drift", [("log", ""), ("email", "ops@example.com")])
    second = raise_alert(
        own_home.store, "churn-drift", [], feature="plan", objective="feature_skew",
        kind="recovery", at=NOW + timedelta(hours=1),
    )  # fmt: skip
    return first, second


def test_alerts_with_their_deliveries(api, alerting):
    first, second = alerting
    answer = api.get(URL)
    assert answer.status_code == 200, answer.text
    alerts = answer.json()["alerts"]
    assert [a["id"] for a in alerts] == [second, first]
    assert alerts[1]["created_at"] == "2026-06-02T12:00:00Z"
    assert (alerts[1]["objective"], alerts[1]["kind"], alerts[1]["value"]) == (
        "feature_drift", "anomaly", 0.42,
    )  # fmt: skip
    assert [
        (d["channel"], d["destination"], d["state"], d["attempts"]) for d in alerts[1]["deliveries"]
    ] == [
        ("log", "", "PENDING", 0),
        ("email", "ops@example.com", "PENDING", 0),
    ]
    assert alerts[0]["deliveries"] == []

    def ids(**params):
        answer = api.get(URL, params=params)
        assert answer.status_code == 200, answer.text
        return [a["id"] for a in answer.json()["alerts"]]

    assert ids(kind="anomaly") == [first]
    assert ids(objective="feature_skew", feature="plan") == [second]
    assert ids(start_time="2026-06-02T12:30:00Z") == [second]
    assert ids(end_time="2026-06-02T12:30:00") == [first]  # no zone: UTC
    assert ids(limit=1) == [second]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "alarm"}, "kind"),
        ({"objective": "drift"}, "objective"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_answer_400_naming_them(api, alerting, params, field):
    error = error_of(api.get(URL, params=params), 400)
    assert field in error["message"], error


def test_a_reversed_time_range_answers_400(api, alerting):
    error = error_of(
        api.get(
            URL, params={"start_time": "2026-06-03T00:00:00Z", "end_time": "2026-06-02T00:00:00Z"}
        ),
        400,
    )
    assert error["message"].startswith("start_time:"), error


def test_an_unknown_monitor_answers_404(api, alerting):
    error = error_of(api.get("/api/v1/monitors/nope/alerts"), 404)
    assert "no monitor 'nope'" in error["message"]
    error_of(api.get("/api/v1/monitors/-bad-/alerts"), 400)


def test_the_route_needs_the_read_role(api):
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/monitors/{monitor}/alerts"]["get"]
    assert operation["x-conveyor-role"] == "read"
