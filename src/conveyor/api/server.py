"""The one server `conveyor serve` runs: the control API and the prediction routes together.

    uvicorn --factory conveyor.api.server:create_app

The registry's REST API (`/api/v1/models`, documented by `/openapi.json`) comes first;
every other path goes to the prediction server (Vertex AI routes, Open Inference
Protocol v2, `/metrics`), whose lifespan (model loading, alias watching, prediction
log flushing) runs with the whole app's. Tokens, when configured, guard every route,
and a deployed model version cannot be deleted through the API.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware

from conveyor.api import app as control
from conveyor.registry import ModelVersion
from conveyor.serving import app as predictions
from conveyor.serving.auth import TokenAuth
from conveyor.serving.endpoints import Endpoints
from conveyor.serving.settings import ServerSettings


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings.from_env()
    serving = predictions.create_app(settings)
    middleware = [Middleware(TokenAuth, tokens=settings.tokens)] if settings.tokens else []

    def deployed(version: ModelVersion) -> str | None:
        return Endpoints(app.state.store).delete_guard(version)

    app = control.create_app(
        middleware=middleware,
        lifespans=[serving.state.service.lifespan],
        delete_guards=[deployed],
    )
    app.mount("/", serving)
    return app
