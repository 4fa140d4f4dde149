"""Model monitoring on the server's `GET /metrics`, read from the metadata store at each
scrape, so that every server and worker shows the same values whichever process ran the
jobs.

| Metric | Type | Labels |
| --- | --- | --- |
| `conveyor_monitoring_distance` | gauge | monitor, model, feature, objective: the latest job's distance |
| `conveyor_monitoring_threshold` | gauge | the same: the threshold it was held to |
| `conveyor_monitoring_anomaly` | gauge | the same: 1 when the latest job found an anomaly |
| `conveyor_monitoring_alerts_total` | counter | monitor, kind (`anomaly`, `recovery`) |
| `conveyor_monitoring_jobs_total` | counter | monitor, state (`JOB_STATE_SUCCEEDED`, ...) |
| `conveyor_monitoring_job_duration_seconds` | summary | monitor: the jobs that ended |

A feature with too few samples in its latest job has no distance (no sample is shown
rather than a made-up 0). Counters count the rows kept: deleting a monitor takes its
series away, as Prometheus expects of a target that goes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from conveyor.monitoring._rows import ALERTS, JOBS, METRICS, MONITORS
from conveyor.store.metadata import MetadataStore

log = logging.getLogger("conveyor.monitoring")

SERIES = ("monitor", "model", "feature", "objective")


class MonitoringCollector(Collector):
    """The monitoring metrics of one metadata store, for a `prometheus_client` registry."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        return []  # read at each scrape: nothing to check when registered

    def collect(self) -> Iterator[Metric]:
        try:
            with self.store.transaction() as conn:
                latest = conn.execute(_latest_metrics()).all()
                alerts = conn.execute(_counted(ALERTS, ALERTS.c.kind)).all()
                jobs = conn.execute(_counted(JOBS, JOBS.c.state)).all()
                durations = conn.execute(_durations()).all()
        except SQLAlchemyError:
            # /metrics keeps answering the serving metrics when the store does not.
            log.exception("could not read the monitoring metrics from the metadata store")
            return
        yield from _series(latest)
        yield _counter("alerts", "Alerts raised, by monitor and kind.", "kind", alerts)
        yield _counter("jobs", "Monitoring jobs, by monitor and state.", "state", jobs)
        summary = SummaryMetricFamily(
            "conveyor_monitoring_job_duration_seconds",
            "How long monitoring jobs took, from start to end, by monitor.",
            labels=("monitor",),
        )
        for monitor, (count, total) in _totals(durations).items():
            summary.add_metric([monitor], count_value=count, sum_value=total)
        yield summary


def _latest_metrics() -> Any:
    """Each monitor's, feature's and objective's metric of its latest job."""
    last = (
        select(func.max(METRICS.c.id).label("id"))
        .group_by(METRICS.c.monitor_id, METRICS.c.feature, METRICS.c.objective)
        .subquery()
    )
    return (
        select(
            MONITORS.c.name,
            JOBS.c.model_name,
            METRICS.c.feature,
            METRICS.c.objective,
            METRICS.c.value,
            METRICS.c.threshold,
            METRICS.c.anomaly,
        )
        .join(last, last.c.id == METRICS.c.id)
        .join(MONITORS, MONITORS.c.id == METRICS.c.monitor_id)
        .join(JOBS, JOBS.c.id == METRICS.c.job_id)
        .order_by(MONITORS.c.name, METRICS.c.objective, METRICS.c.feature)
    )


def _counted(table: Any, column: Any) -> Any:
    return (
        select(MONITORS.c.name, column, func.count())
        .join(MONITORS, MONITORS.c.id == table.c.monitor_id)
        .group_by(MONITORS.c.name, column)
        .order_by(MONITORS.c.name, column)
    )


def _durations() -> Any:
    """The start and end of each job that ended, by monitor: summed by `_totals`, as date
    arithmetic differs between SQLite and PostgreSQL (and there is one row per job)."""
    return (
        select(MONITORS.c.name, JOBS.c.created_at, JOBS.c.ended_at)
        .join(MONITORS, MONITORS.c.id == JOBS.c.monitor_id)
        .where(JOBS.c.ended_at.is_not(None))
    )


def _totals(rows: list[Any]) -> dict[str, tuple[int, float]]:
    """Per monitor, how many jobs ended and their seconds in all."""
    totals: dict[str, tuple[int, float]] = {}
    for monitor, started, ended in rows:
        count, seconds = totals.get(monitor, (0, 0.0))
        totals[monitor] = (count + 1, seconds + (ended - started).total_seconds())
    return totals


def _series(rows: list[Any]) -> Iterator[Metric]:
    distance = GaugeMetricFamily(
        "conveyor_monitoring_distance",
        "The latest monitoring job's distance, by monitor, model, feature and objective.",
        labels=SERIES,
    )
    threshold = GaugeMetricFamily(
        "conveyor_monitoring_threshold",
        "The threshold the latest distance was held to.",
        labels=SERIES,
    )
    anomaly = GaugeMetricFamily(
        "conveyor_monitoring_anomaly",
        "1 when the latest monitoring job found an anomaly on the feature, else 0.",
        labels=SERIES,
    )
    for monitor, model, feature, objective, value, limit, flagged in rows:
        labels = [monitor, model or "", feature, objective]
        if value is not None:
            distance.add_metric(labels, value)
        if limit is not None:
            threshold.add_metric(labels, limit)
        anomaly.add_metric(labels, 1.0 if flagged else 0.0)
    yield from (distance, threshold, anomaly)


def _counter(name: str, documentation: str, label: str, rows: list[Any]) -> Metric:
    counter = CounterMetricFamily(
        f"conveyor_monitoring_{name}", documentation, labels=("monitor", label)
    )
    for monitor, value, count in rows:
        counter.add_metric([monitor, value], count)
    return counter
