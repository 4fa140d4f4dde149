"""Alert decisions: which of a job's metrics raise an alert, and on which channels.

Within the job's closing transaction, for each metric:

- an `anomaly` alert when it is an anomaly, unless an anomaly alert on the same monitor,
  feature and objective was raised within the monitor's `notification_spec.cooldown`
  (deduplicated);
- a `recovery` alert when it is normal (not insufficient data) and the latest alert on
  that feature and objective was an anomaly.

Each alert gets one PENDING delivery per channel of the notification spec (`log` when the
alert log is on, `webhook` to its URL, `email` per address), due now. Nothing is sent
here: the deliverer (`conveyor.monitoring.delivery`) sends PENDING deliveries and retries
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from conveyor.monitoring._rows import ALERTS, DELIVERIES
from conveyor.monitoring.records import (
    AlertKind,
    DeliveryChannel,
    DeliveryState,
    NotificationSpec,
    Objective,
    PerformanceMetric,
)
from conveyor.monitoring.specs import parse_duration

LOG_DESTINATION = "alert-log"
"""The destination recorded for the alert log channel (the home's alert log)."""


def channels(spec: NotificationSpec) -> list[tuple[DeliveryChannel, str]]:
    """The (channel, destination) pairs an alert is delivered to."""
    found: list[tuple[DeliveryChannel, str]] = []
    if spec.enable_alert_log:
        found.append((DeliveryChannel.LOG, LOG_DESTINATION))
    if spec.webhook is not None:
        found.append((DeliveryChannel.WEBHOOK, spec.webhook.url))
    found.extend((DeliveryChannel.EMAIL, address) for address in spec.user_emails)
    return found


def message(kind: AlertKind, metric: Mapping[str, Any], monitor: str) -> str:
    """The one-line sentence of an alert."""
    objective = Objective(metric["objective"])
    window = f"{_stamp(metric['window_start'])} to {_stamp(metric['window_end'])}"
    value, threshold = _number(metric["value"]), _number(metric["threshold"])
    what = f"monitor {monitor}: {objective.value.replace('_', ' ')} of {metric['feature']!r}"
    if objective is Objective.MODEL_PERFORMANCE:  # a model's metric: no chance level
        side = "below" if PerformanceMetric(metric["feature"]).higher_is_better else "above"
        if kind is AlertKind.ANOMALY:
            return f"{what} is {value}, {side} its threshold {threshold}, in the window {window}"
        return (
            f"{what} is back to {value}, within its threshold {threshold}, in the window {window}"
        )
    chance = _number(metric["chance_level"])
    if kind is AlertKind.ANOMALY:
        return (
            f"{what} is {value}, over its threshold {threshold} and over the chance level "
            f"{chance}, in the window {window}"
        )
    return (
        f"{what} is back to {value}, within its threshold {threshold} (chance level "
        f"{chance}), in the window {window}"
    )


def decide(
    conn: Connection,
    *,
    monitor_id: int,
    monitor: str,
    job_id: int,
    notification: NotificationSpec,
    metrics: Sequence[Mapping[str, Any]],
    at: datetime,
) -> dict[str, int]:
    """Write the alerts and deliveries the job's `metrics` (rows as written) call for;
    the number of each kind written."""
    cooldown = parse_duration(notification.cooldown, "notification_spec.cooldown", zero=True)
    targets = channels(notification)
    written = {AlertKind.ANOMALY.value: 0, AlertKind.RECOVERY.value: 0}
    for metric in metrics:
        kind = _kind(conn, monitor_id, metric, at - cooldown)
        if kind is None:
            continue
        alert_id = conn.execute(
            insert(ALERTS).values(
                monitor_id=monitor_id,
                job_id=job_id,
                feature=metric["feature"],
                objective=metric["objective"],
                kind=kind.value,
                value=metric["value"],
                threshold=metric["threshold"],
                created_at=at,
                message=message(kind, metric, monitor),
            )
        ).inserted_primary_key[0]
        if targets:
            conn.execute(
                insert(DELIVERIES),
                [
                    {
                        "alert_id": alert_id,
                        "channel": channel.value,
                        "destination": destination,
                        "state": DeliveryState.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": at,
                        "last_error": None,
                        "delivered_at": None,
                    }
                    for channel, destination in targets
                ],
            )
        written[kind.value] += 1
    return written


def _kind(
    conn: Connection, monitor_id: int, metric: Mapping[str, Any], since: datetime
) -> AlertKind | None:
    same = (
        ALERTS.c.monitor_id == monitor_id,
        ALERTS.c.feature == metric["feature"],
        ALERTS.c.objective == metric["objective"],
    )
    if metric["anomaly"]:
        recent = conn.execute(
            select(ALERTS.c.id)
            .where(*same, ALERTS.c.kind == AlertKind.ANOMALY.value, ALERTS.c.created_at > since)
            .limit(1)
        ).first()
        return None if recent is not None else AlertKind.ANOMALY
    if metric["insufficient_data"]:
        return None
    latest = conn.execute(
        select(ALERTS.c.kind).where(*same).order_by(ALERTS.c.id.desc()).limit(1)
    ).scalar()
    return AlertKind.RECOVERY if latest == AlertKind.ANOMALY.value else None


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _stamp(moment: datetime | None) -> str:
    return "?" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")
