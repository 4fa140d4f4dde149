"""`/api/v1/monitors`: model monitors over REST; thin calls to the home's `Monitors`.

    GET    /api/v1/monitors              the monitors
    POST   /api/v1/monitors              create one
    GET    /api/v1/monitors/{monitor}    one, its target resolved now
    PATCH  /api/v1/monitors/{monitor}    change fields (null: back to the default)
    DELETE /api/v1/monitors/{monitor}    it, with its jobs' records
    POST   /api/v1/monitors/{monitor}/jobs            run a job now
    GET    /api/v1/monitors/{monitor}/jobs            its jobs, newest first
    GET    /api/v1/monitors/{monitor}/jobs/{job_id}   one job
    GET    /api/v1/monitors/{monitor}/metrics         its metrics, by window end

Fields keep Vertex AI Model Monitoring v2's names in snake case (`model_monitoring_schema`,
`tabular_objective`, `feature_drift_spec`, `default_numeric_alert_threshold`,
`notification_spec`), as the rest of this API. The monitors check what the bodies hold
beyond their shapes (a target that resolves, features in the schema) and answer 400
naming the field, 404 for a target that names no version, 409 for a name taken or a
monitor to delete that a schedule runs. Errors answer `{"error": {"code", "message",
"status"}}` (`conveyor.api.errors`). See docs/monitoring.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import MonitorsDep
from conveyor.api.errors import responses, responses_beside
from conveyor.api.params import (
    Duration,
    Id,
    JobPath,
    MonitorName,
    MonitorPath,
    Reference,
    SettingName,
)
from conveyor.monitoring import AlertKind, ModelMonitor, Objective
from conveyor.serving.auth import Role, needs

PREFIX = "/api/v1/monitors"

router = APIRouter(prefix=PREFIX, tags=["monitors"], route_class=JsonRoute)

READ, ADMIN = needs(Role.READ), needs(Role.ADMIN)

DataType = Literal["float", "integer", "categorical", "boolean", "string"]
CategoricalMetric = Literal["l_infinity", "jensen_shannon_divergence"]
NumericMetric = Literal["jensen_shannon_divergence"]
Threshold = Annotated[float, Field(ge=0, le=1)]
FieldName = Annotated[str, Field(min_length=1, max_length=255, examples=["tenure"])]
LiveMetric = Literal[
    "accuracy", "balanced_accuracy", "precision", "recall", "f1",
    "mae", "mse", "rmse", "max_error", "mape", "r2",
]  # fmt: skip
MAX_LABELS = 100_000
"""Labels in one feedback request; send more in several, or as a file from the CLI."""


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion (`"yes"` is no boolean, `"3"` no
    integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class FieldSchema(_Shape):
    """A field a monitor watches (Vertex AI's `FieldSchema`)."""

    name: FieldName
    data_type: DataType


class ModelMonitoringSchema(_Shape):
    """The fields a monitor watches; prediction fields left out are the version's output
    schema's (one categorical `prediction` without one)."""

    feature_fields: list[FieldSchema] = Field(min_length=1)
    prediction_fields: list[FieldSchema] | None = None
    ground_truth_fields: list[FieldSchema] | None = None


class DataDriftSpec(_Shape):
    """How an objective measures its fields and when it alerts (Vertex AI's
    `DataDriftSpec`); fields left out take these defaults."""

    features: list[FieldName] | None = Field(
        default=None, description="The fields watched; none: every field of its part."
    )
    categorical_metric_type: CategoricalMetric = "l_infinity"
    numeric_metric_type: NumericMetric = "jensen_shannon_divergence"
    default_categorical_alert_threshold: Threshold = 0.3
    default_numeric_alert_threshold: Threshold = 0.3
    feature_alert_thresholds: dict[str, Threshold] = Field(
        default_factory=dict, examples=[{"plan": 0.1}]
    )


class ModelPerformanceSpec(_Shape):
    """When the live metrics alert (Conveyor's): a floor for accuracy, balanced_accuracy,
    precision, recall, f1 and r2, a ceiling for mae, mse, rmse, max_error and mape."""

    thresholds: dict[LiveMetric, float] = Field(
        default_factory=dict, examples=[{"accuracy": 0.8, "rmse": 3}]
    )
    min_samples: Annotated[int, Field(ge=1, le=10**12)] | None = Field(
        default=None, description="Fewer labelled predictions: insufficient data; null: the "
        "monitor's min_samples."
    )  # fmt: skip
    task: Literal["classification", "regression"] | None = Field(
        default=None, description="Null: classification unless the predictions are floats."
    )


class TabularObjective(_Shape):
    """The objectives; one left out (or null) is off, `{}` is on with the defaults."""

    feature_drift_spec: DataDriftSpec | None = None
    prediction_output_drift_spec: DataDriftSpec | None = None
    feature_skew_spec: DataDriftSpec | None = Field(
        default=None,
        description="Training-serving skew: the target window against the "
        "training dataset (Conveyor's).",
    )
    model_performance_spec: ModelPerformanceSpec | None = Field(
        default=None,
        description="The model's live metrics once labels arrive (Conveyor's).",
    )


class Webhook(_Shape):
    url: str = Field(examples=["https://hooks.example.com/ml-alerts"])
    secret_setting: SettingName | None = Field(
        default=None,
        description="The environment variable of the server holding the key that signs "
        "each alert (HMAC-SHA256); never the key itself.",
    )


class NotificationSpec(_Shape):
    """Where alerts go (Vertex AI's `NotificationSpec`; the alert log stands for Cloud
    Logging)."""

    enable_alert_log: bool = True
    webhook: Webhook | None = None
    user_emails: list[str] = Field(default_factory=list, examples=[["ops@example.com"]])
    cooldown: Duration = Field(
        default="1d", description="How long an alert on a feature silences the next."
    )


class TrainingDataset(_Shape):
    """The baseline: one of `source` (`lineage`: the dataset that trained the version),
    `uri` (a path on the server's machine or an fsspec URL) or `artifact_id`."""

    source: Literal["lineage"] | None = None
    uri: str | None = Field(default=None, examples=["/srv/data/churn/train.parquet"])
    data_format: Literal["csv", "parquet", "jsonl"] | None = None
    artifact_id: Id | None = None


class _MonitorFields(_Shape):
    display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    training_dataset: TrainingDataset | None = None
    model_monitoring_schema: ModelMonitoringSchema | None = Field(
        default=None, description="None: the target version's input and output schema."
    )
    tabular_objective: TabularObjective | None = Field(
        default=None, description="None: every objective, with the defaults."
    )
    notification_spec: NotificationSpec | None = None
    window: Duration | None = Field(default=None, description="A job's target window: 1d.")
    offset: Duration | None = Field(
        default=None, description="How far before now the target window ends."
    )
    sampling_rate: Annotated[float, Field(gt=0, le=1)] | None = Field(
        default=None, description="The share of the window's rows a job reads: 1."
    )
    min_samples: Annotated[int, Field(ge=1, le=10**12)] | None = Field(
        default=None, description="Fewer rows in a window: insufficient data, no alert: 100."
    )


class NewMonitor(_MonitorFields):
    """A monitor to create; fields left out take their defaults."""

    name: MonitorName
    target: Reference = Field(
        description="churn@3 (pinned), churn@production or churn (following the alias, "
        "resolved at every job).",
        examples=["churn@production"],
    )


class MonitorUpdate(_MonitorFields):
    """Fields to change; those left out stay, those given as null go back to their
    default."""

    target: Reference | None = None


class FieldOut(BaseModel):
    name: str
    data_type: DataType


class SchemaOut(BaseModel):
    feature_fields: list[FieldOut]
    prediction_fields: list[FieldOut]
    ground_truth_fields: list[FieldOut]


class DataDriftSpecOut(BaseModel):
    features: list[str] | None
    categorical_metric_type: CategoricalMetric
    numeric_metric_type: NumericMetric
    default_categorical_alert_threshold: float
    default_numeric_alert_threshold: float
    feature_alert_thresholds: dict[str, float]


class ModelPerformanceSpecOut(BaseModel):
    thresholds: dict[str, float]
    min_samples: int | None
    task: str | None


class ObjectiveOut(BaseModel):
    feature_drift_spec: DataDriftSpecOut | None
    prediction_output_drift_spec: DataDriftSpecOut | None
    feature_skew_spec: DataDriftSpecOut | None
    model_performance_spec: ModelPerformanceSpecOut | None = None


class WebhookOut(BaseModel):
    url: str
    secret_setting: str | None


class NotificationOut(BaseModel):
    enable_alert_log: bool
    webhook: WebhookOut | None
    user_emails: list[str]
    cooldown: str


class MonitorOut(BaseModel):
    name: str
    display_name: str
    target: str = Field(examples=["churn@production"])
    model: str
    alias: str | None = Field(description="The alias it follows; none: pinned.")
    model_version_id: int | None = Field(
        description="The version the target names now; none when it names none."
    )
    training_dataset: dict[str, Any] = Field(examples=[{"source": "lineage"}])
    model_monitoring_schema: SchemaOut
    tabular_objective: ObjectiveOut
    notification_spec: NotificationOut
    window: str
    offset: str | None
    sampling_rate: float
    min_samples: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, monitor: ModelMonitor) -> MonitorOut:
        return cls(**monitor.to_json())


class MonitorList(BaseModel):
    monitors: list[MonitorOut]


class Deleted(BaseModel):
    name: str
    jobs_deleted: int = Field(description="The jobs whose records went with it.")


# Routes: a name breaking its rule or a field the monitors refuse answers 400, an unknown
# monitor (or a target naming no version) 404, a name taken 409.

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=MonitorList, summary="List the monitors", openapi_extra=READ)
def list_monitors(monitors: MonitorsDep) -> MonitorList:
    """Every monitor, by name, with the version its target names now."""
    return MonitorList(monitors=[MonitorOut.of(m) for m in monitors.list()])


@router.post(
    "",
    response_model=MonitorOut,
    status_code=201,
    responses=_WRITE,
    summary="Create a monitor",
    openapi_extra=ADMIN,
)
def create(body: NewMonitor, monitors: MonitorsDep, response: Response) -> MonitorOut:
    """A monitor of `target`; its schema defaults to the version's, its objectives to
    feature drift, prediction output drift and training-serving skew at threshold 0.3."""
    fields = _fields(body)
    made = monitors.create(fields.pop("name"), fields.pop("target"), **fields)
    response.headers["Location"] = f"{PREFIX}/{made.name}"
    return MonitorOut.of(made)


@router.get(
    "/{monitor}",
    response_model=MonitorOut,
    responses=_READ,
    summary="Get a monitor",
    openapi_extra=READ,
)
def get(monitor: MonitorPath, monitors: MonitorsDep) -> MonitorOut:
    """The monitor, with the version its target names now."""
    return MonitorOut.of(monitors.get(monitor))


@router.patch(
    "/{monitor}",
    response_model=MonitorOut,
    responses=_WRITE,
    summary="Update a monitor",
    openapi_extra=ADMIN,
)
def update(monitor: MonitorPath, body: MonitorUpdate, monitors: MonitorsDep) -> MonitorOut:
    """Change fields: those left out stay, those given as null go back to their default
    (`model_monitoring_schema: null` takes the target version's schema again). Objectives,
    schema and notifications are replaced whole."""
    fields = _fields(body)
    if "target" in fields and fields["target"] is None:
        fields.pop("target")  # a monitor always has a target: null changes nothing
    return MonitorOut.of(monitors.update(monitor, **fields))


@router.delete(
    "/{monitor}",
    response_model=Deleted,
    responses=_WRITE,
    summary="Delete a monitor",
    openapi_extra=ADMIN,
)
def delete(monitor: MonitorPath, monitors: MonitorsDep) -> Deleted:
    """Delete the monitor with its jobs, their metrics, alerts and deliveries; the
    executions that recorded the jobs stay in the metadata store. 409 while a schedule runs
    its jobs."""
    return Deleted(name=monitor, jobs_deleted=monitors.delete(monitor))


# Alerts


class AlertSearch(BaseModel):
    """The filters of an alert search; one left out does not filter (no unknown ones)."""

    model_config = ConfigDict(extra="forbid")

    feature: FieldName | None = None
    objective: Objective | None = None
    kind: AlertKind | None = None
    start_time: datetime | None = Field(
        default=None, description="Raised at or after (ISO 8601; no zone: UTC)."
    )
    end_time: datetime | None = Field(default=None, description="Raised before.")
    limit: Annotated[int, Field(ge=1, le=10_000)] = 100


class DeliveryOut(BaseModel):
    id: int
    alert_id: int
    channel: Literal["log", "webhook", "email"]
    destination: str
    state: Literal["PENDING", "DELIVERED", "FAILED"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried again (PENDING).")
    last_error: str | None
    delivered_at: datetime | None


class AlertOut(BaseModel):
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
    deliveries: list[DeliveryOut] = Field(description="One per channel and destination.")


class AlertList(BaseModel):
    alerts: list[AlertOut]


@router.get(
    "/{monitor}/alerts",
    response_model=AlertList,
    responses=_READ,
    summary="Search a monitor's alerts",
    openapi_extra=READ,
)
def search_alerts(
    monitor: MonitorPath, query: Annotated[AlertSearch, Query()], monitors: MonitorsDep
) -> AlertList:
    """The monitor's alerts, newest first, each with its deliveries (the alert log, the
    webhook, each email address) and their states."""
    found = monitors.search_alerts(monitor, **query.model_dump())
    by_alert: dict[int, list[DeliveryOut]] = {}
    for delivery in monitors.deliveries(*[a.id for a in found]):
        by_alert.setdefault(delivery.alert_id, []).append(DeliveryOut(**delivery.to_json()))
    return AlertList(
        alerts=[AlertOut(**a.to_json(), deliveries=by_alert.get(a.id, [])) for a in found]
    )


# Jobs and metrics


class JobRequest(_Shape):
    """A job to run now: the last `window` ending `offset` before now (the monitor's by
    default), or `start_time` to `end_time`; `sampling_rate` the share of rows read."""

    window: Duration | None = None
    offset: Duration | None = None
    start_time: datetime | None = Field(default=None, description="ISO 8601; no zone: UTC.")
    end_time: datetime | None = None
    sampling_rate: Annotated[float, Field(gt=0, le=1, strict=True)] | None = None

    model_config = ConfigDict(extra="forbid", strict=False)  # times arrive as ISO strings


class JobOut(BaseModel):
    id: int
    monitor: str
    state: Literal["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED",
                   "JOB_STATE_FAILED"]  # fmt: skip
    model: str | None
    model_version_id: int | None = Field(description="The version the target named.")
    execution_id: int | None = Field(description="The execution recording it (lineage).")
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime
    ended_at: datetime | None
    error: str | None = Field(description="Why it FAILED.")
    summary: dict[str, Any] | None = Field(
        description="Per objective the anomaly, normal and insufficient_data counts; "
        "rows_read, files_read, duration_seconds, alerts."
    )


class JobList(BaseModel):
    jobs: list[JobOut]


class MetricSearch(BaseModel):
    """The filters of a metric search; one left out does not filter (no unknown ones)."""

    model_config = ConfigDict(extra="forbid")

    feature: FieldName | None = None
    objective: Objective | None = None
    start_time: datetime | None = Field(
        default=None, description="Windows ending after (ISO 8601; no zone: UTC)."
    )
    end_time: datetime | None = Field(default=None, description="Windows ending at or before.")
    anomalies: bool = Field(default=False, description="Only anomalies.")
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000


class MetricOut(BaseModel):
    id: int
    job_id: int
    monitor: str
    feature: str
    objective: Objective
    metric_type: str
    value: float | None = Field(description="The distance; null with insufficient data.")
    threshold: float | None
    chance_level: float | None = Field(description="The distance expected by chance.")
    anomaly: bool
    insufficient_data: bool
    baseline_count: int
    target_count: int
    window_start: datetime | None
    window_end: datetime | None
    statistics: dict[str, Any] | None = Field(
        description='{"baseline": ..., "target": ...}: histograms and value counts.'
    )


class MetricList(BaseModel):
    metrics: list[MetricOut]


@router.post(
    "/{monitor}/jobs",
    response_model=JobOut,
    status_code=201,
    responses=_READ,
    summary="Run a monitoring job",
    openapi_extra=ADMIN,
)
def run_job(
    monitor: MonitorPath, monitors: MonitorsDep, response: Response, body: JobRequest | None = None
) -> JobOut:
    """Run one job now over the target window and answer it, SUCCEEDED or FAILED (its
    `error` says why); its alerts wait as PENDING deliveries."""
    fields = {} if body is None else body.model_dump(exclude_unset=True)
    job = monitors.run(monitor, **fields)
    response.headers["Location"] = f"{PREFIX}/{monitor}/jobs/{job.id}"
    return JobOut(**job.to_json())


@router.get(
    "/{monitor}/jobs",
    response_model=JobList,
    responses=_READ,
    summary="List a monitor's jobs",
    openapi_extra=READ,
)
def list_jobs(
    monitor: MonitorPath,
    monitors: MonitorsDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> JobList:
    """The monitor's jobs, newest first."""
    return JobList(jobs=[JobOut(**j.to_json()) for j in monitors.jobs(monitor, limit=limit)])


@router.get(
    "/{monitor}/jobs/{job_id}",
    response_model=JobOut,
    responses=_READ,
    summary="Get a monitoring job",
    openapi_extra=READ,
)
def get_job(monitor: MonitorPath, job_id: JobPath, monitors: MonitorsDep) -> JobOut:
    """One job of the monitor."""
    job = monitors.get_job(job_id, monitor=monitor)
    return JobOut(**job.to_json())


@router.get(
    "/{monitor}/metrics",
    response_model=MetricList,
    responses=_READ,
    summary="Search a monitor's metrics",
    openapi_extra=READ,
)
def search_metrics(
    monitor: MonitorPath, query: Annotated[MetricSearch, Query()], monitors: MonitorsDep
) -> MetricList:
    """The monitor's metrics, oldest window first: per job, objective and field the
    distance, threshold, chance level, status, counts and statistics."""
    criteria = query.model_dump()
    found = monitors.search_metrics(monitor, anomalies_only=criteria.pop("anomalies"), **criteria)
    return MetricList(metrics=[MetricOut(**m.to_json()) for m in found])


# Ground truth and the report


class LabelRow(_Shape):
    """One label: the instance it is the truth of (its request's id, as the answer's
    `X-Request-Id` header or OIP `id` gave it, and its position), and the true value."""

    request_id: Annotated[str, Field(min_length=1, max_length=256, examples=["7f3c9a..."])]
    instance_index: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    label: str | int | float | bool = Field(examples=["churned"])


class Feedback(_Shape):
    labels: list[LabelRow] = Field(min_length=1, max_length=MAX_LABELS)


class FeedbackOut(BaseModel):
    monitor: str
    model: str
    artifact_id: int = Field(description="The conveyor.GroundTruth artifact keeping them.")
    uri: str
    rows: int
    matched: int = Field(description="Labels naming a logged prediction of the model.")
    unmatched: int
    examples: list[dict[str, Any]] = Field(description="A few labels that matched none.")
    received_at: datetime


@router.post(
    "/{monitor}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses=_READ,
    summary="Send ground truth labels",
    openapi_extra=ADMIN,
)
def send_feedback(monitor: MonitorPath, body: Feedback, monitors: MonitorsDep) -> FeedbackOut:
    """Keep ground truth labels for the predictions of the monitor's model (each names an
    instance by its request's id and position); says how many match a logged prediction.
    Jobs then report the model's live metrics (`model_performance_spec`)."""
    rows = [row.model_dump() for row in body.labels]
    return FeedbackOut(**monitors.feedback(monitor, rows).to_json())


@router.get(
    "/{monitor}/jobs/{job_id}/report",
    response_class=HTMLResponse,
    responses=responses_beside(400, 404),
    summary="A job's HTML report",
    openapi_extra=READ,
)
def job_report(
    monitor: MonitorPath,
    job_id: JobPath,
    monitors: MonitorsDep,
    history: Annotated[int, Query(ge=1, le=500)] = 20,
) -> HTMLResponse:
    """The job's report: one self-contained HTML page (inline SVG, no script), per field the
    baseline and target distributions, the distance over the last `history` jobs, alerts."""
    monitors.get_job(job_id, monitor=monitor)  # 404 unless the monitor's
    return HTMLResponse(monitors.report(job_id, history=history))


def _fields(body: BaseModel) -> dict[str, Any]:
    """The fields the request set, nested objects as the library takes them (a spec left
    out of an objective is off; a field left out of a spec takes its default)."""
    fields = body.model_dump(exclude_unset=True)
    baseline = fields.get("training_dataset")
    if baseline is not None:  # `data_format: null` beside a uri means "by its extension"
        fields["training_dataset"] = {k: v for k, v in baseline.items() if v is not None}
    return fields
