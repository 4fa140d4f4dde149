"""SQL over the monitoring tables (`conveyor.store.metadata.monitoring_models`), for `Monitors`.

Every function takes the connection of the caller's transaction; writes to one monitor take
turns by locking its row first (PostgreSQL; SQLite writers take turns anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from conveyor.monitoring.errors import MonitorConflict, MonitorNotFound
from conveyor.store.metadata.monitoring_models import (
    AlertDelivery,
    ModelMonitor,
    ModelMonitoringAlert,
    ModelMonitoringJob,
    ModelMonitoringMetric,
)
from conveyor.store.metadata.recording import now

MONITORS = ModelMonitor.__table__
JOBS = ModelMonitoringJob.__table__
METRICS = ModelMonitoringMetric.__table__
ALERTS = ModelMonitoringAlert.__table__
DELIVERIES = AlertDelivery.__table__


def monitor_row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    query = select(MONITORS).where(MONITORS.c.name == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise MonitorNotFound(
            f"no monitor {name!r}; `conveyor monitors list` shows the monitors, and "
            f"`conveyor monitors create {name} --model MODEL@ALIAS` makes it"
        )
    return row


def monitor_rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(MONITORS).order_by(MONITORS.c.name)))


def exists(conn: Connection, name: str) -> bool:
    return conn.execute(select(MONITORS.c.id).where(MONITORS.c.name == name)).first() is not None


def insert_monitor(conn: Connection, values: Mapping[str, Any]) -> None:
    if exists(conn, values["name"]):
        raise conflict(values["name"])
    stamp = now()
    conn.execute(insert(MONITORS).values(**values, created_at=stamp, updated_at=stamp))


def conflict(name: str) -> MonitorConflict:
    return MonitorConflict(
        f"name: a monitor {name!r} already exists; `conveyor monitors show {name}` shows it, "
        f"and `conveyor monitors update {name}` changes it"
    )


def update_monitor(conn: Connection, monitor_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        update(MONITORS).where(MONITORS.c.id == monitor_id).values(**values, updated_at=now())
    )


def delete_monitor(conn: Connection, monitor_id: int) -> int:
    """Delete a monitor with its jobs, their metrics, alerts and the alerts' deliveries; the
    executions that recorded the jobs stay. The number of jobs deleted."""
    alerts = select(ALERTS.c.id).where(ALERTS.c.monitor_id == monitor_id)
    conn.execute(delete(DELIVERIES).where(DELIVERIES.c.alert_id.in_(alerts)))
    conn.execute(delete(ALERTS).where(ALERTS.c.monitor_id == monitor_id))
    conn.execute(delete(METRICS).where(METRICS.c.monitor_id == monitor_id))
    jobs = conn.execute(delete(JOBS).where(JOBS.c.monitor_id == monitor_id)).rowcount
    conn.execute(delete(MONITORS).where(MONITORS.c.id == monitor_id))
    return jobs
