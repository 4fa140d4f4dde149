"""`/api/v1/triggers`: triggers over REST; thin calls to the home's `Triggers`.

    GET    /api/v1/triggers                        the triggers
    POST   /api/v1/triggers                        create one
    GET    /api/v1/triggers/{trigger}              one
    POST   /api/v1/triggers/{trigger}:pause        stop firing it
    POST   /api/v1/triggers/{trigger}:resume       fire it again, on what comes from now on
    DELETE /api/v1/triggers/{trigger}              it, with the record of its fires
    GET    /api/v1/triggers/{trigger}/fires        its fires, newest first
    POST   /api/v1/triggers/{trigger}:fire         call a webhook trigger (202)

`:fire` is the Pub/Sub push of Vertex AI's event-driven pipelines: `{"parameters": {...}}`
over the trigger's own, checked against the pipeline's inputs now (400 naming the field),
and an `Idempotency-Key` header: a second call with the key answers the first call's fire
and fires nothing. The triggers check what the bodies hold beyond their shapes (the
pattern can be listed, the monitor exists, the pipeline takes the parameters the events
give) and answer 400 naming the field, 404 for an unknown trigger, pipeline or monitor,
409 for a name taken. Reading needs the `read` role; calling, pausing and resuming
`deploy`; the rest `admin`. Errors answer `{"error": {"code", "message", "status"}}`
(`conveyor.api.errors`). See docs/automation.md.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import TriggersDep
from conveyor.api.errors import responses
from conveyor.api.params import TriggerName, TriggerPath
from conveyor.api.schedules import FireList, FireOut, PipelineJob
from conveyor.automation.errors import AutomationUsageError
from conveyor.automation.new_data import is_local
from conveyor.automation.trigger_records import TriggerKind, TriggerRecord
from conveyor.automation.triggers import MAX_KEY
from conveyor.serving.auth import Role, needs

PREFIX = "/api/v1/triggers"

router = APIRouter(prefix=PREFIX, tags=["triggers"], route_class=JsonRoute)

READ, DEPLOY, ADMIN = needs(Role.READ), needs(Role.DEPLOY), needs(Role.ADMIN)
Kind = Literal["new_data", "monitoring_alert", "run_finished", "webhook"]


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion (`"3"` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TriggerRequest(_Shape):
    """What each event fires: a run of a registered pipeline."""

    pipeline_job: PipelineJob


class NewTrigger(_Shape):
    """A trigger to create, ACTIVE at once."""

    name: TriggerName
    kind: Kind = Field(description="The event it fires on.")
    event: dict[str, Any] = Field(
        default_factory=dict,
        description="The kind's settings. new_data: `pattern` (an absolute path or an "
        "s3:// or gs:// URL, with globs or {SPAN}) and `parameter` (receives each new "
        "object's URI); monitoring_alert: `monitor`, `objectives`, `cooldown` (1d); "
        "run_finished: `pipeline` (as runs name it), `states` ([SUCCEEDED]), `parameters` "
        "(a parameter of the pipeline to run to an output of the finished run); webhook: "
        "`parameters` (the names a call may give; none: any). Every kind: "
        "`max_concurrent_run_count` (1).",
        examples=[{"pattern": "/srv/data/spans/span-*", "parameter": "data_path"}],
    )
    request: TriggerRequest


class Call(_Shape):
    """A webhook call."""

    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Over the trigger's own; checked against the pipeline's inputs.",
        examples=[{"epochs": 3}],
    )


class TriggerOut(BaseModel):
    name: str
    kind: Kind
    event: dict[str, Any] = Field(description="Its settings, as stored (defaults filled in).")
    request: dict[str, Any] = Field(
        examples=[{"pipeline_job": {"pipeline": "churn-training@prod", "parameters": {}}}]
    )
    state: Literal["ACTIVE", "PAUSED"]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, trigger: TriggerRecord) -> TriggerOut:
        return cls(**trigger.to_json())


class TriggerList(BaseModel):
    triggers: list[TriggerOut]


# Routes

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=TriggerList, summary="List the triggers", openapi_extra=READ)
def list_triggers(triggers: TriggersDep) -> TriggerList:
    """Every trigger, by name, with its kind, settings and state."""
    return TriggerList(triggers=[TriggerOut.of(t) for t in triggers.list()])


@router.post(
    "",
    response_model=TriggerOut,
    status_code=201,
    responses=_WRITE,
    summary="Create a trigger",
    openapi_extra=ADMIN,
)
def create(body: NewTrigger, triggers: TriggersDep, response: Response) -> TriggerOut:
    """A new ACTIVE trigger; `conveyor scheduler` (or `conveyor serve --scheduler`) fires
    it. Objects a new_data pattern names now are recorded SKIPPED: only new ones fire."""
    if body.kind == TriggerKind.NEW_DATA and _relative(body.event.get("pattern")):
        raise AutomationUsageError(
            "event.pattern: give an absolute path (or a URL): the server's working folder "
            "is not the caller's"
        )
    request = {"pipeline_job": body.request.pipeline_job.model_dump()}
    made = triggers.create(body.name, body.kind, body.event, request)
    response.headers["Location"] = f"{PREFIX}/{made.name}"
    return TriggerOut.of(made)


def _relative(pattern: Any) -> bool:
    """Whether `pattern` is a local path that is not absolute (relative to what, here?)."""
    return (
        isinstance(pattern, str)
        and is_local(pattern)
        and not os.path.isabs(pattern.removeprefix("file://"))
    )


@router.get(
    "/{trigger}",
    response_model=TriggerOut,
    responses=_READ,
    summary="Get a trigger",
    openapi_extra=READ,
)
def get(trigger: TriggerPath, triggers: TriggersDep) -> TriggerOut:
    return TriggerOut.of(triggers.get(trigger))


@router.post(
    "/{trigger}:pause",
    response_model=TriggerOut,
    responses=_READ,
    summary="Pause a trigger",
    openapi_extra=DEPLOY,
)
def pause(trigger: TriggerPath, triggers: TriggersDep) -> TriggerOut:
    """Fire nothing until resumed; fires waiting to start are skipped."""
    return TriggerOut.of(triggers.pause(trigger))


@router.post(
    "/{trigger}:resume",
    response_model=TriggerOut,
    responses=_READ,
    summary="Resume a trigger",
    openapi_extra=DEPLOY,
)
def resume(trigger: TriggerPath, triggers: TriggersDep) -> TriggerOut:
    """Fire again on the events that come from now on; those that came while it was
    paused are recorded skipped."""
    return TriggerOut.of(triggers.resume(trigger))


@router.delete(
    "/{trigger}",
    status_code=204,
    response_class=Response,
    responses=_READ,
    summary="Delete a trigger",
    openapi_extra=ADMIN,
)
def delete(trigger: TriggerPath, triggers: TriggersDep) -> None:
    """Delete the trigger and the record of its fires; the runs it started stay."""
    triggers.delete(trigger)


@router.get(
    "/{trigger}/fires",
    response_model=FireList,
    responses=_READ,
    summary="List a trigger's fires",
    openapi_extra=READ,
)
def list_fires(
    trigger: TriggerPath,
    triggers: TriggersDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> FireList:
    """Its fires, newest first: each event it saw and what became of it."""
    return FireList(fires=[FireOut.of(f) for f in triggers.fires(trigger, limit=limit)])


@router.post(
    "/{trigger}:fire",
    response_model=FireOut,
    status_code=202,
    responses=_WRITE,
    summary="Call a webhook trigger",
    openapi_extra=DEPLOY,
)
def fire(
    trigger: TriggerPath,
    triggers: TriggersDep,
    body: Call | None = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_KEY,
            description="A second call with this key answers the first call's fire.",
        ),
    ] = None,
) -> FireOut:
    """Queue a run of the webhook trigger's pipeline with the body's parameters (202); the
    scheduler starts it. A paused trigger records the call skipped."""
    parameters = body.parameters if body is not None else {}
    return FireOut.of(triggers.fire(trigger, parameters, key=idempotency_key))
