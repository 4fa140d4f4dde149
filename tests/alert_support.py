"""What the alert delivery tests share: alerts and their PENDING deliveries written straight
into the monitoring tables (as a job writes them), a real HTTP receiver on loopback that
checks signatures, and a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.monitoring_models import (
    AlertDelivery,
    ModelMonitor,
    ModelMonitoringAlert,
    ModelMonitoringJob,
    ModelMonitoringMetric,
)

NOW = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
KEY = "s3cret-signing-key"


def raise_alert(
    store: MetadataStore,
    monitor: str,
    channels: list[tuple[str, str]],
    *,
    feature: str = "tenure",
    objective: str = "feature_drift",
    kind: str = "anomaly",
    at: datetime = NOW,
    value: float = 0.42,
) -> int:
    """A job of `monitor`, its metric and an alert on `feature`, with one PENDING delivery per
    (channel, destination), due at `at`, as a job writes them; the alert's id."""
    monitors, jobs = ModelMonitor.__table__, ModelMonitoringJob.__table__
    metrics, alerts = ModelMonitoringMetric.__table__, ModelMonitoringAlert.__table__
    deliveries = AlertDelivery.__table__
    with store.transaction(write=True) as conn:
        monitor_id = conn.execute(
            select(monitors.c.id).where(monitors.c.name == monitor)
        ).scalar_one()
        job_id = conn.execute(
            insert(jobs).values(
                monitor_id=monitor_id,
                state="JOB_STATE_SUCCEEDED",
                model_name="churn",
                model_version_id=1,
                window_start=at.replace(day=1),
                window_end=at,
                created_at=at,
                ended_at=at,
            )  # fmt: skip
        ).inserted_primary_key[0]
        conn.execute(
            insert(metrics).values(
                job_id=job_id,
                monitor_id=monitor_id,
                feature=feature,
                objective=objective,
                metric_type="jensen_shannon_divergence",
                value=value,
                threshold=0.3,
                chance_level=0.01,
                anomaly=kind == "anomaly",
                insufficient_data=False,
                baseline_count=1000,
                target_count=1000,
            )  # fmt: skip
        )
        alert_id = conn.execute(
            insert(alerts).values(
                monitor_id=monitor_id,
                job_id=job_id,
                feature=feature,
                objective=objective,
                kind=kind,
                value=value,
                threshold=0.3,
                created_at=at,
                message=f"{feature}: {objective} {value} over its threshold 0.3",
            )  # fmt: skip
        ).inserted_primary_key[0]
        for channel, destination in channels:
            conn.execute(
                insert(deliveries).values(
                    alert_id=alert_id,
                    channel=channel,
                    destination=destination,
                    state="PENDING",
                    attempts=0,
                    next_attempt_at=at,
                )  # fmt: skip
            )
    return alert_id


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers `status`, keeps what it was sent."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    on_request: Any = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def verify(key: str, headers: dict[str, str], body: bytes) -> bool:
    """How a receiver checks a Conveyor signature (the snippet of docs/monitoring.md)."""
    timestamp = headers["X-Conveyor-Timestamp"]
    expected = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), headers["X-Conveyor-Signature"])


@contextmanager
def receiving(status: int = 204, port: int = 0, **extra: Any) -> Iterator[Receiver]:
    """A real HTTP server in a thread, recording each POST (headers, JSON body, raw body)."""
    receiver = Receiver(status=status, **extra)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            receiver.received.append(
                {"path": self.path, "headers": headers, "raw": body, "json": json.loads(body)}
            )
            if receiver.on_request is not None:
                receiver.on_request()
            self.send_response(receiver.status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler keeping each message: envelope sender, recipients, content."""

    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address == self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content}
        )
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(refuse: str | None = None) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) in a thread; its mailbox and port."""
    mailbox = Mailbox(refuse)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()
