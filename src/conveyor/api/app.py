"""`create_app`: the FastAPI application of Conveyor's REST faces, assembled in one place.

    from conveyor.api.app import create_app

    app = create_app()                                  # the store of CONVEYOR_HOME
    app = create_app(store, extra_routers=[predict])    # a store already open, more routes

    uvicorn conveyor.api.app:create_app --factory       # serve it

The app holds:

- the control API: `/api/v1/models` (`conveyor.api.models`);
- `extra_routers`: the routes of other faces, the prediction routes among them: FastAPI
  `APIRouter`s (included, and described in `/openapi.json`) or Starlette routes (`Route`,
  `Mount`, added as they are). They reach the metadata store as
  `request.app.state.store` and get the same JSON error body for Conveyor's errors
  (`conveyor.api.errors`);
- `middleware`: Starlette `Middleware` around every route (token authentication); one
  that knows who calls sets `scope["state"]["user"]`, which the registry's history records;
- `lifespans`: async context managers of the app, entered after the store opens and left
  before it closes (a prediction service loading its deployments);
- `delete_guards`: asked before the registry deletes a version (serving passes
  one that refuses to delete a deployed version: 409);
- `/openapi.json` and `/docs`, describing the FastAPI routes.

The store: when `store` is given, the app uses it and leaves it open; otherwise
it opens the configured one (`MetadataStore.open()`) at startup, in the serving
process, and closes it at shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from conveyor.api import errors, models
from conveyor.registry import DeleteGuard
from conveyor.store.metadata import MetadataStore

TITLE = "Conveyor"
DESCRIPTION = (
    "Conveyor's REST API: the model registry under /api/v1/models. "
    'Every error answers {"error": {"code", "message", "status"}}.'
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def create_app(
    store: MetadataStore | None = None,
    *,
    extra_routers: Iterable[APIRouter | BaseRoute] = (),
    middleware: Sequence[Middleware] = (),
    lifespans: Iterable[Lifespan] = (),
    delete_guards: Iterable[DeleteGuard] = (),
) -> FastAPI:
    """The application: the registry's routes, then `extra_routers`, on `store` (see the
    module docstring)."""
    app = FastAPI(
        title=TITLE,
        version=_version(),
        description=DESCRIPTION,
        middleware=list(middleware),
        lifespan=_lifespan(store, list(lifespans)),
    )
    app.state.store = store
    app.state.delete_guards = list(delete_guards)
    errors.install(app)
    app.include_router(models.router)
    for router in extra_routers:
        if isinstance(router, APIRouter):
            app.include_router(router)
        else:
            app.router.routes.append(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _lifespan(store: MetadataStore | None, lifespans: list[Lifespan]) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if store is None:
                app.state.store = MetadataStore.open()
                stack.callback(app.state.store.close)
            for extra in lifespans:
                await stack.enter_async_context(extra(app))
            yield

    return lifespan


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, saying what the app really answers to a malformed request:
    400 with the error body (see `conveyor.api.errors`), not FastAPI's default 422."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        error_ref = {"$ref": "#/components/schemas/ErrorBody"}
        for path in document.get("paths", {}).values():
            for operation in path.values():
                answers = operation.get("responses", {})
                if answers.pop("422", None) is not None:
                    answers.setdefault(
                        "400",
                        {
                            "description": "Bad Request",
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    )
        schemas = document.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
    return app.openapi_schema


def _version() -> str:
    try:
        return version("conveyor")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"
