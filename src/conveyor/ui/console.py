"""The console's routes: the page shell at `/ui` (every client-side page of it) and the
built assets at `/ui/assets/`, read from the package's `static/` folder.

    GET /                      redirects to /ui
    GET /ui, /ui/{page...}     index.html: the shell, which routes the page itself
    GET /ui/assets/{file}      app-HASH.js and app-HASH.css, the entry, and the
                               chunk-HASH.js it imports, some only when a page needs
                               them (dagre: the graph pages); named by their content

The shell and assets hold no data, so they are public (`Role.PUBLIC`): they load without
a token, and the console then asks for one when `/api/v1` answers 401. An asset is read
only when it is a regular file inside `static/assets/` once its path is resolved; its
name changes with its content, so browsers may keep it for a year, while index.html is
checked again on every load. Before `make env` has built the console, every route
answers 503 saying so.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from conveyor.serving.auth import Role, needs
from conveyor.store.metadata import NotFound

STATIC = Path(__file__).parent / "static"
"""Where `make env` builds the console (`console/build.mjs`)."""

PREFIX = "/ui"
READS = ["GET", "HEAD"]
ASSETS = f"{PREFIX}/assets"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
FOREVER = "public, max-age=31536000, immutable"
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
"""The shell's Content-Security-Policy: its own scripts, no inline script. Inline styles
are let in for the Markdown and HTML artifacts the task inspector shows: their sandboxed
`srcdoc` frames inherit this policy, and an HTML report styles itself inline (a blocked
style is also a console error). No script runs in those frames, and no image, font or
call may leave for another origin, so a style can neither run code nor send data out."""
NOT_BUILT = (
    "The Conveyor console is not built: run `make env` in Conveyor's source tree, which "
    "builds it with npm into src/conveyor/ui/static/.\n"
)


def routes(folder: Path = STATIC) -> APIRouter:
    """The console's routes, serving the build in `folder`; public, and left out of the
    OpenAPI document (they are pages, not API)."""
    router = APIRouter(include_in_schema=False)
    public = needs(Role.PUBLIC)

    @router.api_route(ASSETS + "/{name:path}", methods=READS, openapi_extra=public)
    def asset(name: str) -> Response:
        if not (folder / "index.html").is_file():
            return _not_built()
        path = _regular_file(folder / "assets", name)
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        return Response(
            path.read_bytes(),
            media_type=kind or "application/octet-stream",
            headers={"Cache-Control": FOREVER, "X-Content-Type-Options": "nosniff"},
        )

    @router.api_route(PREFIX, methods=READS, openapi_extra=public)
    @router.api_route(PREFIX + "/{page:path}", methods=READS, openapi_extra=public)
    def shell() -> Response:
        try:
            page = (folder / "index.html").read_bytes()
        except OSError:
            return _not_built()
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": POLICY}
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    @router.api_route("/", methods=READS, openapi_extra=public)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX, status_code=307)

    return router


def _regular_file(root: Path, name: str) -> Path:
    """`root/name` if, resolved, it is a regular file inside `root`; else NotFound."""
    inside = root.resolve()
    path = (inside / name).resolve()
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        regular = False
    if not (regular and path.is_relative_to(inside)):
        raise NotFound(f"the console has no asset {name!r}")
    return path


def _not_built() -> PlainTextResponse:
    return PlainTextResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "60"})
