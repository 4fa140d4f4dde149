"""Delivering alerts: which deliveries are due, claiming each so that it is sent once,
retrying with backoff, and giving up.

A job writes one `alert_deliveries` row per alert and channel, PENDING with
`next_attempt_at` set to when it was made. `Deliverer.deliver_due()` takes each due row
through three small steps, each its own transaction, so that any number of processes (a
watcher, a server, `conveyor monitors deliver`) may run it at once on SQLite or PostgreSQL:

1. claim: `UPDATE ... SET next_attempt_at = now + lease WHERE id = ? AND state = 'PENDING'
   AND attempts = ? AND next_attempt_at = ?`; the process whose update changed the row
   sends it, the others see no row changed and move on. A process that dies while sending
   leaves the row to be claimed again when the lease ends.
2. send, on its channel (`conveyor.monitoring.channels`), outside any transaction.
3. record: DELIVERED with `delivered_at`; or `attempts + 1`, `last_error` and the next
   attempt after a backoff doubling from `backoff` up to `max_backoff`; FAILED for good
   after `max_attempts` attempts, or at once when trying again cannot help (a webhook
   answering 404).

The rows are the only state: deliveries pending when a process stops are sent by the next
one. A delivery whose alert or monitor is gone is dropped; one whose destination the
monitor no longer names (its webhook or emails changed) is FAILED without being sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Row, delete, select, update

from conveyor.config import Settings
from conveyor.monitoring import channels
from conveyor.monitoring.alert_search import delivery_record
from conveyor.monitoring.channels import AlertNotice, DeliveryError
from conveyor.monitoring.records import AlertDelivery, DeliveryChannel, DeliveryState
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.monitoring_models import (
    AlertDelivery as DeliveryRow,
)
from conveyor.store.metadata.monitoring_models import (
    ModelMonitor,
    ModelMonitoringAlert,
    ModelMonitoringJob,
    ModelMonitoringMetric,
)

DELIVERIES = DeliveryRow.__table__
ALERTS = ModelMonitoringAlert.__table__
MONITORS = ModelMonitor.__table__
JOBS = ModelMonitoringJob.__table__
METRICS = ModelMonitoringMetric.__table__

BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 10
"""With the backoff above, about three hours of retries before a delivery is FAILED."""
LEASE = timedelta(minutes=5)
"""How long a claimed delivery is left to the process sending it (longer than a send's
timeouts)."""
BATCH = 500

log = logging.getLogger(__name__)
_CHANNELS = frozenset(c.value for c in DeliveryChannel)


class Deliverer:
    """Sends the due deliveries of one metadata store.

    `settings` gives the alert log's place (`<home>/monitoring/alerts.jsonl`) and the SMTP
    server; `environ` is where the webhook keys and the SMTP password are read, when each
    alert is sent (default: this process's environment)."""

    def __init__(
        self,
        store: MetadataStore,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        backoff: timedelta = BACKOFF,
        max_backoff: timedelta = MAX_BACKOFF,
        max_attempts: int = MAX_ATTEMPTS,
        lease: timedelta = LEASE,
        webhook_timeout: float = channels.WEBHOOK_TIMEOUT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be 1 or more")
        self.store = store
        self.settings = settings
        self.environ = os.environ if environ is None else environ
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.lease = lease
        self.webhook_timeout = webhook_timeout

    @property
    def alert_log(self) -> Path:
        return channels.alert_log_path(self.settings)

    def deliver_due(self, now: datetime | None = None) -> list[AlertDelivery]:
        """Send every PENDING delivery due at `now` (default: now) that this process claims;
        the deliveries attempted, as they are after the attempt (DELIVERED, PENDING with a
        later `next_attempt_at`, or FAILED)."""
        now = now or datetime.now(UTC)
        attempted: list[AlertDelivery] = []
        for due in self._due(now):
            if not self._claim(due, now):
                continue
            outcome = self._attempt(due, now)
            if outcome is not None:
                attempted.append(outcome)
        return attempted

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait before attempt `attempts + 1`: `backoff`, doubled per failed attempt,
        at most `max_backoff`."""
        delay = self.backoff * (2 ** min(max(attempts - 1, 0), 30))
        return min(delay, self.max_backoff)

    # The steps

    def _due(self, now: datetime) -> list[Row[Any]]:
        query = (
            select(DELIVERIES.c.id, DELIVERIES.c.attempts, DELIVERIES.c.next_attempt_at)
            .where(DELIVERIES.c.state == DeliveryState.PENDING.value)
            .where(DELIVERIES.c.next_attempt_at <= now)
            .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
            .limit(BATCH)
        )
        with self.store.transaction() as conn:
            return list(conn.execute(query))

    def _claim(self, due: Row[Any], now: datetime) -> bool:
        """Move the delivery's next attempt a lease ahead, if no one did since it was read."""
        with self.store.transaction(write=True) as conn:
            claimed = conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == due.id)
                .where(DELIVERIES.c.state == DeliveryState.PENDING.value)
                .where(DELIVERIES.c.attempts == due.attempts)
                .where(DELIVERIES.c.next_attempt_at == due.next_attempt_at)
                .values(next_attempt_at=now + self.lease)
            )
            return claimed.rowcount == 1

    def _attempt(self, due: Row[Any], now: datetime) -> AlertDelivery | None:
        found = self._context(due.id)
        if found is None:  # its alert or monitor went while it waited: nothing to send
            with self.store.transaction(write=True) as conn:
                conn.execute(delete(DELIVERIES).where(DELIVERIES.c.id == due.id))
            return None
        row, notice, spec = found
        try:
            unsent = _not_configured(row.channel, row.destination, spec)
            if unsent:
                raise DeliveryError(unsent, retry=False)
            self._send(row, notice, spec)
        except DeliveryError as exc:
            return self._record_failure(due, now, str(exc), retry=exc.retry)
        except Exception as exc:  # a fault of ours must not stop the other deliveries
            log.exception("alert delivery %d: sending failed unexpectedly", due.id)
            return self._record_failure(due, now, f"{type(exc).__name__}: {exc}", retry=True)
        return self._record(
            due,
            state=DeliveryState.DELIVERED,
            attempts=due.attempts + 1,
            next_attempt_at=None,
            last_error=None,
            delivered_at=now,
        )

    def _send(self, row: Row[Any], notice: AlertNotice, spec: Mapping[str, Any]) -> None:
        try:
            channel = DeliveryChannel(row.channel)
        except ValueError:
            raise DeliveryError(f"unknown channel {row.channel!r}", retry=False) from None
        if channel is DeliveryChannel.LOG:
            channels.append_to_log(self.alert_log, notice)
        elif channel is DeliveryChannel.WEBHOOK:
            channels.post_webhook(
                row.destination,
                notice,
                secret_setting=(spec.get("webhook") or {}).get("secret_setting"),
                environ=self.environ,
                delivery_id=row.id,
                timeout=self.webhook_timeout,
            )
        else:
            channels.send_email(row.destination, notice, self.settings, self.environ)

    def _record_failure(
        self, due: Row[Any], now: datetime, error: str, *, retry: bool
    ) -> AlertDelivery | None:
        attempts = due.attempts + 1
        if retry and attempts < self.max_attempts:
            return self._record(
                due,
                state=DeliveryState.PENDING,
                attempts=attempts,
                next_attempt_at=now + self.retry_delay(attempts),
                last_error=error,
                delivered_at=None,
            )
        gave_up = "" if not retry else f" (gave up after {attempts} attempts)"
        return self._record(
            due,
            state=DeliveryState.FAILED,
            attempts=attempts,
            next_attempt_at=None,
            last_error=error + gave_up,
            delivered_at=None,
        )

    def _record(self, due: Row[Any], **values: Any) -> AlertDelivery | None:
        """Write the attempt's outcome on the row this process claimed (still at its
        attempts count); None when the row went meanwhile (its monitor was deleted)."""
        values["state"] = values["state"].value
        with self.store.transaction(write=True) as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == due.id)
                .where(DELIVERIES.c.attempts == due.attempts)
                .values(**values)
            )
            row = conn.execute(select(DELIVERIES).where(DELIVERIES.c.id == due.id)).first()
        if row is None or row.channel not in _CHANNELS:
            return None
        return delivery_record(row)

    def _context(self, delivery_id: int) -> tuple[Row[Any], AlertNotice, Mapping[str, Any]] | None:
        """The delivery, the notice of its alert and its monitor's notification spec; None
        when the delivery, its alert or its monitor is gone."""
        query = (
            select(
                DELIVERIES,
                ALERTS.c.job_id,
                ALERTS.c.feature,
                ALERTS.c.objective,
                ALERTS.c.kind,
                ALERTS.c.value,
                ALERTS.c.threshold,
                ALERTS.c.created_at,
                ALERTS.c.message,
                MONITORS.c.name.label("monitor"),
                MONITORS.c.notification_spec,
                JOBS.c.model_name,
                JOBS.c.model_version_id,
                JOBS.c.window_start,
                JOBS.c.window_end,
            )
            .join(ALERTS, ALERTS.c.id == DELIVERIES.c.alert_id)
            .join(MONITORS, MONITORS.c.id == ALERTS.c.monitor_id)
            .outerjoin(JOBS, JOBS.c.id == ALERTS.c.job_id)
            .where(DELIVERIES.c.id == delivery_id)
        )
        with self.store.transaction() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            level = conn.execute(
                select(METRICS.c.chance_level)
                .where(METRICS.c.job_id == row.job_id)
                .where(METRICS.c.feature == row.feature)
                .where(METRICS.c.objective == row.objective)
                .limit(1)
            ).scalar()
        notice = AlertNotice(
            alert_id=row.alert_id,
            time=row.created_at,
            monitor=row.monitor,
            model=row.model_name,
            version=row.model_version_id,
            job=row.job_id,
            feature=row.feature,
            objective=row.objective,
            kind=row.kind,
            value=row.value,
            threshold=row.threshold,
            chance_level=level,
            window_start=row.window_start,
            window_end=row.window_end,
            message=row.message,
        )
        return row, notice, row.notification_spec or {}


def _not_configured(channel: str, destination: str, spec: Mapping[str, Any]) -> str | None:
    """Why a delivery goes nowhere now (the monitor no longer names its destination), or
    None: an alert is only ever sent where the monitor's notification spec says."""
    if channel == DeliveryChannel.WEBHOOK.value:
        url = (spec.get("webhook") or {}).get("url")
        if url != destination:
            return f"not sent: the monitor's webhook is now {url or 'none'}, not {destination}"
    elif channel == DeliveryChannel.EMAIL.value:
        if destination not in (spec.get("user_emails") or []):
            return f"not sent: {destination} is no longer among the monitor's user_emails"
    elif channel == DeliveryChannel.LOG.value and not spec.get("enable_alert_log", True):
        return "not sent: the monitor's alert log is now off"
    return None
