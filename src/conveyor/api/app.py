"""`create_app`: the FastAPI application of Conveyor's REST faces, assembled in one place.

    from conveyor.api.app import create_app
    from conveyor.home import open_home

    with open_home() as home:
        app = create_app(home)                                  # the control API alone
        app = create_app(home, extra_routers=[predict])         # with more routes

The app holds:

- the control API: `/api/v1/models` (`conveyor.api.models`), `/api/v1/endpoints`
  (`conveyor.api.endpoints`), `/api/v1/monitors` (`conveyor.api.monitors`),
  `/api/v1/pipelines` (`conveyor.api.pipelines`), `/api/v1/schedules`
  (`conveyor.api.schedules`), `/api/v1/triggers` (`conveyor.api.triggers`) and
  `/api/v1/experiments` (`conveyor.api.experiments`) and `/api/v1/runs`
  (`conveyor.api.runs`, streamed by `conveyor.api.run_events`) and `/api/v1/artifacts`
  (`conveyor.api.artifacts`),
  with the lineage of artifacts and executions (`conveyor.api.lineage`), thin calls
  to the home's registry, endpoints, monitors, pipelines, schedules, triggers,
  experiments and metadata store, which routes reach as `request.app.state.home`;
- `extra_routers`: the routes of other faces: FastAPI `APIRouter`s (their routes added
  to the app's own, and described in `/openapi.json`) or Starlette routes (`Route`,
  `Mount`, added as they are). They get the same JSON error body for Conveyor's errors
  (`conveyor.api.errors`);
- `middleware`: Starlette `Middleware` around every route (token authentication, which
  finds the route a request matches among the app's routes); one that knows who calls
  sets `scope["state"]["user"]`, which the registry's history and the endpoints record;
- `max_request_bytes`: the largest body the control API reads (`conveyor.api.bodies`);
- `lifespans`: async context managers of the app, entered in order at startup and left
  in reverse at shutdown (a prediction service loading its deployments);
- `endpoint_listeners`: called with an endpoint's name after the control API changed it
  (a prediction service in the same process serves the change at once);
- `endpoint_totals`: the counters of an endpoint's deployed models, by id, of the
  prediction service that serves them here (`Metrics.totals`), which
  `GET /api/v1/endpoints/{endpoint}/stats` reads; none on a server that serves no
  predictions (`conveyor ui`);
- `/openapi.json` and `/docs` (Swagger UI, its assets served here: no CDN), describing
  the routes.

The home belongs to the caller, who closes it after the app stops
(`conveyor.api.server` opens one for `conveyor serve`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from conveyor.api import (
    artifacts,
    docs,
    endpoints,
    errors,
    experiments,
    lineage,
    models,
    monitors,
    pipelines,
    rollouts,
    run_events,
    runs,
    schedules,
    triggers,
)
from conveyor.serving.settings import ServerSettings

if TYPE_CHECKING:
    from conveyor.home import Home
    from conveyor.serving.totals import DeployedTotals

TITLE = "Conveyor"
DESCRIPTION = (
    "Conveyor's REST API: the model registry under /api/v1/models, prediction endpoints "
    "under /api/v1/endpoints, model monitors under /api/v1/monitors, pipelines under "
    "/api/v1/pipelines, schedules under /api/v1/schedules, triggers under /api/v1/triggers, "
    "experiment tracking under /api/v1/experiments, pipeline runs under /api/v1/runs, "
    "artifacts under /api/v1/artifacts, lineage under /api/v1/artifacts/{id}/lineage and "
    "/api/v1/executions/{id}/lineage. "
    "Every error answers "
    '{"error": {"code", "message", "status"}}.'
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def create_app(
    home: Home,
    *,
    extra_routers: Iterable[APIRouter | BaseRoute] = (),
    middleware: Sequence[Middleware] = (),
    lifespans: Iterable[Lifespan] = (),
    endpoint_listeners: Iterable[Callable[[str], None]] = (),
    endpoint_totals: Callable[[str], Mapping[str, DeployedTotals]] | None = None,
    max_request_bytes: int = ServerSettings.max_api_request_bytes,
    documents: Iterable[Mapping[str, Any]] = (),
    app_class: type[FastAPI] = FastAPI,
) -> FastAPI:
    """The application over `home`: the control API's routes, then `extra_routers` (see
    the module docstring); an `app_class` instance (a FastAPI subclass)."""
    app = app_class(
        title=TITLE,
        version=_version(),
        description=DESCRIPTION,
        middleware=list(middleware),
        lifespan=_lifespan(list(lifespans)),
        docs_url=None,  # served offline instead (`docs.py`)
        redoc_url=None,
    )
    app.state.home = home
    app.state.endpoint_listeners = list(endpoint_listeners)
    app.state.endpoint_totals = endpoint_totals
    app.state.max_request_bytes = max_request_bytes
    errors.install(app)
    routers = [models.router, endpoints.router, monitors.router, pipelines.router]
    routers.append(schedules.router)
    routers.append(triggers.router)
    routers.append(rollouts.router)
    routers.append(experiments.router)
    routers.append(runs.router)
    routers.append(run_events.router)
    routers.append(artifacts.router)
    routers.append(lineage.router)
    for router in [*routers, *extra_routers]:
        # A router's own routes, not FastAPI's wrapper of an included router: the token
        # middleware matches a request against each route, as Starlette's router does.
        routes = router.routes if isinstance(router, APIRouter) else [router]
        app.router.routes.extend(routes)
    app.router.routes.extend(docs.routes(TITLE))
    documents = list(documents)
    app.openapi = lambda: _openapi(app, documents)  # type: ignore[method-assign]
    return app


def _lifespan(lifespans: list[Lifespan]) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for extra in lifespans:
                await stack.enter_async_context(extra(app))
            yield

    return lifespan


def _openapi(app: FastAPI, documents: list[Mapping[str, Any]]) -> dict[str, Any]:
    """FastAPI's document, saying what the app really answers to a malformed request:
    400 with the error body (see `conveyor.api.errors`), not FastAPI's default 422; and to
    a body too large (413) or not JSON (415). The `paths` and `components.schemas` of
    `documents` (routes mounted beside, described by hand) join it."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in document.get("paths", {}).values():
            for operation in path.values():
                answers = operation.get("responses", {})
                if answers.pop("422", None) is not None:
                    answers.setdefault("400", _error_answer(400))
                if "requestBody" in operation:
                    answers.setdefault("413", _error_answer(413))
                    answers.setdefault("415", _error_answer(415))
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        for extra in documents:
            _join(document["paths"], extra["paths"], "path")
            _join(schemas, extra.get("components", {}).get("schemas", {}), "schema")
        app.openapi_schema = document
    return app.openapi_schema


def _join(into: dict[str, Any], more: Mapping[str, Any], what: str) -> None:
    for name, value in more.items():
        if into.get(name, value) != value:
            raise ValueError(f"two OpenAPI documents describe the {what} {name} differently")
        into[name] = value


def _error_answer(code: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        "description": HTTPStatus(code).phrase,
        "content": {"application/json": {"schema": schema}},
    }


def _version() -> str:
    try:
        return version("conveyor")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"
