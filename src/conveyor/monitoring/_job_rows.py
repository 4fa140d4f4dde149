"""SQL reading jobs and their metrics back (`conveyor.monitoring.jobs` writes them), as
the records every face shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from conveyor.monitoring._rows import JOBS, METRICS, MONITORS
from conveyor.monitoring.records import (
    JobState,
    MetricType,
    ModelMonitoringJob,
    MonitoringMetric,
    Objective,
    PerformanceMetric,
)


def job_record(row: Any, monitor: str) -> ModelMonitoringJob:
    return ModelMonitoringJob(
        id=row.id,
        monitor=monitor,
        state=JobState(row.state),
        model=row.model_name,
        model_version_id=row.model_version_id,
        execution_id=row.execution_id,
        window_start=row.window_start,
        window_end=row.window_end,
        created_at=row.created_at,
        ended_at=row.ended_at,
        error=row.error,
        summary=row.summary,
    )


def metric_record(row: Any, monitor: str) -> MonitoringMetric:
    kinds = {m.value: m for m in (*MetricType, *PerformanceMetric)}
    return MonitoringMetric(
        id=row.id,
        job_id=row.job_id,
        monitor=monitor,
        feature=row.feature,
        objective=Objective(row.objective),
        metric_type=kinds[row.metric_type],
        value=row.value,
        threshold=row.threshold,
        chance_level=row.chance_level,
        anomaly=row.anomaly,
        insufficient_data=row.insufficient_data,
        baseline_count=row.baseline_count,
        target_count=row.target_count,
        window_start=row.window_start,
        window_end=row.window_end,
        statistics=row.statistics,
    )


def jobs_of(conn: Connection, monitor_id: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(JOBS)
            .where(JOBS.c.monitor_id == monitor_id)
            .order_by(JOBS.c.id.desc())
            .limit(limit)
        )
    )


def job_row(conn: Connection, job_id: int) -> tuple[Any, str] | None:
    found = conn.execute(
        select(JOBS, MONITORS.c.name.label("monitor_name"))
        .join(MONITORS, MONITORS.c.id == JOBS.c.monitor_id)
        .where(JOBS.c.id == job_id)
    ).first()
    return None if found is None else (found, found.monitor_name)


def metric_rows(
    conn: Connection,
    *,
    monitor_id: int | None,
    feature: str | None,
    objective: Objective | None,
    start_time: datetime | None,
    end_time: datetime | None,
    anomalies_only: bool,
    limit: int,
) -> list[tuple[Any, str]]:
    query = select(METRICS, MONITORS.c.name.label("monitor_name")).join(
        MONITORS, MONITORS.c.id == METRICS.c.monitor_id
    )
    if monitor_id is not None:
        query = query.where(METRICS.c.monitor_id == monitor_id)
    if feature is not None:
        query = query.where(METRICS.c.feature == feature)
    if objective is not None:
        query = query.where(METRICS.c.objective == objective.value)
    if start_time is not None:
        query = query.where(METRICS.c.window_end > start_time)
    if end_time is not None:
        query = query.where(METRICS.c.window_end <= end_time)
    if anomalies_only:
        query = query.where(METRICS.c.anomaly.is_(True))
    # the latest `limit`, returned oldest first
    inner = query.order_by(METRICS.c.window_end.desc(), METRICS.c.id.desc()).limit(limit)
    found = list(conn.execute(inner))
    found.reverse()
    return [(row, row.monitor_name) for row in found]


def metrics_of_job(conn: Connection, job_id: int) -> list[Any]:
    """A job's metric rows, in the order it wrote them."""
    return list(
        conn.execute(select(METRICS).where(METRICS.c.job_id == job_id).order_by(METRICS.c.id))
    )
