"""Model monitoring: monitors of model versions, their jobs, metrics and alerts, with the
names of Vertex AI Model Monitoring v2; see docs/monitoring.md.

    from conveyor.home import open_home

    with open_home() as home:
        home.monitors.create("churn-drift", "churn@production")

The statistical core, for those who build on it (docs/monitoring.md, "What is computed"):
`statistics` (per-feature statistics in one streamed pass over Arrow batches, mergeable
and JSON-serialisable), `distances` (Jensen-Shannon divergence and L-infinity distance,
as Vertex AI and TFDV compute them) and `significance` (the distance expected by chance
at the sample sizes, its cache, and the gate an anomaly passes):

    from conveyor.monitoring import baseline_statistics, compare, target_statistics

    baseline = baseline_statistics("train/")            # Parquet files; cache its to_json()
    target = target_statistics(log_batches, baseline)    # one streamed pass
    results = compare(baseline, target)                  # {feature: Assessment}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import exports

if TYPE_CHECKING:
    from conveyor.monitoring.channels import AlertNotice, DeliveryError
    from conveyor.monitoring.delivery import Deliverer
    from conveyor.monitoring.distances import (
        DistanceError,
        distance,
        jensen_shannon,
        l_infinity,
    )
    from conveyor.monitoring.errors import (
        JobNotFound,
        MonitorConflict,
        MonitorNotFound,
        MonitorUsageError,
        TargetNotFound,
    )
    from conveyor.monitoring.monitors import Monitors
    from conveyor.monitoring.records import (
        AlertDelivery,
        AlertKind,
        DataDriftSpec,
        DataType,
        DeliveryChannel,
        DeliveryState,
        FeedbackSummary,
        FieldSchema,
        JobState,
        MetricType,
        ModelMonitor,
        ModelMonitoringJob,
        ModelMonitoringSchema,
        ModelPerformanceSpec,
        MonitoringAlert,
        MonitoringMetric,
        NotificationSpec,
        Objective,
        PerformanceMetric,
        PerformanceResult,
        TabularObjective,
        Task,
        WebhookSpec,
    )
    from conveyor.monitoring.significance import (
        Assessment,
        NullCache,
        assess,
        compare,
        null_quantile,
    )
    from conveyor.monitoring.specs import parse_duration
    from conveyor.monitoring.statistics import (
        CategoricalStatistics,
        Histogram,
        NumericStatistics,
        Statistics,
        StatisticsError,
        baseline_statistics,
        target_statistics,
    )

__getattr__ = exports(
    __name__,
    {
        "errors": (
            "JobNotFound",
            "MonitorConflict",
            "MonitorNotFound",
            "MonitorUsageError",
            "TargetNotFound",
        ),
        "monitors": ("Monitors",),
        "channels": ("AlertNotice", "DeliveryError"),
        "delivery": ("Deliverer",),
        "records": (
            "AlertDelivery",
            "AlertKind",
            "DataDriftSpec",
            "DataType",
            "DeliveryChannel",
            "DeliveryState",
            "FeedbackSummary",
            "FieldSchema",
            "JobState",
            "MetricType",
            "ModelMonitor",
            "ModelMonitoringJob",
            "ModelMonitoringSchema",
            "ModelPerformanceSpec",
            "MonitoringAlert",
            "MonitoringMetric",
            "NotificationSpec",
            "Objective",
            "PerformanceMetric",
            "PerformanceResult",
            "TabularObjective",
            "Task",
            "WebhookSpec",
        ),
        "specs": ("parse_duration",),
        "distances": ("DistanceError", "distance", "jensen_shannon", "l_infinity"),
        "significance": ("Assessment", "NullCache", "assess", "compare", "null_quantile"),
        "statistics": (
            "CategoricalStatistics",
            "Histogram",
            "NumericStatistics",
            "Statistics",
            "StatisticsError",
            "baseline_statistics",
            "target_statistics",
        ),
    },
)
"""Each public name is imported from its module when first used: the records and errors
cost nothing, the monitors bring the store (SQLAlchemy)."""

__all__ = [
    "AlertDelivery",
    "AlertKind",
    "AlertNotice",
    "Assessment",
    "CategoricalStatistics",
    "DataDriftSpec",
    "DataType",
    "Deliverer",
    "DeliveryChannel",
    "DeliveryError",
    "DeliveryState",
    "DistanceError",
    "FeedbackSummary",
    "FieldSchema",
    "Histogram",
    "JobNotFound",
    "JobState",
    "MetricType",
    "ModelMonitor",
    "ModelMonitoringJob",
    "ModelMonitoringSchema",
    "ModelPerformanceSpec",
    "MonitorConflict",
    "MonitorNotFound",
    "MonitorUsageError",
    "MonitoringAlert",
    "MonitoringMetric",
    "Monitors",
    "NotificationSpec",
    "NullCache",
    "NumericStatistics",
    "Objective",
    "PerformanceMetric",
    "PerformanceResult",
    "Statistics",
    "StatisticsError",
    "TabularObjective",
    "TargetNotFound",
    "Task",
    "WebhookSpec",
    "assess",
    "baseline_statistics",
    "compare",
    "distance",
    "jensen_shannon",
    "l_infinity",
    "null_quantile",
    "parse_duration",
    "target_statistics",
]
