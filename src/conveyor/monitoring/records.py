"""What model monitoring returns: plain, frozen dataclasses that turn into JSON with `to_json()`.

The names are Vertex AI Model Monitoring v2's (`ModelMonitor`, `ModelMonitoringSchema`,
`FieldSchema`, `TabularObjective`, `DataDriftSpec`, `NotificationSpec`,
`ModelMonitoringJob` and its `JobState`), in snake case; what Vertex AI has not, Conveyor
adds beside them (the training-serving skew objective `feature_skew_spec`, the alert log,
webhooks, cooldowns, the distance expected by chance). They hold no database session:
keep them, pass them between threads, serve them over REST.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

from conveyor.store.metadata.records import to_json

DEFAULT_THRESHOLD = 0.3
"""Vertex AI's default alert threshold, for numbers and for categories alike."""
DEFAULT_WINDOW = "1d"
"""A job's target window when the monitor gives none: the last day of the prediction log."""
DEFAULT_MIN_SAMPLES = 100
"""Below this many rows in a window a job reports insufficient data, and does not alert."""
DEFAULT_SAMPLING_RATE = 1.0
DEFAULT_COOLDOWN = "1d"
"""How long an alert on one feature and objective silences the next ones."""


class _Record:
    def to_json(self) -> dict[str, Any]:
        return to_json(self)


class DataType(StrEnum):
    """A field's type, as Vertex AI's `FieldSchema.data_type`."""

    FLOAT = "float"
    INTEGER = "integer"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    STRING = "string"

    @property
    def numeric(self) -> bool:
        """Whether the field is measured as a number (histograms), not as categories."""
        return self in (DataType.FLOAT, DataType.INTEGER)


class MetricType(StrEnum):
    """How a distribution's change is measured (`DataDriftSpec`'s metric types)."""

    L_INFINITY = "l_infinity"
    JENSEN_SHANNON_DIVERGENCE = "jensen_shannon_divergence"


class Objective(StrEnum):
    """What a job measures; each has its spec in the `TabularObjective` (`<objective>_spec`)."""

    FEATURE_DRIFT = "feature_drift"
    """The features' target window against the window before it (Vertex AI)."""
    PREDICTION_OUTPUT_DRIFT = "prediction_output_drift"
    """The predictions' target window against the window before it (Vertex AI)."""
    FEATURE_SKEW = "feature_skew"
    """The features' target window against the training dataset (Conveyor's: Vertex AI v1
    had it as training-serving skew)."""
    MODEL_PERFORMANCE = "model_performance"
    """The model's metrics over the window's predictions that ground truth labels have
    reached (Conveyor's; `ModelPerformanceSpec`)."""

    @property
    def spec(self) -> str:
        return f"{self.value}_spec"

    @property
    def on_predictions(self) -> bool:
        """Whether it watches the schema's prediction fields rather than its feature fields."""
        return self is Objective.PREDICTION_OUTPUT_DRIFT

    @property
    def is_drift(self) -> bool:
        """Whether it compares distributions (a `DataDriftSpec`), not the model's metrics."""
        return self is not Objective.MODEL_PERFORMANCE


DRIFT_OBJECTIVES = tuple(o for o in Objective if o.is_drift)
"""The objectives measured by a distance between two distributions."""


class PerformanceMetric(StrEnum):
    """A model metric over labelled predictions, named as evaluations name it
    (`conveyor.components.evaluation`): the first six for classes, the others for numbers."""

    ACCURACY = "accuracy"
    BALANCED_ACCURACY = "balanced_accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    F1 = "f1"
    MAE = "mae"
    MSE = "mse"
    RMSE = "rmse"
    MAX_ERROR = "max_error"
    MAPE = "mape"
    R2 = "r2"

    @property
    def higher_is_better(self) -> bool:
        """Accuracy, precision, recall, F1 and R2 alert when they fall below their
        threshold; the errors (mae, mse, rmse, max_error, mape) when they rise above it."""
        return self in _HIGHER_IS_BETTER

    @property
    def classification(self) -> bool:
        return self in _CLASSIFICATION


_HIGHER_IS_BETTER = frozenset(
    {PerformanceMetric.ACCURACY, PerformanceMetric.BALANCED_ACCURACY, PerformanceMetric.PRECISION,
     PerformanceMetric.RECALL, PerformanceMetric.F1, PerformanceMetric.R2}
)  # fmt: skip
_CLASSIFICATION = frozenset(
    {PerformanceMetric.ACCURACY, PerformanceMetric.BALANCED_ACCURACY, PerformanceMetric.PRECISION,
     PerformanceMetric.RECALL, PerformanceMetric.F1}
)  # fmt: skip


class Task(StrEnum):
    """What a model's predictions are: classes, or numbers."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class JobState(StrEnum):
    """Vertex AI's `JobState` names, those a monitoring job takes."""

    PENDING = "JOB_STATE_PENDING"
    RUNNING = "JOB_STATE_RUNNING"
    SUCCEEDED = "JOB_STATE_SUCCEEDED"
    FAILED = "JOB_STATE_FAILED"


class AlertKind(StrEnum):
    ANOMALY = "anomaly"
    """A feature's distance went over its threshold (and beyond chance)."""
    RECOVERY = "recovery"
    """A feature that alerted came back under its threshold."""


class DeliveryChannel(StrEnum):
    LOG = "log"
    """The alert log: JSON Lines in the home (the Cloud Logging of Vertex AI)."""
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


# What a monitor holds


@dataclasses.dataclass(frozen=True)
class FieldSchema(_Record):
    """One field a monitor watches: a feature of the requests, a prediction output, or a
    ground truth label."""

    name: str
    data_type: DataType


@dataclasses.dataclass(frozen=True)
class ModelMonitoringSchema(_Record):
    """The fields a monitor watches, by where they are: the instances' features, the
    predictions, and the ground truth that labels bring later."""

    feature_fields: list[FieldSchema]
    prediction_fields: list[FieldSchema] = dataclasses.field(default_factory=list)
    ground_truth_fields: list[FieldSchema] = dataclasses.field(default_factory=list)

    def fields_of(self, objective: Objective) -> list[FieldSchema]:
        """The fields `objective` may watch: the predictions for output drift, else the
        features."""
        return self.prediction_fields if objective.on_predictions else self.feature_fields


@dataclasses.dataclass(frozen=True)
class DataDriftSpec(_Record):
    """How one objective measures its fields, and when it alerts (Vertex AI's
    `DataDriftSpec`).

    `features` None watches every field of the objective's part of the schema. A field's
    threshold is its entry in `feature_alert_thresholds`, else the default of its kind.
    """

    features: list[str] | None = None
    categorical_metric_type: MetricType = MetricType.L_INFINITY
    numeric_metric_type: MetricType = MetricType.JENSEN_SHANNON_DIVERGENCE
    default_categorical_alert_threshold: float = DEFAULT_THRESHOLD
    default_numeric_alert_threshold: float = DEFAULT_THRESHOLD
    feature_alert_thresholds: dict[str, float] = dataclasses.field(default_factory=dict)

    def watched(self, fields: list[FieldSchema]) -> list[FieldSchema]:
        """The fields of `fields` this spec watches, in the schema's order."""
        if self.features is None:
            return list(fields)
        wanted = set(self.features)
        return [f for f in fields if f.name in wanted]

    def metric_type(self, field: FieldSchema) -> MetricType:
        return self.numeric_metric_type if field.data_type.numeric else self.categorical_metric_type

    def threshold(self, field: FieldSchema) -> float:
        if field.name in self.feature_alert_thresholds:
            return self.feature_alert_thresholds[field.name]
        if field.data_type.numeric:
            return self.default_numeric_alert_threshold
        return self.default_categorical_alert_threshold


@dataclasses.dataclass(frozen=True)
class ModelPerformanceSpec(_Record):
    """When the model's live metrics alert (Conveyor's): `thresholds` maps a metric to its
    bound, a lower one for those where higher is better (accuracy, f1, r2: alert below), an
    upper one for the errors (mae, rmse: alert above). Below `min_samples` labelled
    predictions in a window (None: the monitor's), a job reports insufficient data. `task`
    None takes classification for string, boolean and integer predictions, regression
    for floats."""

    thresholds: dict[str, float] = dataclasses.field(default_factory=dict)
    min_samples: int | None = None
    task: Task | None = None


@dataclasses.dataclass(frozen=True)
class TabularObjective(_Record):
    """The objectives of a monitor; None turns one off. Feature drift and prediction output
    drift are Vertex AI's; `feature_skew_spec` (training-serving skew) and
    `model_performance_spec` (live metrics once labels arrive, off by default) are
    Conveyor's."""

    feature_drift_spec: DataDriftSpec | None = dataclasses.field(default_factory=DataDriftSpec)
    prediction_output_drift_spec: DataDriftSpec | None = dataclasses.field(
        default_factory=DataDriftSpec
    )
    feature_skew_spec: DataDriftSpec | None = dataclasses.field(default_factory=DataDriftSpec)
    model_performance_spec: ModelPerformanceSpec | None = None

    def specs(self) -> dict[Objective, DataDriftSpec]:
        """The drift objectives turned on, with their specs (`model_performance_spec` is
        apart: it measures no distance)."""
        found = {o: getattr(self, o.spec) for o in DRIFT_OBJECTIVES}
        return {o: spec for o, spec in found.items() if spec is not None}


@dataclasses.dataclass(frozen=True)
class WebhookSpec(_Record):
    """Where alerts are POSTed as JSON; `secret_setting` names the environment variable
    holding the key that signs them (HMAC-SHA256), read when they are sent."""

    url: str
    secret_setting: str | None = None


@dataclasses.dataclass(frozen=True)
class NotificationSpec(_Record):
    """Where a monitor's alerts go (Vertex AI's `NotificationSpec`: `user_emails`, and the
    alert log in place of `enable_cloud_logging`), and how long an alert on one feature
    and objective silences the next (`cooldown`)."""

    enable_alert_log: bool = True
    webhook: WebhookSpec | None = None
    user_emails: list[str] = dataclasses.field(default_factory=list)
    cooldown: str = DEFAULT_COOLDOWN


@dataclasses.dataclass(frozen=True)
class ModelMonitor(_Record):
    """A model monitor (Vertex AI's `ModelMonitor`).

    `target` is the model reference as given: `churn@3` (pinned), `churn@production` or
    `churn` (following the alias, `default` for a bare name), resolved again at every job.
    `model_version_id` is the version it names when the record was read (None when the
    model, version or alias is gone). `training_dataset` is the baseline: `{"source":
    "lineage"}` (the dataset that trained the version, found through lineage),
    `{"uri": ...}` or `{"artifact_id": ...}`. `window`, `offset`, `sampling_rate` and
    `min_samples` are the defaults of a job's target window. Jobs run on demand, or on a
    cron from a schedule of the monitor's job (`conveyor.automation.schedules`).
    """

    name: str
    display_name: str
    target: str
    model: str
    alias: str | None
    model_version_id: int | None
    training_dataset: dict[str, Any]
    model_monitoring_schema: ModelMonitoringSchema
    tabular_objective: TabularObjective
    notification_spec: NotificationSpec
    window: str
    offset: str | None
    sampling_rate: float
    min_samples: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def follows_alias(self) -> bool:
        return self.alias is not None


# What jobs write (filled by the jobs; here so that every layer reads one shape)


@dataclasses.dataclass(frozen=True)
class ModelMonitoringJob(_Record):
    """One evaluation of a monitor over a target window (Vertex AI's `ModelMonitoringJob`);
    `model_version_id` is the version the target named when it ran, `execution_id` the
    metadata store's execution recording it (with lineage to what it read)."""

    id: int
    monitor: str
    state: JobState
    model: str | None
    model_version_id: int | None
    execution_id: int | None
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime
    ended_at: datetime | None
    error: str | None
    summary: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class MonitoringMetric(_Record):
    """One field's distance for one objective in one job; `value` None when a window had
    fewer rows than the monitor's `min_samples` (`insufficient_data`). `chance_level` is
    the distance expected by chance at the job's sample sizes."""

    id: int
    job_id: int
    monitor: str
    feature: str
    objective: Objective
    metric_type: MetricType | PerformanceMetric
    """A distance for the drift objectives; for `model_performance`, the metric itself
    (the same as `feature`)."""
    value: float | None
    threshold: float | None
    chance_level: float | None
    anomaly: bool
    insufficient_data: bool
    baseline_count: int
    target_count: int
    window_start: datetime | None
    window_end: datetime | None
    statistics: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class MonitoringAlert(_Record):
    id: int
    monitor: str
    job_id: int
    feature: str
    objective: Objective
    kind: AlertKind
    value: float | None
    threshold: float | None
    created_at: datetime
    message: str


@dataclasses.dataclass(frozen=True)
class AlertDelivery(_Record):
    """An alert on one channel: sent, failed for good, or waiting for `next_attempt_at`."""

    id: int
    alert_id: int
    channel: DeliveryChannel
    destination: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None


# Ground truth and live performance


@dataclasses.dataclass(frozen=True)
class FeedbackSummary(_Record):
    """What `Monitors.feedback` stored: the labels file (`uri`, the metadata store's
    `artifact_id`, of type `conveyor.GroundTruth`), its `rows`, and how many of them name
    a logged prediction of the monitor's model (`matched`; the others, `unmatched`, may be
    for predictions not logged yet, or carry wrong ids: `examples` shows a few)."""

    monitor: str
    model: str
    artifact_id: int
    uri: str
    rows: int
    matched: int
    unmatched: int
    examples: list[dict[str, Any]]
    received_at: datetime


@dataclasses.dataclass(frozen=True)
class PerformanceResult(_Record):
    """One model metric over a window's labelled predictions (`count` of them): `value`
    None when there are fewer than the spec's `min_samples` (`insufficient_data`), or when
    the metric is not defined on them (r2 of one row, mape with a zero label).
    `threshold` is the spec's bound, `anomaly` whether the value is on its wrong side."""

    metric: PerformanceMetric
    value: float | None
    threshold: float | None
    anomaly: bool
    insufficient_data: bool
    count: int

    @property
    def higher_is_better(self) -> bool:
        return self.metric.higher_is_better
