"""Reading alerts and their deliveries: the filters of `Monitors.search_alerts`, checked, and
the rows turned into records (`MonitoringAlert`, `AlertDelivery`).

Alerts come newest first; a filter left out (None) does not filter. Times are compared in
UTC, a naive datetime taken as UTC, `start_time` inclusive and `end_time` exclusive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from conveyor.monitoring.errors import MonitorUsageError
from conveyor.monitoring.records import (
    AlertDelivery,
    AlertKind,
    DeliveryChannel,
    DeliveryState,
    MonitoringAlert,
    Objective,
)
from conveyor.store.metadata.monitoring_models import (
    AlertDelivery as DeliveryRow,
)
from conveyor.store.metadata.monitoring_models import (
    ModelMonitor,
    ModelMonitoringAlert,
)

ALERTS = ModelMonitoringAlert.__table__
DELIVERIES = DeliveryRow.__table__
MONITORS = ModelMonitor.__table__

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclasses.dataclass(frozen=True)
class AlertQuery:
    """What `search_alerts` was asked, checked: each field None when not filtered."""

    feature: str | None = None
    objective: Objective | None = None
    kind: AlertKind | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def of(
        cls,
        *,
        feature: Any = None,
        objective: Any = None,
        kind: Any = None,
        start_time: Any = None,
        end_time: Any = None,
        limit: Any = DEFAULT_LIMIT,
    ) -> AlertQuery:
        """The query, each filter checked; a bad one raises `MonitorUsageError` naming it."""
        if feature is not None and (not isinstance(feature, str) or not feature.strip()):
            raise MonitorUsageError(f"feature: give a field name, not {feature!r}")
        start, end = _moment(start_time, "start_time"), _moment(end_time, "end_time")
        if start is not None and end is not None and start >= end:
            raise MonitorUsageError(
                f"start_time: {start.isoformat()} is not before end_time {end.isoformat()}"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise MonitorUsageError(
                f"limit: give a whole number from 1 to {MAX_LIMIT}, not {limit!r}"
            )
        return cls(
            feature=feature,
            objective=None if objective is None else _member(Objective, objective, "objective"),
            kind=None if kind is None else _member(AlertKind, kind, "kind"),
            start_time=start,
            end_time=end,
            limit=limit,
        )


def search(conn: Connection, monitor_id: int | None, query: AlertQuery) -> list[MonitoringAlert]:
    """The alerts of one monitor (None: of every monitor) that `query` selects, newest first."""
    sql = select(ALERTS, MONITORS.c.name.label("monitor")).join(
        MONITORS, MONITORS.c.id == ALERTS.c.monitor_id
    )
    if monitor_id is not None:
        sql = sql.where(ALERTS.c.monitor_id == monitor_id)
    if query.feature is not None:
        sql = sql.where(ALERTS.c.feature == query.feature)
    if query.objective is not None:
        sql = sql.where(ALERTS.c.objective == query.objective.value)
    if query.kind is not None:
        sql = sql.where(ALERTS.c.kind == query.kind.value)
    if query.start_time is not None:
        sql = sql.where(ALERTS.c.created_at >= query.start_time)
    if query.end_time is not None:
        sql = sql.where(ALERTS.c.created_at < query.end_time)
    sql = sql.order_by(ALERTS.c.created_at.desc(), ALERTS.c.id.desc()).limit(query.limit)
    return [alert_record(row) for row in conn.execute(sql)]


def deliveries(conn: Connection, alert_ids: Sequence[int]) -> list[AlertDelivery]:
    """The deliveries of the alerts `alert_ids`, by alert, then channel order of creation."""
    if not alert_ids:
        return []
    sql = (
        select(DELIVERIES)
        .where(DELIVERIES.c.alert_id.in_(list(alert_ids)))
        .order_by(DELIVERIES.c.alert_id, DELIVERIES.c.id)
    )
    return [delivery_record(row) for row in conn.execute(sql)]


def alert_record(row: Row[Any]) -> MonitoringAlert:
    return MonitoringAlert(
        id=row.id,
        monitor=row.monitor,
        job_id=row.job_id,
        feature=row.feature,
        objective=Objective(row.objective),
        kind=AlertKind(row.kind),
        value=row.value,
        threshold=row.threshold,
        created_at=row.created_at,
        message=row.message,
    )


def delivery_record(row: Row[Any]) -> AlertDelivery:
    return AlertDelivery(
        id=row.id,
        alert_id=row.alert_id,
        channel=DeliveryChannel(row.channel),
        destination=row.destination,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


def check_alert_id(alert_id: Any) -> int:
    if isinstance(alert_id, bool) or not isinstance(alert_id, int) or alert_id < 1:
        raise MonitorUsageError(
            f"alert_id: {alert_id!r} is not an alert id (a whole number from 1)"
        )
    return alert_id


def _member(kind: type[Any], value: Any, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(m.value for m in kind)
        raise MonitorUsageError(f"{field}: {value!r} is not one of {known}") from None


def _moment(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise MonitorUsageError(f"{field}: give a datetime, not {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
