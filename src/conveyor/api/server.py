"""The servers of `conveyor serve` (the control API, the console and the prediction routes
together) and of `conveyor ui` (the control API and the console).

    uvicorn --factory conveyor.api.server:create_app
    uvicorn --factory conveyor.api.server:create_console_app

`create_app` opens the home its settings describe (default: the environment's) when it
is called, in the serving process, and closes it at shutdown, after the prediction
service has stopped. The control API (`/api/v1`, documented by `/openapi.json`) comes
first; every other path goes to the prediction server (Vertex AI routes, Open Inference
Protocol v2, `/metrics` with model monitoring's and the rollouts' metrics too), whose
lifespan (model loading, alias watching, prediction log flushing) runs with the whole
app's, and so does the analysis of the endpoints' rollouts
(`conveyor.automation.rollout_controller`), which reads this server's metrics. An
endpoint changed through the control API is served as changed at once by this process;
other processes see it at their next poll. `/api/v1/endpoints/{endpoint}/stats` reads
this server's prediction counters (of every worker); `conveyor ui` has none to read. The web console (`conveyor.ui`) is at `/ui`,
and `/` redirects there. Tokens, when configured, guard every route, each by the role it
needs (`conveyor.serving.auth`); the console's page shell and assets need none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

from conveyor.api import app as control
from conveyor.automation.rollout_controller import RolloutController
from conveyor.automation.rollout_metrics import RolloutCollector
from conveyor.config import Settings
from conveyor.home import Home, open_home
from conveyor.monitoring.exposition import MonitoringCollector
from conveyor.serving import app as predictions
from conveyor.serving.auth import TokenAuth
from conveyor.serving.openapi import prediction_openapi
from conveyor.serving.settings import ServerSettings
from conveyor.ui import console


def create_app(settings: Settings | None = None, server: ServerSettings | None = None) -> FastAPI:
    """The app of the home `settings` describe, served with `server` (default: both the
    environment's)."""
    server = server or ServerSettings.from_env()
    home = open_home(settings=settings)
    try:
        # One gate for both: the control app's, which finds the prediction routes too.
        serving = predictions.create_app(home, dataclasses.replace(server, tokens=None))
        service = serving.state.service
        service.metrics.add_collector(MonitoringCollector(home.store))
        service.metrics.add_collector(RolloutCollector(home.rollouts))
        controller = RolloutController(
            home.rollouts,
            service.metrics.totals,
            # Renewed twice a lease at least, however slowly the server polls.
            tick_seconds=min(server.poll_seconds, server.rollout_lease_seconds / 2),
            lease_seconds=server.rollout_lease_seconds,
        )
        middleware = [Middleware(TokenAuth, tokens=server.tokens)] if server.tokens else []
        app = control.create_app(
            home,
            app_class=_Served,
            middleware=middleware,
            lifespans=[_closing(home), service.lifespan, _running(controller)],
            endpoint_listeners=[service.refresh_endpoint],
            endpoint_totals=service.metrics.totals,
            max_request_bytes=server.max_api_request_bytes,
            documents=[prediction_openapi()],
            extra_routers=[console.routes()],
        )
    except BaseException:
        home.close()
        raise
    app.mount("/", serving)
    assert isinstance(app, _Served)
    app.predictions = TokenAuth(serving, server.tokens) if server.tokens else serving
    return app


def create_console_app(
    settings: Settings | None = None, server: ServerSettings | None = None
) -> FastAPI:
    """The control API and the console, without the prediction routes (`conveyor ui`), of
    the home `settings` describe, served with `server` (default: both the environment's)."""
    server = server or ServerSettings.from_env()
    home = open_home(settings=settings)
    try:
        middleware = [Middleware(TokenAuth, tokens=server.tokens)] if server.tokens else []
        return control.create_app(
            home,
            middleware=middleware,
            lifespans=[_closing(home)],
            max_request_bytes=server.max_api_request_bytes,
            extra_routers=[console.routes()],
        )
    except BaseException:
        home.close()
        raise


PREDICTION_PATHS = ("/v1/", "/v2/", "/metrics")
"""Paths that only the prediction server answers (the control API is under `/api/v1`)."""


class _Served(FastAPI):
    """The app of `conveyor serve`: a request for the prediction server goes to it at
    once (`predictions`: inside the token gate, which matches the route among this app's
    as before), past FastAPI's own layers (its telemetry check, error and body-limit
    middleware, some microseconds a request) and the control API's routing and
    middleware (every control route's pattern tried first), which cost a prediction more
    than its own routing. Every other request, and the lifespan, go through FastAPI."""

    predictions: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            self.predictions is not None
            and scope["type"] == "http"
            and (scope["path"].startswith(PREDICTION_PATHS) or scope["path"] == "/v2")
        ):
            scope["app"] = self
            await self.predictions(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _running(controller: RolloutController) -> Any:
    """A lifespan that runs the rollouts' analysis while the server serves (after the
    models are loaded, stopped before they are let go)."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        controller.start()
        try:
            yield
        finally:
            await run_in_threadpool(controller.stop)

    return lifespan


def _closing(home: Home) -> Any:
    """A lifespan that closes `home` at shutdown, after the lifespans entered after it."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            home.close()

    return lifespan
