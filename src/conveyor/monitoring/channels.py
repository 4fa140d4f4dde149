"""How one alert is sent on one channel: the alert log, a signed webhook, an email.

Each channel takes an `AlertNotice` (what the alert says, self-contained) and a destination,
and either returns or raises `DeliveryError`, whose `retry` says whether trying again later
could help (an unreachable server) or not (a receiver answering 400, an address refused).
Which deliveries are due, and what happens after a failure, is `conveyor.monitoring.delivery`.

- The alert log appends one JSON object per line to `<home>/monitoring/alerts.jsonl` with
  one `write` on a file opened `O_APPEND`, then fsyncs: lines of several processes never
  interleave.
- The webhook POSTs the notice as JSON with httpx, never following a redirect, and signs it
  when the monitor's `secret_setting` names an environment variable holding the key:
  `X-Conveyor-Timestamp: <unix seconds>` and
  `X-Conveyor-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>`.
- Email goes through the SMTP server of the settings (`smtplib`), in plain text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import smtplib
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from conveyor.config import Settings

WEBHOOK_TIMEOUT = 10.0
"""Seconds a webhook has to connect, and again to answer."""
SMTP_TIMEOUT = 30.0
RETRIED_CLIENT_ERRORS = frozenset({408, 429})
"""4xx answers worth retrying (a timeout, too many requests); any other 4xx is final."""
USER_AGENT = "conveyor-alerts/1"


class DeliveryError(Exception):
    """One attempt to send an alert failed; `retry` is False when trying again cannot
    help."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclasses.dataclass(frozen=True)
class AlertNotice:
    """What an alert says, as every channel sends it: which monitor, model version, job,
    feature and objective, the distance against its threshold and the distance chance
    alone reaches (`chance_level`), over which window."""

    alert_id: int
    time: datetime
    monitor: str
    model: str | None
    version: int | None
    job: int
    feature: str
    objective: str
    kind: str
    value: float | None
    threshold: float | None
    chance_level: float | None
    window_start: datetime | None
    window_end: datetime | None
    message: str

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the alert log and of the webhook's body."""
        return {
            "time": self.time.isoformat(),
            "alert_id": self.alert_id,
            "monitor": self.monitor,
            "model": self.model,
            "version": self.version,
            "job": self.job,
            "feature": self.feature,
            "objective": self.objective,
            "kind": self.kind,
            "value": self.value,
            "threshold": self.threshold,
            "chance_level": self.chance_level,
            "window": {
                "start": _iso(self.window_start),
                "end": _iso(self.window_end),
            },
            "message": self.message,
        }

    @property
    def subject(self) -> str:
        """`[Conveyor] churn-drift: feature_drift anomaly on tenure`."""
        return f"[Conveyor] {self.monitor}: {self.objective} {self.kind} on {self.feature}"

    def text(self) -> str:
        """The plain-text body of an email."""
        version = "" if self.version is None else f" version {self.version}"
        lines = [
            self.message,
            "",
            f"Monitor:      {self.monitor}",
            f"Model:        {self.model or '-'}{version}",
            f"Objective:    {self.objective}",
            f"Feature:      {self.feature}",
            f"Kind:         {self.kind}",
            f"Distance:     {_number(self.value)} (threshold {_number(self.threshold)}, "
            f"by chance up to {_number(self.chance_level)})",
            f"Window:       {_iso(self.window_start) or '-'} to {_iso(self.window_end) or '-'}",
            f"Job:          {self.job}",
            f"Alert time:   {self.time.isoformat()}",
            "",
            f"conveyor monitors alerts {self.monitor} --feature {self.feature} lists the "
            "alerts of this feature.",
        ]
        return "\n".join(lines) + "\n"


def alert_log_path(settings: Settings) -> Path:
    """Where the home's alert log is: `<home folder>/monitoring/alerts.jsonl`."""
    return settings.folder / "monitoring" / "alerts.jsonl"


def append_to_log(path: Path, notice: AlertNotice) -> None:
    """Append the notice as one JSON line, in one `write` on an `O_APPEND` file, fsynced."""
    line = (json.dumps(notice.to_json(), separators=(",", ":")) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"wrote {written} of {len(line)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise DeliveryError(f"alert log {path}: {exc}") from None


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Conveyor-Signature` of `body` sent at `timestamp` (unix seconds, as text)."""
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post_webhook(
    url: str,
    notice: AlertNotice,
    *,
    secret_setting: str | None,
    environ: Mapping[str, str],
    delivery_id: int | None = None,
    timeout: float = WEBHOOK_TIMEOUT,
) -> None:
    """POST the notice to `url` as JSON, signed with the key in `environ[secret_setting]`
    when `secret_setting` is given; any answer but 2xx is a failure, final for a redirect
    (never followed) and a 4xx but 408 and 429."""
    body = json.dumps(notice.to_json(), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if delivery_id is not None:
        headers["X-Conveyor-Delivery"] = str(delivery_id)
    if secret_setting:
        key = environ.get(secret_setting)
        if not key:
            raise DeliveryError(
                f"webhook {url}: the environment variable {secret_setting} (the monitor's "
                "notification_spec.webhook.secret_setting) is not set where alerts are sent; "
                "set it to the signing key"
            )
        timestamp = str(int(time.time()))
        headers["X-Conveyor-Timestamp"] = timestamp
        headers["X-Conveyor-Signature"] = sign(key.encode(), timestamp, body)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            answer = client.post(url, content=body, headers=headers)
    except httpx.InvalidURL as exc:
        raise DeliveryError(
            f"webhook {url}: not a URL httpx can call: {exc}", retry=False
        ) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {url}: {_reason(exc)}") from None
    if 200 <= answer.status_code < 300:
        return
    detail = answer.text.strip()[:200]
    if answer.is_redirect:
        detail = f"a redirect to {answer.headers.get('location', '?')}, not followed"
    final = answer.is_redirect or (
        400 <= answer.status_code < 500 and answer.status_code not in RETRIED_CLIENT_ERRORS
    )
    raise DeliveryError(
        f"webhook {url} answered {answer.status_code}" + (f": {detail}" if detail else ""),
        retry=not final,
    )


def send_email(
    address: str, notice: AlertNotice, settings: Settings, environ: Mapping[str, str]
) -> None:
    """Send the notice to `address` through the SMTP server of `settings`."""
    if not settings.smtp_host:
        raise DeliveryError(
            f"email to {address}: no SMTP server is configured; set CONVEYOR_SMTP_HOST "
            "(and CONVEYOR_SMTP_PORT, CONVEYOR_SMTP_FROM) where alerts are sent"
        )
    password = None
    if settings.smtp_user:
        name = settings.smtp_password_setting
        password = environ.get(name) if name else None
        if not password:
            raise DeliveryError(
                f"email to {address}: CONVEYOR_SMTP_USER is set but the password is not: "
                f"set CONVEYOR_SMTP_PASSWORD_SETTING to the name of the variable holding it"
                + (f" ({name} is not set)" if name else "")
            )
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Subject"] = notice.subject
    message.set_content(notice.text())
    where = f"email to {address} through {settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and password:
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(
            f"{where}: the server refused the address ({_smtp_reasons(exc.recipients)})",
            retry=any(400 <= c < 500 for c in codes),
        ) from None
    except smtplib.SMTPResponseException as exc:
        reason = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        raise DeliveryError(
            f"{where}: the server answered {exc.smtp_code} {reason}",
            retry=not 500 <= exc.smtp_code < 600,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{where}: {_reason(exc)}") from None


def _smtp_reasons(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{code} {message.decode(errors='replace')}" for code, message in recipients.values()
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException | socket.timeout | TimeoutError):
        return "no answer in time"
    text = str(exc).strip()
    return text or type(exc).__name__


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
