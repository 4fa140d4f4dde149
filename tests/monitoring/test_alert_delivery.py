"""`Deliverer`: due deliveries sent once, retried with backoff from rows that outlive the
process, given up, dropped when their monitor goes; on SQLite and PostgreSQL, against a
real HTTP receiver and a real SMTP server on loopback. Time is passed in, never slept."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from alert_support import KEY, NOW, free_port, raise_alert, receiving, smtp_server, verify
from conveyor.config import Settings
from conveyor.monitoring import Deliverer, Monitors
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.monitoring_models import AlertDelivery

DELIVERIES = AlertDelivery.__table__


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(tmp_path / "home")


def watch(monitors: Monitors, url: str, emails=(), name="churn-drift", secret="HOOK_KEY"):
    webhook = {"url": url, "secret_setting": secret} if secret else {"url": url}
    return monitors.create(
        name,
        "churn@production",
        notification_spec={"webhook": webhook, "user_emails": list(emails)},
    )


def states(monitors: Monitors, alert_id: int) -> dict[str, tuple]:
    return {d.channel.value: (d.state.value, d.attempts) for d in monitors.deliveries(alert_id)}


def test_every_channel_delivered_once(monitors, settings, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", KEY)
    with receiving() as receiver, smtp_server() as (mailbox, port):
        watch(monitors, receiver.url, ["ops@example.com"])
        alert = raise_alert(
            monitors.store,
            "churn-drift",
            [("log", ""), ("webhook", receiver.url), ("email", "ops@example.com")],
        )
        mail = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port)
        deliverer = Deliverer(monitors.store, mail)
        sent = deliverer.deliver_due(NOW)
        assert {d.channel.value: d.state.value for d in sent} == {
            "log": "DELIVERED", "webhook": "DELIVERED", "email": "DELIVERED",
        }  # fmt: skip
        assert all(d.delivered_at == NOW and d.attempts == 1 for d in sent)
        assert deliverer.deliver_due(NOW + timedelta(hours=1)) == []  # nothing twice
    (hook,) = receiver.received
    assert verify(KEY, hook["headers"], hook["raw"])
    assert hook["json"]["monitor"] == "churn-drift" and hook["json"]["alert_id"] == alert
    assert len(mailbox.messages) == 1
    (line,) = (settings.folder / "monitoring" / "alerts.jsonl").read_text().splitlines()
    logged = json.loads(line)
    assert (logged["model"], logged["version"], logged["chance_level"]) == ("churn", 1, 0.01)


def test_a_delivery_not_yet_due_waits(quick, settings):
    watch(quick, "http://127.0.0.1:9/hook", secret=None)
    raise_alert(quick.store, "churn-drift", [("log", "")], at=NOW)
    deliverer = Deliverer(quick.store, settings)
    assert deliverer.deliver_due(NOW - timedelta(seconds=1)) == []
    assert [d.state.value for d in deliverer.deliver_due(NOW)] == ["DELIVERED"]


def test_retried_with_backoff_and_delivered_by_the_next_process(
    monitors, settings, monkeypatch, store_url
):
    """The receiver is down: the failure is kept with its retry time; a new Deliverer (a
    restarted process) sends it once the receiver is up."""
    monkeypatch.setenv("HOOK_KEY", KEY)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    watch(monitors, url)
    alert = raise_alert(monitors.store, "churn-drift", [("webhook", url)])
    first = Deliverer(monitors.store, settings)
    (failed,) = first.deliver_due(NOW)
    assert (failed.state.value, failed.attempts) == ("PENDING", 1)
    assert failed.next_attempt_at == NOW + timedelta(seconds=30)
    assert failed.last_error.startswith(f"webhook {url}: ")
    assert first.deliver_due(NOW + timedelta(seconds=29)) == []
    (again,) = first.deliver_due(NOW + timedelta(seconds=30))
    assert again.next_attempt_at == NOW + timedelta(seconds=30 + 60)  # doubled
    del first
    with MetadataStore.open(store_url) as reopened, receiving(port=port) as receiver:
        (done,) = Deliverer(reopened, settings).deliver_due(NOW + timedelta(seconds=90))
    assert (done.state.value, done.attempts, done.last_error) == ("DELIVERED", 3, None)
    assert done.delivered_at == NOW + timedelta(seconds=90)
    assert len(receiver.received) == 1 and verify(
        KEY, receiver.received[0]["headers"], receiver.received[0]["raw"]
    )
    assert states(monitors, alert) == {"webhook": ("DELIVERED", 3)}


def test_backoff_is_capped(settings, quick):
    deliverer = Deliverer(quick.store, settings, max_backoff=timedelta(minutes=5))
    assert [deliverer.retry_delay(n).total_seconds() for n in range(1, 7)] == [
        30, 60, 120, 240, 300, 300,
    ]  # fmt: skip


def test_a_refusal_is_not_retried(quick, settings):
    with receiving(404) as receiver:
        watch(quick, receiver.url, secret=None)
        raise_alert(quick.store, "churn-drift", [("webhook", receiver.url)])
        (failed,) = Deliverer(quick.store, settings).deliver_due(NOW)
    assert (failed.state.value, failed.attempts, failed.next_attempt_at) == ("FAILED", 1, None)
    assert "answered 404" in failed.last_error


def test_given_up_after_the_last_attempt(quick, settings):
    url = f"http://127.0.0.1:{free_port()}/hook"
    watch(quick, url, secret=None)
    alert = raise_alert(quick.store, "churn-drift", [("webhook", url)])
    deliverer = Deliverer(quick.store, settings, max_attempts=3)
    moment = NOW
    for attempt in (1, 2):
        (pending,) = deliverer.deliver_due(moment)
        assert (pending.state.value, pending.attempts) == ("PENDING", attempt)
        moment = pending.next_attempt_at
    (failed,) = deliverer.deliver_due(moment)
    assert (failed.state.value, failed.attempts, failed.next_attempt_at) == ("FAILED", 3, None)
    assert failed.last_error.endswith("(gave up after 3 attempts)")
    assert deliverer.deliver_due(moment + timedelta(days=1)) == []
    assert states(quick, alert) == {"webhook": ("FAILED", 3)}


def test_a_missing_signing_key_fails_the_attempt_and_is_retried(quick, settings):
    with receiving() as receiver:
        watch(quick, receiver.url, secret="CHURN_HOOK_KEY")
        raise_alert(quick.store, "churn-drift", [("webhook", receiver.url)])
        (failed,) = Deliverer(quick.store, settings, environ={}).deliver_due(NOW)
        assert (failed.state.value, failed.attempts) == ("PENDING", 1)
        assert "CHURN_HOOK_KEY" in failed.last_error
        key = {"CHURN_HOOK_KEY": KEY}
        (done,) = Deliverer(quick.store, settings, environ=key).deliver_due(failed.next_attempt_at)
    assert done.state.value == "DELIVERED"
    assert [verify(KEY, r["headers"], r["raw"]) for r in receiver.received] == [True]


def test_two_deliverers_racing_send_each_once(monitors, settings, store_url):
    """Two processes' worth (two stores, two threads) on the same rows."""
    with receiving() as receiver:
        watch(monitors, receiver.url, secret=None)
        for i in range(15):
            raise_alert(
                monitors.store,
                "churn-drift",
                [("webhook", receiver.url), ("log", "")],
                feature=f"f{i}",
            )
        results: list = [None, None]
        start = threading.Barrier(2)

        def deliver(slot):
            with MetadataStore.open(store_url) as store:
                start.wait()
                results[slot] = Deliverer(store, settings).deliver_due(NOW)

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    ids = [d.id for r in results for d in r]
    assert len(ids) == 30 and len(set(ids)) == 30
    delivered = [r["headers"]["X-Conveyor-Delivery"] for r in receiver.received]
    assert len(delivered) == 15 and len(set(delivered)) == 15
    lines = (settings.folder / "monitoring" / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["feature"] for line in lines) == sorted(
        f"f{i}" for i in range(15)
    )


def test_a_monitor_deleted_while_sending_drops_its_deliveries(monitors, settings):
    with receiving() as receiver:
        receiver.on_request = lambda: monitors.delete("churn-drift")
        watch(monitors, receiver.url, secret=None)
        raise_alert(monitors.store, "churn-drift", [("webhook", receiver.url)])
        assert Deliverer(monitors.store, settings).deliver_due(NOW) == []
    assert len(receiver.received) == 1
    assert monitors.search_alerts() == []


def test_a_destination_the_monitor_no_longer_names_is_not_sent(quick, settings):
    with receiving() as old, receiving() as new:
        watch(quick, old.url, ["ops@example.com"], secret=None)
        raise_alert(
            quick.store, "churn-drift", [("webhook", old.url), ("email", "ops@example.com")]
        )
        quick.update("churn-drift", notification_spec={"webhook": {"url": new.url}})
        sent = Deliverer(quick.store, settings).deliver_due(NOW)
    assert old.received == [] and new.received == []
    assert {d.channel.value: (d.state.value, d.last_error) for d in sent} == {
        "webhook": ("FAILED", f"not sent: the monitor's webhook is now {new.url}, not {old.url}"),
        "email": (
            "FAILED",
            "not sent: ops@example.com is no longer among the monitor's user_emails",
        ),
    }


def test_monitors_deliver_alerts_needs_the_homes_settings(quick, settings):
    from conveyor.monitoring import MonitorUsageError

    with pytest.raises(MonitorUsageError, match="settings"):
        quick.deliver_alerts()
    with_settings = Monitors(quick.store, quick.registry, settings=settings)
    watch(with_settings, "http://127.0.0.1:9/hook", secret=None)
    raise_alert(quick.store, "churn-drift", [("log", "")])
    assert [d.state.value for d in with_settings.acting_as("bob").deliver_alerts(now=NOW)] == [
        "DELIVERED"
    ]


def test_an_unexpected_fault_is_a_failed_attempt_not_a_crash(quick, settings, monkeypatch):
    from conveyor.monitoring import channels

    watch(quick, "http://127.0.0.1:9/hook", secret=None)
    broken = raise_alert(quick.store, "churn-drift", [("log", "")], feature="tenure")
    fine = raise_alert(
        quick.store, "churn-drift", [("email", "nobody@example.com")], feature="plan"
    )
    quick.update("churn-drift", notification_spec={"user_emails": ["nobody@example.com"]})

    def boom(path, notice):
        raise RuntimeError("boom")

    monkeypatch.setattr(channels, "append_to_log", boom)
    sent = Deliverer(quick.store, settings).deliver_due(NOW)
    assert {d.alert_id: (d.state.value, d.last_error.split(":")[0]) for d in sent} == {
        broken: ("PENDING", "RuntimeError"),
        fine: ("PENDING", "email to nobody@example.com"),  # no SMTP server configured
    }


def test_an_unknown_channel_fails_for_good(quick, settings):
    watch(quick, "http://127.0.0.1:9/hook", secret=None)
    alert = raise_alert(quick.store, "churn-drift", [("sms", "+100")])
    deliverer = Deliverer(quick.store, settings)
    assert deliverer.deliver_due(NOW) == []
    assert deliverer.deliver_due(NOW + timedelta(days=1)) == []  # not tried again
    with quick.store.transaction() as conn:
        (row,) = conn.execute(select(DELIVERIES).where(DELIVERIES.c.alert_id == alert))
    assert (row.state, row.attempts, row.last_error) == ("FAILED", 1, "unknown channel 'sms'")
