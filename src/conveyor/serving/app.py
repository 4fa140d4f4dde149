"""The prediction server as an ASGI app: `create_app(home)` assembles it in one place.

    with open_home() as home:
        app = create_app(home, ServerSettings(max_request_bytes=100_000))

It serves the endpoints and models of `home`, which its caller opened and closes after
the app stops (`conveyor.api.server` does, for `conveyor serve`). Routes: Vertex AI
prediction (`vertex.py`), Open Inference Protocol v2 (`oip.py`), and `GET /metrics`.
Middleware: token authentication, only when tokens are configured (`auth.py`), then the
prediction routes' shortcut past the router (`_Predictions`). Errors
that no route turned into an answer (an unknown path, a wrong method, a Conveyor error,
a bug) still answer JSON in the route's protocol, never an HTML page, with the status the
error's class declares (`service.api_error`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor.errors import ConveyorError
from conveyor.serving import oip, vertex
from conveyor.serving.auth import PREDICTIONS, TokenAuth
from conveyor.serving.http import ApiError, error_response
from conveyor.serving.metrics import CONTENT_TYPE
from conveyor.serving.service import PredictionService, api_error
from conveyor.serving.settings import ServerSettings

if TYPE_CHECKING:
    from conveyor.home import Home


def create_app(home: Home, settings: ServerSettings | None = None) -> Starlette:
    """The prediction server of `home`; `settings` default to the environment's
    (`ServerSettings.from_env()`)."""
    settings = settings or ServerSettings.from_env()
    service = PredictionService(home, settings)

    async def metrics(_request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    routes = [*vertex.routes(service), *oip.routes(service), Route("/metrics", metrics)]
    middleware = [Middleware(TokenAuth, tokens=settings.tokens)] if settings.tokens else []
    predicting = [r for r in routes if r.methods == {"POST"} and r.path in PREDICTIONS]
    middleware.append(Middleware(_Predictions, routes=predicting))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=service.lifespan,
        exception_handlers={HTTPException: _http_error, ConveyorError: _error, Exception: _error},
    )
    app.state.service = service
    return app


class _Predictions:
    """ASGI middleware: a request a prediction route matches (`Route.matches`, as the
    router would match it) goes to its handler at once, past the exception middleware
    and the router's layers, a tenth of the server's own work on a one-row request. The
    errors they would answer are answered the same: an HTTP or Conveyor error by its
    handler here, anything else by the server error middleware around this one."""

    def __init__(self, app: ASGIApp, routes: list[Route]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    request = Request(scope, receive)
                    try:
                        response = await route.endpoint(request)
                    except HTTPException as exc:
                        response = await _http_error(request, exc)
                    except ConveyorError as exc:
                        response = await _error(request, exc)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        message = f"no route {path}; see docs/serving.md for the routes"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}"
    else:
        message = exc.detail
    return error_response(path, ApiError(exc.status_code, message), exc.headers)  # 405: Allow


async def _error(request: Request, exc: Exception) -> Response:
    """A Conveyor error no route answered: its declared status; anything else: 500."""
    return error_response(request.url.path, api_error(exc))
