"""`/api/v1/endpoints/{endpoint}/rollouts`: progressive delivery over REST; thin calls to the
home's `Rollouts`.

    GET  /api/v1/endpoints/{endpoint}/rollouts             the endpoint's rollouts, newest first
    POST /api/v1/endpoints/{endpoint}/rollouts             start one (canary or shadow)
    GET  /api/v1/endpoints/{endpoint}/rollouts/{id}        one, with its analyses
    POST /api/v1/endpoints/{endpoint}:pauseRollout         pause the unfinished one
    POST /api/v1/endpoints/{endpoint}:resumeRollout        resume it
    POST /api/v1/endpoints/{endpoint}:abortRollout         stop it: traffic back to the stable model

Starting and stopping need the `deploy` role, as deploying does. The analysis runs in the
server that serves the endpoint (`conveyor.automation.rollout_controller`). See
docs/delivery.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import RolloutsDep
from conveyor.api.errors import responses
from conveyor.api.params import EndpointPath, Reference
from conveyor.automation.rollout_records import Criteria, Rollout
from conveyor.serving.auth import Role, needs
from conveyor.store.metadata.kinds import MAX_ID

PREFIX = "/api/v1/endpoints"

router = APIRouter(prefix=PREFIX, tags=["rollouts"], route_class=JsonRoute)

READ, DEPLOY = needs(Role.READ), needs(Role.DEPLOY)

Fraction = Annotated[float, Field(ge=0, le=1)]
RolloutPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A rollout's id.")]


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CriteriaIn(_Shape):
    """What each analysis window is judged by; null: not checked."""

    max_error_rate: Fraction | None = Field(
        default=0.01, description="Largest share of the candidate's requests answered 5xx."
    )
    max_p99_ms: float | None = Field(default=None, gt=0, examples=[50])
    min_requests: int = Field(
        default=20, ge=1, description="Fewer requests to the candidate: the window goes on."
    )
    min_agreement: Fraction | None = Field(
        default=None, description="Shadow: least share of instances predicted as the stable."
    )
    max_mean_absolute_error: float | None = Field(
        default=None, gt=0, description="Shadow: largest mean |candidate - stable|."
    )


class NewRollout(_Shape):
    """A model version to roll out to the endpoint, and how."""

    model: Reference = Field(
        description="The candidate: churn@4, or an alias (resolved now and pinned).",
        examples=["churn@4"],
    )
    strategy: Literal["canary", "shadow"] = Field(
        default="canary",
        description="canary: traffic moves step by step; shadow: a mirror of the traffic.",
    )
    steps: list[Annotated[int, Field(ge=1, le=100)]] | None = Field(
        default=None,
        description="Canary: the candidate's percentages, rising, ending at 100. Shadow: none.",
        examples=[[10, 25, 50, 100]],
    )
    interval_seconds: float = Field(
        default=300, gt=0, description="How long each analysis window lasts."
    )
    criteria: CriteriaIn = CriteriaIn()
    failure_limit: int = Field(
        default=2, ge=1, description="Failed analyses that roll the candidate back."
    )
    alias: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="Moved to the candidate at promotion (default: the alias the stable "
        "deployment follows).",
    )


class Reason(_Shape):
    reason: str | None = Field(default=None, description="Why, for the model's history.")


class RolloutOut(BaseModel):
    id: int
    endpoint: str
    strategy: str
    state: str = Field(description="progressing, paused, promoted, rolled_back or aborted.")
    model: str
    candidate_version: int
    alias: str | None
    stable_deployed_model_id: str | None
    candidate_deployed_model_id: str | None
    steps: list[int]
    step: int = Field(description="The current step's index in `steps`, from 0.")
    weight: int = Field(description="The candidate's share of the traffic now, in percent.")
    interval_seconds: float
    criteria: dict[str, Any]
    failure_limit: int
    failures: int
    message: str | None
    window_started_at: datetime
    analyses: list[dict[str, Any]] = Field(description="The verdicts, oldest first.")
    leased_by: str | None = Field(description="The server process analysing it.")
    lease_expires: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, rollout: Rollout) -> RolloutOut:
        return cls(**rollout.to_json())


class RolloutList(BaseModel):
    rollouts: list[RolloutOut]


_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get(
    "/{endpoint}/rollouts",
    response_model=RolloutList,
    responses=_READ,
    summary="List an endpoint's rollouts",
    openapi_extra=READ,
)
def list_rollouts(endpoint: EndpointPath, rollouts: RolloutsDep) -> RolloutList:
    """The endpoint's rollouts, newest first (the latest 20)."""
    return RolloutList(rollouts=[RolloutOut.of(r) for r in rollouts.list(endpoint)])


@router.post(
    "/{endpoint}/rollouts",
    response_model=RolloutOut,
    status_code=201,
    responses=_WRITE,
    summary="Start a rollout",
    openapi_extra=DEPLOY,
)
def start(
    endpoint: EndpointPath,
    body: NewRollout,
    rollouts: RolloutsDep,
    request: Request,
    response: Response,
) -> RolloutOut:
    """Deploy the candidate beside the endpoint's stable model and move traffic to it
    step by step; 409 when the endpoint has a rollout already or no single stable model."""
    started = rollouts.start(
        endpoint,
        body.model,
        strategy=body.strategy,
        steps=body.steps,
        interval_seconds=body.interval_seconds,
        criteria=Criteria(**body.criteria.model_dump()),
        failure_limit=body.failure_limit,
        alias=body.alias,
    )
    _changed(request, endpoint)
    response.headers["Location"] = f"{PREFIX}/{endpoint}/rollouts/{started.id}"
    return RolloutOut.of(started)


@router.get(
    "/{endpoint}/rollouts/{rollout_id}",
    response_model=RolloutOut,
    responses=_READ,
    summary="Get a rollout",
    openapi_extra=READ,
)
def get(endpoint: EndpointPath, rollout_id: RolloutPath, rollouts: RolloutsDep) -> RolloutOut:
    return RolloutOut.of(rollouts.get(rollout_id, endpoint=endpoint))


@router.post(
    "/{endpoint}:pauseRollout",
    response_model=RolloutOut,
    responses=_WRITE,
    summary="Pause the endpoint's rollout",
    openapi_extra=DEPLOY,
)
def pause(endpoint: EndpointPath, rollouts: RolloutsDep) -> RolloutOut:
    """Stop judging it; the traffic stays where it is."""
    return RolloutOut.of(rollouts.pause(endpoint))


@router.post(
    "/{endpoint}:resumeRollout",
    response_model=RolloutOut,
    responses=_WRITE,
    summary="Resume the endpoint's rollout",
    openapi_extra=DEPLOY,
)
def resume(endpoint: EndpointPath, rollouts: RolloutsDep) -> RolloutOut:
    """Judge it again, from a new window at its step."""
    return RolloutOut.of(rollouts.resume(endpoint))


@router.post(
    "/{endpoint}:abortRollout",
    response_model=RolloutOut,
    responses=_WRITE,
    summary="Abort the endpoint's rollout",
    openapi_extra=DEPLOY,
)
def abort(
    endpoint: EndpointPath, rollouts: RolloutsDep, request: Request, body: Reason | None = None
) -> RolloutOut:
    """All traffic back to the stable model, the candidate undeployed."""
    stopped = rollouts.abort(endpoint, reason=body.reason if body else None)
    _changed(request, endpoint)
    return RolloutOut.of(stopped)


def _changed(request: Request, endpoint: str) -> None:
    for listener in request.app.state.endpoint_listeners:
        listener(endpoint)
