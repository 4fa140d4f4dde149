"""`/docs`: the API's interactive documentation (Swagger UI), served offline.

FastAPI's own `/docs` page loads Swagger UI from a CDN, which a machine without the
internet (or a careful network) cannot reach. The same page here loads the script and
style that the `fastapi-offline` package ships, from `/docs/static/`.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/static"


def routes(title: str) -> list[BaseRoute]:
    """The page and its assets."""

    async def page(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title}: API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    folder = files("fastapi_offline") / "static"
    return [
        Route("/docs", page, methods=["GET"]),
        Mount(ASSETS, app=StaticFiles(directory=str(folder))),
    ]
