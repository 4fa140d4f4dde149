"""The prediction server as an ASGI app: `create_app()` assembles it in one place.

    uvicorn --factory conveyor.serving.app:create_app      # what `conveyor serve` runs

Routes: Vertex AI (`vertex.py`), Open Inference Protocol v2 (`oip.py`), and `GET /metrics`.
Middleware: token authentication, only when tokens are configured (`auth.py`). Errors
that no route turned into an answer (an unknown path, a wrong method, a bug) still answer
JSON in the route's protocol, never an HTML page.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.serving import oip, vertex
from conveyor.serving.auth import TokenAuth
from conveyor.serving.http import ApiError, error_response
from conveyor.serving.metrics import CONTENT_TYPE
from conveyor.serving.service import PredictionService
from conveyor.serving.settings import ServerSettings

log = logging.getLogger("conveyor.serving")


def create_app(settings: ServerSettings | None = None) -> Starlette:
    """The prediction server; `settings` default to the environment's (`ServerSettings`)."""
    settings = settings or ServerSettings.from_env()
    service = PredictionService(settings)

    async def metrics(_request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    routes = [*vertex.routes(service), *oip.routes(service), Route("/metrics", metrics)]
    middleware = [Middleware(TokenAuth, tokens=settings.tokens)] if settings.tokens else []
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=service.lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.service = service
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        message = f"no route {path}; see docs/serving.md for the routes"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}"
    else:
        message = exc.detail
    return error_response(path, ApiError(exc.status_code, message))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("serving: unexpected error on %s", request.url.path, exc_info=exc)
    return error_response(
        request.url.path, ApiError(500, f"internal error: {type(exc).__name__}: {exc}")
    )
