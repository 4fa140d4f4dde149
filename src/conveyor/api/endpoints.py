"""`/api/v1/endpoints`: prediction endpoints over REST; thin calls to the home's `Endpoints`.

    GET    /api/v1/endpoints                            the endpoints
    POST   /api/v1/endpoints                            create one
    GET    /api/v1/endpoints/{endpoint}                 one, with its deployed models and split
    PATCH  /api/v1/endpoints/{endpoint}                 its description, labels, log sample rate
    DELETE /api/v1/endpoints/{endpoint}                 it, once nothing is deployed to it
    POST   /api/v1/endpoints/{endpoint}:deployModel     deploy a model version
    POST   /api/v1/endpoints/{endpoint}:undeployModel   undeploy a deployed model
    POST   /api/v1/endpoints/{endpoint}:setTraffic      the whole split, or one model's share
    GET    /api/v1/endpoints/{endpoint}/stats           this server's prediction counters of it

The custom methods keep Vertex AI's names (`:deployModel`, `:undeployModel`); Vertex AI
sets traffic by patching the endpoint, Conveyor with `:setTraffic`, so that the `deploy`
token role may do it (`conveyor.serving.auth`). Prediction stays where Vertex AI has it,
`POST /v1/endpoints/{endpoint}:predict` (`conveyor.serving.vertex`). After each change
the app's endpoint listeners hear the endpoint's name, so a prediction server in the same
process serves the change at once. Errors answer `{"error": {"code", "message",
"status"}}` (`conveyor.api.errors`). `/stats` reads the counters of the prediction server
in this process (`create_app`'s `endpoint_totals`): a server that serves no predictions
(`conveyor ui`) answers 409. See docs/api.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import EndpointsDep
from conveyor.api.errors import responses
from conveyor.api.params import DeployedId, EndpointName, EndpointPath, Percentage, Reference
from conveyor.serving.auth import Role, needs
from conveyor.serving.errors import ServingConflict
from conveyor.serving.records import DeployedModel, Endpoint
from conveyor.serving.totals import DeployedTotals

PREFIX = "/api/v1/endpoints"

router = APIRouter(prefix=PREFIX, tags=["endpoints"], route_class=JsonRoute)

READ, DEPLOY, ADMIN = needs(Role.READ), needs(Role.DEPLOY), needs(Role.ADMIN)

Split = dict[DeployedId, Percentage]
Rate = Annotated[float, Field(ge=0, le=1)]


def _split() -> Any:
    return Field(
        default=None,
        description="Deployed model id to a whole percentage; the percentages add up to 100.",
        examples=[{"1": 90, "2": 10}],
    )


def _rate() -> Any:
    return Field(
        default=None,
        description="Share of requests written to the prediction log, 0 to 1 (none: the "
        "server's default).",
        examples=[0.1],
    )


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion (`"yes"` is no boolean, `"3"` no
    integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NewEndpoint(_Shape):
    """An endpoint to create, serving nothing until a model is deployed to it."""

    name: EndpointName
    description: str | None = None
    labels: dict[str, str] | None = Field(default=None, examples=[{"team": "growth"}])
    log_sample_rate: Rate | None = _rate()


class EndpointUpdate(_Shape):
    """Fields to change; those left out stay as they are. Labels are replaced whole."""

    description: str | None = None
    labels: dict[str, str] | None = None
    log_sample_rate: Rate | None = _rate()


class Deployment(_Shape):
    """A model version to deploy, and the traffic it takes."""

    model: Reference = Field(
        description="churn@3 (pinned to version 3), churn@production or churn (following "
        "the alias, default for a bare name).",
        examples=["churn@production"],
    )
    pin: bool = Field(default=False, description="Resolve the alias now and pin that version.")
    traffic_percentage: Percentage | None = Field(
        default=None,
        description="The new model's share; the others are scaled to share the rest. "
        "Default: 100 when no deployed model takes traffic, else 0.",
        examples=[10],
    )
    traffic_split: Split | None = Field(
        default=None,
        description='The whole split instead, "0" being the new model.',
        examples=[{"0": 10, "1": 90}],
    )
    shadow_of: DeployedId | None = Field(
        default=None,
        description="Deploy as a shadow of this deployed model of the endpoint: it takes no "
        "traffic (give no percentage or split), gets a copy of the requests that model "
        "answers, and its answers are logged and compared, never returned.",
        examples=["1"],
    )


class Undeployment(_Shape):
    """A deployed model to undeploy; its share goes to the others in proportion, or as
    `traffic_split` (over the remaining models) says."""

    deployed_model_id: DeployedId
    traffic_split: Split | None = _split()


class TrafficChange(_Shape):
    """Either the whole split, or one deployed model's percentage (the others scaled to
    share the rest in proportion)."""

    traffic_split: Split | None = _split()
    deployed_model_id: DeployedId | None = None
    traffic_percentage: Percentage | None = Field(default=None, examples=[30])


class DeployedModelOut(BaseModel):
    id: str = Field(description="A string of digits, as Vertex AI's deployed model ids.")
    endpoint: str
    model: str
    alias: str | None = Field(description="The alias it follows; none: pinned.")
    deployed_version: int = Field(description="The version it served when deployed.")
    version_id: int | None = Field(
        description="The version it serves now; none when the alias it follows is gone."
    )
    reference: str = Field(examples=["churn@production"])
    traffic_percentage: int
    deployed_by: str
    deployed_at: datetime
    shadow_of: str | None = Field(
        description="The deployed model whose traffic this shadow mirrors; none: not a shadow."
    )

    @classmethod
    def of(cls, deployed: DeployedModel) -> DeployedModelOut:
        return cls(**deployed.to_json(), reference=deployed.reference)


class EndpointOut(BaseModel):
    name: str
    description: str | None
    labels: dict[str, str]
    log_sample_rate: float | None
    deployed_models: list[DeployedModelOut] = Field(description="Oldest first.")
    traffic_split: dict[str, int]
    generation: int = Field(description="Grows by one at every change.")
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        data = endpoint.to_json()
        data["deployed_models"] = [DeployedModelOut.of(d) for d in endpoint.deployed_models]
        return cls(**data)


class EndpointList(BaseModel):
    endpoints: list[EndpointOut]


class DeployedStats(BaseModel):
    """A deployed model's counters in this server since it started (of every worker):
    they only grow, and start again from zero when the server restarts."""

    id: str
    reference: str = Field(examples=["churn@production"])
    requests: int = Field(description="Requests it answered.")
    errors: int = Field(description="Requests it answered with a status of 500 or more.")
    latency_bounds: list[float | str] = Field(
        description="The latency histogram's bucket upper bounds in seconds, the last "
        '"+Inf"; empty before its first request.'
    )
    latency_counts: list[int] = Field(
        description="Cumulative: the requests answered within each bound."
    )

    @classmethod
    def of(cls, deployed: DeployedModel, totals: DeployedTotals) -> DeployedStats:
        counted = totals.to_json()
        return cls(
            id=deployed.id,
            reference=deployed.reference,
            **{name: counted[name] for name in _COUNTED},
        )


_COUNTED = ("requests", "errors", "latency_bounds", "latency_counts")


class EndpointStats(BaseModel):
    endpoint: str
    read_at: datetime = Field(description="The server's clock when it read the counters.")
    deployed_models: list[DeployedStats] = Field(description="Oldest first.")


NO_PREDICTIONS = (
    "this server does not serve predictions, so it counts none; open the console on "
    "`conveyor serve`, which does"
)


# Routes: an endpoint name breaking its rule answers 400, an unknown one 404, and a change
# the endpoint's state forbids (deleting one that serves models, creating one that exists)
# 409.

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=EndpointList, summary="List the endpoints", openapi_extra=READ)
def list_endpoints(endpoints: EndpointsDep) -> EndpointList:
    """Every endpoint, by name, with its deployed models and traffic split."""
    return EndpointList(endpoints=[EndpointOut.of(e) for e in endpoints.list()])


@router.post(
    "",
    response_model=EndpointOut,
    status_code=201,
    responses=responses(400, 409),
    summary="Create an endpoint",
    openapi_extra=ADMIN,
)
def create(
    body: NewEndpoint, endpoints: EndpointsDep, request: Request, response: Response
) -> EndpointOut:
    made = endpoints.create(
        body.name,
        description=body.description,
        labels=body.labels,
        log_sample_rate=body.log_sample_rate,
    )
    _changed(request, made.name)
    response.headers["Location"] = f"{PREFIX}/{made.name}"
    return EndpointOut.of(made)


@router.get(
    "/{endpoint}",
    response_model=EndpointOut,
    responses=_READ,
    summary="Get an endpoint",
    openapi_extra=READ,
)
def get(endpoint: EndpointPath, endpoints: EndpointsDep) -> EndpointOut:
    """The endpoint, its deployed models (aliases resolved now) and its traffic split."""
    return EndpointOut.of(endpoints.get(endpoint))


@router.patch(
    "/{endpoint}",
    response_model=EndpointOut,
    responses=_READ,
    summary="Update an endpoint",
    openapi_extra=ADMIN,
)
def update(
    endpoint: EndpointPath, body: EndpointUpdate, endpoints: EndpointsDep, request: Request
) -> EndpointOut:
    """Change the description, the labels (replaced whole) or the log sample rate (null:
    the server's default); fields left out stay."""
    changed = endpoints.update(endpoint, **body.model_dump(include=body.model_fields_set))
    _changed(request, endpoint)
    return EndpointOut.of(changed)


@router.delete(
    "/{endpoint}",
    status_code=204,
    response_class=Response,
    responses=_WRITE,
    summary="Delete an endpoint",
    openapi_extra=ADMIN,
)
def delete(endpoint: EndpointPath, endpoints: EndpointsDep, request: Request) -> None:
    """Delete the endpoint; 409 while models are deployed to it (undeploy them first)."""
    endpoints.delete(endpoint)
    _changed(request, endpoint)


@router.post(
    "/{endpoint}:deployModel",
    response_model=DeployedModelOut,
    responses=_WRITE,
    summary="Deploy a model version",
    openapi_extra=DEPLOY,
)
def deploy(
    endpoint: EndpointPath, body: Deployment, endpoints: EndpointsDep, request: Request
) -> DeployedModelOut:
    """Deploy a registered version to the endpoint; the new deployed model. The version
    must load (checksums, trust, schema): 400 otherwise."""
    deployed = endpoints.deploy(
        endpoint,
        body.model,
        traffic_percentage=body.traffic_percentage,
        traffic_split=body.traffic_split,
        pin=body.pin,
        shadow_of=body.shadow_of,
    )
    _changed(request, endpoint)
    return DeployedModelOut.of(deployed)


@router.post(
    "/{endpoint}:undeployModel",
    response_model=EndpointOut,
    responses=_WRITE,
    summary="Undeploy a deployed model",
    openapi_extra=DEPLOY,
)
def undeploy(
    endpoint: EndpointPath, body: Undeployment, endpoints: EndpointsDep, request: Request
) -> EndpointOut:
    """Stop serving a deployed model; the endpoint afterwards. When it had all the
    traffic, give the remaining split."""
    after = endpoints.undeploy(endpoint, body.deployed_model_id, traffic_split=body.traffic_split)
    _changed(request, endpoint)
    return EndpointOut.of(after)


@router.post(
    "/{endpoint}:setTraffic",
    response_model=EndpointOut,
    responses=_READ,
    summary="Set the traffic split",
    openapi_extra=DEPLOY,
)
def set_traffic(
    endpoint: EndpointPath, body: TrafficChange, endpoints: EndpointsDep, request: Request
) -> EndpointOut:
    """Replace the whole split, or give one deployed model its percentage; the endpoint
    afterwards."""
    after = endpoints.set_traffic(
        endpoint,
        body.traffic_split,
        deployed_model_id=body.deployed_model_id,
        traffic_percentage=body.traffic_percentage,
    )
    _changed(request, endpoint)
    return EndpointOut.of(after)


@router.get(
    "/{endpoint}/stats",
    response_model=EndpointStats,
    responses=responses(400, 404, 409),
    summary="An endpoint's prediction counters",
    openapi_extra=READ,
)
def stats(endpoint: EndpointPath, endpoints: EndpointsDep, request: Request) -> EndpointStats:
    """The counters of each deployed model of the endpoint in this server (requests, errors,
    latency histogram), with the server's clock at the reading: two readings give the
    rates between them. 409 on a server that serves no predictions (`conveyor ui`)."""
    deployed = endpoints.get(endpoint).deployed_models
    totals = request.app.state.endpoint_totals
    if totals is None:
        raise ServingConflict(NO_PREDICTIONS)
    read_at = datetime.now(UTC)
    counted = totals(endpoint)
    return EndpointStats(
        endpoint=endpoint,
        read_at=read_at,
        deployed_models=[
            DeployedStats.of(d, counted.get(d.id, DeployedTotals())) for d in deployed
        ],
    )


def _changed(request: Request, endpoint: str) -> None:
    for listener in request.app.state.endpoint_listeners:
        listener(endpoint)
