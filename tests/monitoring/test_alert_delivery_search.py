"""`Monitors.search_alerts` and `Monitors.deliveries`: filters by monitor, feature,
objective, kind and time, newest first, and each bad filter refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alert_support import NOW, raise_alert
from conveyor.monitoring import MonitorNotFound, MonitorUsageError


@pytest.fixture
def raised(monitors):
    """Four alerts of churn-drift and one of churn-skew, an hour apart."""
    for name in ("churn-drift", "churn-skew"):
        monitors.create(name, "churn@production", notification_spec={"user_emails": ["a@b.co"]})
    ids = [
        raise_alert(monitors.store, "churn-drift", [("log", "")], feature="tenure", at=NOW),
        raise_alert(
            monitors.store, "churn-drift", [("log", ""), ("email", "a@b.co")],
            feature="plan", at=NOW + timedelta(hours=1),
        ),
        raise_alert(
            monitors.store, "churn-drift", [], feature="tenure", objective="feature_skew",
            at=NOW + timedelta(hours=2),
        ),
        raise_alert(
            monitors.store, "churn-drift", [], feature="tenure", kind="recovery",
            at=NOW + timedelta(hours=3), value=0.1,
        ),
        raise_alert(monitors.store, "churn-skew", [], feature="plan", at=NOW),
    ]  # fmt: skip
    return monitors, ids


def test_filters(raised):
    monitors, ids = raised
    everything = monitors.search_alerts()
    # newest first; at the same time, the later alert first
    assert [a.id for a in everything] == [ids[3], ids[2], ids[1], ids[4], ids[0]]
    drift = monitors.search_alerts("churn-drift")
    assert [a.id for a in drift] == [ids[3], ids[2], ids[1], ids[0]]  # newest first
    assert {a.monitor for a in drift} == {"churn-drift"}
    assert [a.id for a in monitors.search_alerts("churn-drift", feature="plan")] == [ids[1]]
    assert [a.id for a in monitors.search_alerts("churn-drift", objective="feature_skew")] == [
        ids[2]
    ]
    recovered = monitors.search_alerts("churn-drift", kind="recovery")
    assert [(a.id, a.kind.value, a.value) for a in recovered] == [(ids[3], "recovery", 0.1)]
    window = monitors.search_alerts(
        "churn-drift", start_time=NOW + timedelta(hours=1), end_time=NOW + timedelta(hours=3)
    )
    assert [a.id for a in window] == [ids[2], ids[1]]  # start inclusive, end exclusive
    naive = monitors.search_alerts("churn-drift", start_time=datetime(2026, 6, 2, 14))
    assert [a.id for a in naive] == [ids[3], ids[2]]  # a naive time is UTC
    assert [a.id for a in monitors.search_alerts("churn-drift", limit=1)] == [ids[3]]
    assert monitors.search_alerts("churn-drift", feature="age") == []


def test_deliveries_of_alerts(raised):
    monitors, ids = raised
    found = monitors.deliveries(ids[0], ids[1])
    assert [(d.alert_id, d.channel.value, d.destination, d.state.value) for d in found] == [
        (ids[0], "log", "", "PENDING"),
        (ids[1], "log", "", "PENDING"),
        (ids[1], "email", "a@b.co", "PENDING"),
    ]
    assert found[0].next_attempt_at == NOW and found[0].attempts == 0
    assert monitors.deliveries() == [] and monitors.deliveries(ids[2]) == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"objective": "drift"}, "objective: 'drift' is not one of feature_drift"),
        ({"kind": "alarm"}, "kind: 'alarm' is not one of anomaly, recovery"),
        ({"limit": 0}, "limit: give a whole number from 1 to 10000"),
        ({"limit": True}, "limit: give a whole number"),
        ({"feature": ""}, "feature: give a field name"),
        ({"start_time": "yesterday"}, "start_time: give a datetime"),
        (
            {"start_time": NOW, "end_time": NOW - timedelta(hours=1)},
            "start_time: 2026-06-02T12:00:00+00:00 is not before end_time",
        ),
    ],
)
def test_bad_filters_are_refused_by_name(quick, filters, message):
    with pytest.raises(MonitorUsageError) as caught:
        quick.search_alerts(**filters)
    assert str(caught.value).startswith(message)


def test_unknown_monitor_and_bad_ids(quick):
    with pytest.raises(MonitorNotFound, match="no monitor 'nope'"):
        quick.search_alerts("nope")
    with pytest.raises(MonitorUsageError, match="alert_id: 0 is not an alert id"):
        quick.deliveries(0)
    assert quick.search_alerts(start_time=datetime(2020, 1, 1, tzinfo=UTC)) == []
