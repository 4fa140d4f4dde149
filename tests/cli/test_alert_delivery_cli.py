"""`conveyor monitors alerts` and `conveyor monitors deliver` through the real entry point:
the table of alerts with their deliveries' states, JSON, filters, what was sent and what
failed, and bad input answered with exit 2 and a message naming it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alert_support import NOW, free_port, raise_alert, receiving
from conveyor.home import open_home

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]


@pytest.fixture
def alerting(tmp_path):
    """Monitor churn-drift of churn@production with a webhook, and two alerts: an anomaly on
    tenure (to the alert log and the webhook) and a recovery on plan an hour later (log)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    url = f"http://127.0.0.1:{free_port()}/hook"
    with open_home() as home:
        home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
        home.registry.set_alias("churn", "production", 1)
        home.monitors.create(
            "churn-drift", "churn@production", notification_spec={"webhook": {"url": url}}
        )
        first = raise_alert(home.store, "churn-drift", [("log", ""), ("webhook", url)])
        second = raise_alert(
            home.store, "churn-drift", [("log", "")], feature="plan", kind="recovery",
            at=NOW + timedelta(hours=1),
        )  # fmt: skip
    return url, first, second


def test_alerts_table_and_json(cli, alerting):
    url, first, second = alerting
    done = cli("monitors", "alerts", "churn-drift")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0].split() == [
        "RAISED", "(UTC)", "ID", "OBJECTIVE", "FEATURE", "KIND", "VALUE", "THRESHOLD", "DELIVERIES",
    ]  # fmt: skip
    assert lines[1].split()[2:] == [
        str(second), "feature_drift", "plan", "recovery", "0.42", "0.3", "log", "PENDING",
    ]  # fmt: skip
    assert lines[2].split()[2:] == [
        str(first), "feature_drift", "tenure", "anomaly", "0.42", "0.3",
        "log", "PENDING,", "webhook", "PENDING",
    ]  # fmt: skip

    done = cli("monitors", "alerts", "churn-drift", "--kind", "anomaly", "--json")
    assert done.code == 0, done.err
    (alert,) = json.loads(done.out)
    assert (alert["id"], alert["feature"], alert["kind"]) == (first, "tenure", "anomaly")
    assert [(d["channel"], d["destination"], d["state"]) for d in alert["deliveries"]] == [
        ("log", "", "PENDING"),
        ("webhook", url, "PENDING"),
    ]
    done = cli("monitors", "alerts", "churn-drift", "--since", "2026-06-02T12:30", "--json")
    assert [a["id"] for a in json.loads(done.out)] == [second]
    done = cli("monitors", "alerts", "churn-drift", "--feature", "age")
    assert (done.code, done.out.strip()) == (0, "No alerts of churn-drift match.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "alarm"], "kind: 'alarm' is not one of anomaly, recovery"),
        (["--objective", "skew"], "objective: 'skew' is not one of feature_drift"),
        (["--since", "soon"], "since 'soon' is neither a duration"),
        (["--limit", "0"], "limit: give a whole number from 1 to 10000"),
    ],
)
def test_bad_filters_exit_2_naming_them(cli, alerting, args, message):
    done = cli("monitors", "alerts", "churn-drift", *args)
    assert done.code == 2
    assert message in done.err
    assert "Traceback" not in done.err


def test_an_unknown_monitor_exits_2(cli, alerting):
    done = cli("monitors", "alerts", "nope")
    assert done.code == 2 and "no monitor 'nope'" in done.err


def test_deliver_reports_what_was_sent_and_what_failed(cli, alerting, home):
    url, first, second = alerting
    done = cli("monitors", "deliver")
    assert done.code == 1, done.err  # the webhook is down
    assert f"Sent alert {first}: log" in done.out
    assert f"Sent alert {second}: log" in done.out
    assert f"Failed alert {first}: webhook {url}: " in done.out
    assert "retried after" in done.out
    assert done.out.strip().endswith("2 sent, 1 failed")
    logged = [json.loads(line) for line in (home / "monitoring" / "alerts.jsonl").open()]
    assert sorted(line["alert_id"] for line in logged) == [first, second]

    done = cli("monitors", "alerts", "churn-drift", "--json")
    states = {
        a["id"]: [(d["state"], d["attempts"]) for d in a["deliveries"]]
        for a in json.loads(done.out)
    }
    assert states == {first: [("DELIVERED", 1), ("PENDING", 1)], second: [("DELIVERED", 1)]}

    done = cli("monitors", "deliver")  # the retry is not due yet
    assert (done.code, done.out.strip()) == (0, "No alert deliveries are due.")


def test_deliver_json(cli, alerting):
    url = alerting[0]
    port = int(url.split(":")[2].split("/")[0])
    with receiving(port=port) as receiver:
        done = cli("monitors", "deliver", "--json")
    assert done.code == 0, done.err
    assert sorted(d["channel"] for d in json.loads(done.out)) == ["log", "log", "webhook"]
    assert len(receiver.received) == 1
