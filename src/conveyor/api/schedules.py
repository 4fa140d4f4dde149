"""`/api/v1/schedules`: schedules over REST; thin calls to the home's `Schedules`.

    GET    /api/v1/schedules                         the schedules
    POST   /api/v1/schedules                         create one
    GET    /api/v1/schedules/{schedule}              one
    PATCH  /api/v1/schedules/{schedule}              change fields (those left out stay)
    POST   /api/v1/schedules/{schedule}:pause        stop firing it
    POST   /api/v1/schedules/{schedule}:resume       fire it again ({"catch_up": true}: the
                                                     times missed while paused too)
    DELETE /api/v1/schedules/{schedule}              it, with the record of its fires
    GET    /api/v1/schedules/{schedule}/fires        its fires, newest first

Fields keep Vertex AI's `Schedule` names in snake case (`cron`, `max_run_count`,
`max_concurrent_run_count`, `allow_queueing`, `next_run_time`, ...); `request` holds
exactly one of `pipeline_job` (a registered pipeline, `NAME@TAG`, and its parameters) and
`model_monitoring_job`. Times are ISO 8601 with their zone. The schedules check what the
bodies hold beyond their shapes (the cron and its time zone, the parameters against the
pipeline version) and answer 400 naming the field, 404 for an unknown schedule, pipeline or
monitor, 409 for a name taken or a completed schedule paused. Reading needs the `read`
role, pausing and resuming `deploy`, the rest `admin`. Errors answer `{"error": {"code",
"message", "status"}}` (`conveyor.api.errors`). See docs/automation.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Query, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import SchedulesDep
from conveyor.api.errors import responses
from conveyor.api.params import (
    NO_NUL,
    MonitorName,
    PipelineReference,
    ScheduleName,
    SchedulePath,
)
from conveyor.automation.schedule_records import FireRecord, ScheduleRecord
from conveyor.automation.schedules import MAX_DISPLAY_NAME
from conveyor.serving.auth import Role, needs

PREFIX = "/api/v1/schedules"

router = APIRouter(prefix=PREFIX, tags=["schedules"], route_class=JsonRoute)

READ, DEPLOY, ADMIN = needs(Role.READ), needs(Role.DEPLOY), needs(Role.ADMIN)

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
"""The times a body may give: a cron steps through them without leaving the calendar."""


def _time(value: Any) -> datetime:
    """ISO 8601 text with its zone (never a number of seconds), from 1970 to 8999."""
    try:
        parsed = datetime.fromisoformat(value.upper()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise PydanticCustomError(
            "iso_time", "give an ISO 8601 time with its zone (2026-12-31T23:00:00Z)"
        )
    try:
        inside = EARLIEST <= parsed.astimezone(UTC) < LATEST
    except OverflowError:  # 0001-01-01T00:00:00+01:00
        inside = False
    if not inside:
        raise PydanticCustomError("time_range", "give a time from 1970 to 8999")
    return parsed


Time = Annotated[AwareDatetime, BeforeValidator(_time), Field(examples=["2026-12-31T23:00:00Z"])]
Cron = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=NO_NUL,
        description="5 fields (minute hour day month weekday), or KFP's 6 (seconds first), "
        "optionally after TZ=Zone (an IANA time zone); UTC otherwise.",
        examples=["TZ=Europe/Paris 0 3 * * *"],
    ),
]
DisplayName = Annotated[
    str, Field(min_length=1, max_length=MAX_DISPLAY_NAME, pattern=NO_NUL, examples=["Nightly"])
]
Count = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _not_null(schema: dict[str, Any]) -> None:
    """The JSON schema of a field that may be left out but is never null."""
    (kept,) = [s for s in schema.pop("anyOf") if s != {"type": "null"}]
    schema.update(kept)


_LEFT_OUT: Any = Field(default=None, json_schema_extra=_not_null)
"""The default of such a field: None when left out; a null given is refused."""


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion (`"3"` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PipelineJob(_Shape):
    """A run of a registered pipeline (Vertex AI's `create_pipeline_job_request`)."""

    pipeline: PipelineReference = Field(
        description="Resolved at each fire: a schedule on NAME@TAG follows the tag."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The run's parameters, checked against the version now and at each fire.",
        examples=[{"epochs": 3}],
    )
    enable_caching: bool | None = Field(
        default=None, description="false: no cached result is reused; null: as compiled."
    )


class MonitoringJob(_Shape):
    """A job of a model monitor (Vertex AI's `create_model_monitoring_job_request`)."""

    monitor: MonitorName


class ScheduleRequest(_Shape):
    """What each time fires: exactly one of a pipeline run and a monitoring job."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    pipeline_job: PipelineJob | None = _LEFT_OUT
    model_monitoring_job: MonitoringJob | None = _LEFT_OUT

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in self.model_fields_set if getattr(self, name) is not None]
        if len(given) != 1 or len(self.model_fields_set) != 1:
            raise PydanticCustomError(
                "one_request", "give exactly one of pipeline_job and model_monitoring_job"
            )
        return self

    def as_request(self) -> dict[str, Any]:
        """The request as `Schedules` takes it."""
        return {name: getattr(self, name).model_dump() for name in self.model_fields_set}


_NOT_NULL = ("cron", "request", "max_concurrent_run_count", "allow_queueing", "catch_up")
"""The fields of an update that have no default to go back to: null is refused."""


class NewSchedule(_Shape):
    """A schedule to create, ACTIVE from `start_time` (default: now)."""

    name: ScheduleName
    cron: Cron
    request: ScheduleRequest
    display_name: DisplayName | None = Field(default=None, description="Null: the name.")
    start_time: Time | None = Field(default=None, description="Null: now.")
    end_time: Time | None = Field(default=None, description="Null: no end.")
    max_run_count: Count | None = Field(
        default=None, description="Complete after starting this many runs; null: no limit."
    )
    max_concurrent_run_count: Count = Field(
        default=1, description="Runs of the schedule under way at once, at most."
    )
    allow_queueing: bool = Field(
        default=False, description="Queue a time that comes at the limit (else skip it)."
    )
    catch_up: bool = Field(
        default=False,
        description="Fire the times missed while no scheduler ran one by one (else the latest).",
    )


class ScheduleUpdate(_Shape):
    """Fields to change; those left out stay. A new cron takes effect from now; a new
    request replaces the old whole."""

    cron: Cron | None = _LEFT_OUT
    request: ScheduleRequest | None = _LEFT_OUT
    display_name: DisplayName | None = Field(default=None, description="Null: the name.")
    end_time: Time | None = Field(default=None, description="Null: no end.")
    max_run_count: Count | None = Field(default=None, description="Null: no limit.")
    max_concurrent_run_count: Count | None = _LEFT_OUT
    allow_queueing: bool | None = _LEFT_OUT
    catch_up: bool | None = _LEFT_OUT

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_null", "give a value, or leave the field out")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields given, as `Schedules.update` takes them."""
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        if self.request is not None:
            fields["request"] = self.request.as_request()
        return fields


class Resumption(_Shape):
    catch_up: bool = Field(
        default=False,
        description="Fire each time missed while paused, in turn (else from the next time "
        "after now); the schedule keeps the choice.",
    )


class ScheduleOut(BaseModel):
    name: str
    display_name: str
    cron: str
    request: dict[str, Any] = Field(
        examples=[{"pipeline_job": {"pipeline": "churn-training@prod", "parameters": {}}}]
    )
    state: Literal["ACTIVE", "PAUSED", "COMPLETED"]
    start_time: datetime
    end_time: datetime | None
    max_run_count: int | None
    max_concurrent_run_count: int
    allow_queueing: bool
    catch_up: bool
    next_run_time: datetime | None = Field(description="Null: no time left to fire.")
    started_run_count: int
    last_scheduled_run_response: dict[str, Any] | None = Field(
        description="The latest time fired and the run it started (or why none started).",
        examples=[{"scheduled_run_time": "2026-01-02T02:00:00+00:00", "run_response": "..."}],
    )
    last_pause_time: datetime | None
    last_resume_time: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, schedule: ScheduleRecord) -> ScheduleOut:
        return cls(**schedule.to_json())


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


class FireOut(BaseModel):
    """One fire of a schedule or a trigger, and what became of it."""

    id: int
    source: Literal["schedule", "trigger"]
    source_name: str
    occurrence: str = Field(
        description="Its key: a schedule's time; a trigger's object with its size and "
        "stamp, alert:<id>, run:<run id>, key:<Idempotency-Key> or call:<random>."
    )
    state: Literal["CLAIMED", "QUEUED", "STARTED", "SUCCEEDED", "FAILED", "SKIPPED", "DEDUPLICATED"]
    scheduled_time: datetime | None = Field(
        description="The time a schedule fired it for; when a trigger saw the event."
    )
    run_id: str | None = Field(description="The run it started.")
    event: dict[str, Any] = Field(
        description="What the event gave (`parameters`) and what it was; once started, the "
        "request as resolved."
    )
    error: str | None = Field(description="Why it was skipped, or failed.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, fire: FireRecord) -> FireOut:
        return cls(**fire.to_json())


class FireList(BaseModel):
    fires: list[FireOut]


# Routes

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=ScheduleList, summary="List the schedules", openapi_extra=READ)
def list_schedules(schedules: SchedulesDep) -> ScheduleList:
    """Every schedule, by name, with its state and next time."""
    return ScheduleList(schedules=[ScheduleOut.of(s) for s in schedules.list()])


@router.post(
    "",
    response_model=ScheduleOut,
    status_code=201,
    responses=_WRITE,
    summary="Create a schedule",
    openapi_extra=ADMIN,
)
def create(body: NewSchedule, schedules: SchedulesDep, response: Response) -> ScheduleOut:
    """A new ACTIVE schedule; `conveyor scheduler` (or `conveyor serve --scheduler`) fires
    it. The request is checked now: the pipeline version exists and takes the parameters,
    or the monitor exists."""
    given = body.model_fields_set - {"name", "cron", "request"}
    fields = {name: getattr(body, name) for name in given}
    made = schedules.create(body.name, body.cron, body.request.as_request(), **fields)
    response.headers["Location"] = f"{PREFIX}/{made.name}"
    return ScheduleOut.of(made)


@router.get(
    "/{schedule}",
    response_model=ScheduleOut,
    responses=_READ,
    summary="Get a schedule",
    openapi_extra=READ,
)
def get(schedule: SchedulePath, schedules: SchedulesDep) -> ScheduleOut:
    return ScheduleOut.of(schedules.get(schedule))


@router.patch(
    "/{schedule}",
    response_model=ScheduleOut,
    responses=_WRITE,
    summary="Update a schedule",
    openapi_extra=ADMIN,
)
def update(schedule: SchedulePath, body: ScheduleUpdate, schedules: SchedulesDep) -> ScheduleOut:
    """Change fields (Vertex AI's `update`): those left out stay; `end_time`,
    `max_run_count` and `display_name` go back to their default as null."""
    return ScheduleOut.of(schedules.update(schedule, **body.changes()))


@router.post(
    "/{schedule}:pause",
    response_model=ScheduleOut,
    responses=_WRITE,
    summary="Pause a schedule",
    openapi_extra=DEPLOY,
)
def pause(schedule: SchedulePath, schedules: SchedulesDep) -> ScheduleOut:
    """Stop firing until resumed (a paused schedule stays paused); 409 once COMPLETED."""
    return ScheduleOut.of(schedules.pause(schedule))


@router.post(
    "/{schedule}:resume",
    response_model=ScheduleOut,
    responses=_WRITE,
    summary="Resume a schedule",
    openapi_extra=DEPLOY,
)
def resume(
    schedule: SchedulePath, schedules: SchedulesDep, body: Resumption | None = None
) -> ScheduleOut:
    """Fire a paused schedule again: from its next time after now, or with `catch_up`
    each time missed while paused first; 409 once COMPLETED."""
    catch_up = body is not None and body.catch_up
    return ScheduleOut.of(schedules.resume(schedule, catch_up=catch_up))


@router.delete(
    "/{schedule}",
    status_code=204,
    response_class=Response,
    responses=_READ,
    summary="Delete a schedule",
    openapi_extra=ADMIN,
)
def delete(schedule: SchedulePath, schedules: SchedulesDep) -> None:
    """Delete the schedule and the record of its fires; the runs it started stay."""
    schedules.delete(schedule)


@router.get(
    "/{schedule}/fires",
    response_model=FireList,
    responses=_READ,
    summary="List a schedule's fires",
    openapi_extra=READ,
)
def list_fires(
    schedule: SchedulePath,
    schedules: SchedulesDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> FireList:
    """Its fires, newest first: started, queued, skipped (and why) or failed."""
    return FireList(fires=[FireOut.of(f) for f in schedules.fires(schedule, limit=limit)])
