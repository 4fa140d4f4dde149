"""`/api/v1/monitors`: model monitors over REST; thin calls to the home's `Monitors`.

    GET    /api/v1/monitors              the monitors
    POST   /api/v1/monitors              create one
    GET    /api/v1/monitors/{monitor}    one, its target resolved now
    PATCH  /api/v1/monitors/{monitor}    change fields (null: back to the default)
    DELETE /api/v1/monitors/{monitor}    it, with its jobs' records

Fields keep Vertex AI Model Monitoring v2's names in snake case (`model_monitoring_schema`,
`tabular_objective`, `feature_drift_spec`, `default_numeric_alert_threshold`,
`notification_spec`), as the rest of this API. The monitors check what the bodies hold
beyond their shapes (a target that resolves, features in the schema) and answer 400
naming the field, 404 for a target that names no version, 409 for a name taken. Errors
answer `{"error": {"code", "message", "status"}}` (`conveyor.api.errors`). See
docs/monitoring.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import MonitorsDep
from conveyor.api.errors import responses
from conveyor.api.params import (
    Duration,
    Id,
    MonitorName,
    MonitorPath,
    Reference,
    SettingName,
)
from conveyor.monitoring import ModelMonitor
from conveyor.serving.auth import Role, needs

PREFIX = "/api/v1/monitors"

router = APIRouter(prefix=PREFIX, tags=["monitors"], route_class=JsonRoute)

READ, ADMIN = needs(Role.READ), needs(Role.ADMIN)

DataType = Literal["float", "integer", "categorical", "boolean", "string"]
CategoricalMetric = Literal["l_infinity", "jensen_shannon_divergence"]
NumericMetric = Literal["jensen_shannon_divergence"]
Threshold = Annotated[float, Field(ge=0, le=1)]
FieldName = Annotated[str, Field(min_length=1, max_length=255, examples=["tenure"])]


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


class TabularObjective(_Shape):
    """The objectives; one left out (or null) is off, `{}` is on with the defaults."""

    feature_drift_spec: DataDriftSpec | None = None
    prediction_output_drift_spec: DataDriftSpec | None = None
    feature_skew_spec: DataDriftSpec | None = Field(
        default=None,
        description="Training-serving skew: the target window against the "
        "training dataset (Conveyor's).",
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
    cron: str | None = Field(default=None, examples=["0 * * * *"])


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


class ObjectiveOut(BaseModel):
    feature_drift_spec: DataDriftSpecOut | None
    prediction_output_drift_spec: DataDriftSpecOut | None
    feature_skew_spec: DataDriftSpecOut | None


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
    cron: str | None
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
    responses=_READ,
    summary="Delete a monitor",
    openapi_extra=ADMIN,
)
def delete(monitor: MonitorPath, monitors: MonitorsDep) -> Deleted:
    """Delete the monitor with its jobs, their metrics, alerts and deliveries; the
    executions that recorded the jobs stay in the metadata store."""
    return Deleted(name=monitor, jobs_deleted=monitors.delete(monitor))


def _fields(body: BaseModel) -> dict[str, Any]:
    """The fields the request set, nested objects as the library takes them (a spec left
    out of an objective is off; a field left out of a spec takes its default)."""
    fields = body.model_dump(exclude_unset=True)
    baseline = fields.get("training_dataset")
    if baseline is not None:  # `data_format: null` beside a uri means "by its extension"
        fields["training_dataset"] = {k: v for k, v in baseline.items() if v is not None}
    return fields
