"""Model monitoring's tables: monitors, their jobs, the metrics and alerts of the jobs, and
the deliveries of the alerts (Vertex AI Model Monitoring v2's `ModelMonitor` and
`ModelMonitoringJob`).

A monitor watches a model reference (`churn@production`, resolved again at every job, so
it follows promotions) and holds what each job needs as JSON, in Vertex AI's shapes:
the training dataset (the baseline), the monitoring schema, the tabular objective, the
notification spec; beside them the defaults of a job's target window (a schedule runs a
monitor's jobs on a cron: `automation_models`). A job evaluates one window of the
prediction log (its state is one of Vertex AI's `JobState` names) and may be recorded as
an execution too, which outlives the job's row. A job writes one metric per feature and
objective, and an alert when a feature crosses its threshold (or comes back under it);
each alert is delivered once per channel, and a delivery waiting to be retried keeps its
row, so that it survives a restart.

`conveyor.monitoring` reads and writes these tables; migration `0006_monitoring` creates
them (`0007_automation` moves the monitors' crons to schedules).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from conveyor.store.metadata.models import Base


class ModelMonitor(Base):
    """A monitor; `target` is the model reference as given (`churn`, `churn@3`,
    `churn@production`)."""

    __tablename__ = "model_monitors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(260))
    training_dataset: Mapped[dict[str, Any]]
    model_monitoring_schema: Mapped[dict[str, Any]]
    tabular_objective: Mapped[dict[str, Any]]
    target_window: Mapped[str] = mapped_column(String(32))
    target_offset: Mapped[str | None] = mapped_column(String(32))
    sampling_rate: Mapped[float]
    min_samples: Mapped[int] = mapped_column(BigInteger)
    notification_spec: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ModelMonitoringJob(Base):
    """One evaluation of a monitor over a target window; `model_version_id` is the version
    the monitor's target named when the job ran."""

    __tablename__ = "model_monitoring_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("model_monitors.id"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))
    state: Mapped[str] = mapped_column(String(32))
    model_name: Mapped[str | None] = mapped_column(String(128))
    model_version_id: Mapped[int | None] = mapped_column(Integer)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None]

    __table_args__ = (Index(None, "monitor_id", "id"), Index(None, "state"))


class ModelMonitoringMetric(Base):
    """One feature's distance for one objective in one job, with its threshold, the distance
    expected by chance at the job's sample sizes, and the counts it was computed from;
    `value` is None when the window had too few samples. `statistics` holds the baseline and
    target histograms or value counts (never raw rows)."""

    __tablename__ = "model_monitoring_metrics"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("model_monitoring_jobs.id"), index=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("model_monitors.id"))
    feature: Mapped[str] = mapped_column(String(255))
    objective: Mapped[str] = mapped_column(String(64))
    metric_type: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    chance_level: Mapped[float | None]
    anomaly: Mapped[bool]
    insufficient_data: Mapped[bool]
    baseline_count: Mapped[int] = mapped_column(BigInteger)
    target_count: Mapped[int] = mapped_column(BigInteger)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    statistics: Mapped[dict[str, Any] | None]

    __table_args__ = (
        # Named by hand: the convention's name is longer than PostgreSQL's 63 characters.
        Index(
            "ix_model_monitoring_metrics_series", "monitor_id", "objective", "feature", "window_end"
        ),
    )


class ModelMonitoringAlert(Base):
    """A feature crossed its threshold (`anomaly`) or came back under it (`recovery`)."""

    __tablename__ = "model_monitoring_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("model_monitors.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("model_monitoring_jobs.id"), index=True)
    feature: Mapped[str] = mapped_column(String(255))
    objective: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    created_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index(None, "monitor_id", "feature", "objective", "id"),
        Index(None, "monitor_id", "created_at"),
    )


class AlertDelivery(Base):
    """An alert sent, or to be sent, on one channel (`log`, `webhook`, `email`) to one
    destination; a FAILED attempt that may be retried stays PENDING with `next_attempt_at`."""

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("model_monitoring_alerts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "state", "next_attempt_at"),)
