"""Each channel on its own, against real servers on loopback: the alert log (several
processes appending), the webhook (signed, never following redirects, which answers are
retried) and email (a real SMTP server, aiosmtpd)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
from email import message_from_bytes

import pytest

from alert_support import KEY, NOW, free_port, receiving, smtp_server, verify
from conveyor.config import Settings
from conveyor.monitoring.channels import (
    AlertNotice,
    DeliveryError,
    alert_log_path,
    append_to_log,
    post_webhook,
    send_email,
)

NOTICE = AlertNotice(
    alert_id=7, time=NOW, monitor="churn-drift", model="churn", version=3, job=12,
    feature="tenure", objective="feature_drift", kind="anomaly", value=0.42, threshold=0.3,
    chance_level=0.013, window_start=NOW.replace(day=1), window_end=NOW,
    message="tenure: feature_drift 0.42 over its threshold 0.3",
)  # fmt: skip


def test_the_log_is_json_lines_under_the_home(tmp_path):
    path = alert_log_path(Settings.from_env(tmp_path / "home"))
    assert path == tmp_path / "home" / "monitoring" / "alerts.jsonl"
    append_to_log(path, NOTICE)
    append_to_log(path, dataclasses.replace(NOTICE, kind="recovery", value=0.1))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["anomaly", "recovery"]
    assert lines[0] == {
        "time": "2026-06-02T12:00:00+00:00", "alert_id": 7, "monitor": "churn-drift",
        "model": "churn", "version": 3, "job": 12, "feature": "tenure",
        "objective": "feature_drift", "kind": "anomaly", "value": 0.42, "threshold": 0.3,
        "chance_level": 0.013,
        "window": {"start": "2026-06-01T12:00:00+00:00", "end": "2026-06-02T12:00:00+00:00"},
        "message": "tenure: feature_drift 0.42 over its threshold 0.3",
    }  # fmt: skip


def _append_many(path, worker):
    long = "x" * 5000  # lines longer than a pipe's atomic size still do not interleave
    for i in range(50):
        append_to_log(path, dataclasses.replace(NOTICE, job=worker, alert_id=i, message=long))


def test_processes_appending_at_once_never_interleave_lines(tmp_path):
    path = tmp_path / "alerts.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(path, w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((line["job"], line["alert_id"]) for line in lines) == [
        (w, i) for w in range(4) for i in range(50)
    ]


def test_an_unwritable_log_is_a_delivery_error(tmp_path):
    (tmp_path / "monitoring").write_text("a file where the folder should be")
    with pytest.raises(DeliveryError, match="alert log"):
        append_to_log(tmp_path / "monitoring" / "alerts.jsonl", NOTICE)


def test_the_webhook_is_signed_and_verifies():
    with receiving() as receiver:
        post_webhook(
            receiver.url, NOTICE, secret_setting="HOOK_KEY", environ={"HOOK_KEY": KEY},
            delivery_id=5,
        )  # fmt: skip
    (got,) = receiver.received
    assert got["json"]["feature"] == "tenure" and got["json"]["chance_level"] == 0.013
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["X-Conveyor-Delivery"] == "5"
    assert got["headers"]["X-Conveyor-Signature"].startswith("sha256=")
    assert verify(KEY, got["headers"], got["raw"])
    assert not verify("another key", got["headers"], got["raw"])
    assert not verify(KEY, got["headers"], got["raw"].replace(b"0.42", b"0.01"))


def test_without_a_secret_setting_the_webhook_is_not_signed():
    with receiving() as receiver:
        post_webhook(receiver.url, NOTICE, secret_setting=None, environ={})
    assert "X-Conveyor-Signature" not in receiver.received[0]["headers"]


def test_a_missing_key_variable_is_an_error_naming_it():
    with receiving() as receiver, pytest.raises(DeliveryError) as caught:
        post_webhook(receiver.url, NOTICE, secret_setting="CHURN_HOOK_KEY", environ={})
    assert "CHURN_HOOK_KEY" in str(caught.value) and "is not set" in str(caught.value)
    assert receiver.received == []  # nothing unsigned went out


@pytest.mark.parametrize(
    ("status", "retry"),
    [(302, False), (400, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_which_answers_are_retried(status, retry):
    with receiving(status) as receiver, pytest.raises(DeliveryError) as caught:
        post_webhook(receiver.url, NOTICE, secret_setting=None, environ={})
    assert f"answered {status}" in str(caught.value)
    assert caught.value.retry is retry


def test_redirects_are_never_followed():
    with receiving() as elsewhere:
        with receiving(302, headers={"Location": elsewhere.url}) as receiver:
            with pytest.raises(DeliveryError, match="not followed"):
                post_webhook(receiver.url, NOTICE, secret_setting=None, environ={})
        assert len(receiver.received) == 1
    assert elsewhere.received == []


def test_an_unreachable_receiver_is_retried():
    with pytest.raises(DeliveryError) as caught:
        post_webhook(
            f"http://127.0.0.1:{free_port()}/hook", NOTICE, secret_setting=None, environ={}
        )
    assert caught.value.retry is True
    assert "webhook http://127.0.0.1:" in str(caught.value)


def smtp_settings(port: int, **changes) -> Settings:
    base = Settings.from_env()
    return dataclasses.replace(
        base, smtp_host="127.0.0.1", smtp_port=port, smtp_from="alerts@conveyor.test", **changes
    )


def test_email_reaches_a_real_smtp_server():
    with smtp_server() as (mailbox, port):
        send_email("ops@example.com", NOTICE, smtp_settings(port), {})
    (got,) = mailbox.messages
    assert got["from"] == "alerts@conveyor.test"
    assert got["to"] == ["ops@example.com"]
    message = message_from_bytes(got["data"])
    assert message["Subject"] == "[Conveyor] churn-drift: feature_drift anomaly on tenure"
    assert message["To"] == "ops@example.com"
    assert message.get_content_type() == "text/plain"
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert body.startswith("tenure: feature_drift 0.42 over its threshold 0.3\n")
    assert "Model:        churn version 3" in body
    assert "Distance:     0.42 (threshold 0.3, by chance up to 0.013)" in body


def test_a_refused_address_is_not_retried():
    with smtp_server(refuse="nobody@example.com") as (mailbox, port):
        with pytest.raises(DeliveryError) as caught:
            send_email("nobody@example.com", NOTICE, smtp_settings(port), {})
    assert caught.value.retry is False
    assert "550" in str(caught.value) and mailbox.messages == []


def test_email_without_a_server_names_the_setting():
    with pytest.raises(DeliveryError, match="CONVEYOR_SMTP_HOST"):
        send_email("ops@example.com", NOTICE, Settings.from_env(), {})


def test_an_unreachable_smtp_server_is_retried():
    with pytest.raises(DeliveryError) as caught:
        send_email("ops@example.com", NOTICE, smtp_settings(free_port()), {})
    assert caught.value.retry is True
    assert "through 127.0.0.1:" in str(caught.value)


def test_a_login_without_its_password_names_the_variable():
    settings = smtp_settings(free_port(), smtp_user="alerts", smtp_password_setting="SMTP_PW")
    with pytest.raises(DeliveryError, match="SMTP_PW is not set"):
        send_email("ops@example.com", NOTICE, settings, {})


def test_the_smtp_settings_come_from_the_environment(tmp_path):
    settings = Settings.from_env(
        tmp_path,
        {
            "CONVEYOR_SMTP_HOST": "mail.example.com", "CONVEYOR_SMTP_PORT": "587",
            "CONVEYOR_SMTP_FROM": "ml@example.com", "CONVEYOR_SMTP_STARTTLS": "true",
            "CONVEYOR_SMTP_USER": "ml", "CONVEYOR_SMTP_PASSWORD_SETTING": "SMTP_PASSWORD",
        },
    )  # fmt: skip
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from) == (
        "mail.example.com", 587, "ml@example.com",
    )  # fmt: skip
    assert settings.smtp_starttls and settings.smtp_user == "ml"
    assert settings.smtp_password_setting == "SMTP_PASSWORD"
    assert Settings.from_env(tmp_path, settings.to_env()) == settings


@pytest.mark.parametrize("port", ["0", "70000", "smtp", "25.5"])
def test_a_bad_port_is_refused_by_name(tmp_path, port):
    from conveyor.errors import UsageError

    with pytest.raises(UsageError, match="CONVEYOR_SMTP_PORT"):
        Settings.from_env(tmp_path, {"CONVEYOR_SMTP_PORT": port})
