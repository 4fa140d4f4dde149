"""What a control API request body may be: JSON (else 415), at most the app's limit of
bytes (else 413), and only what every store and client can hold (else 400 naming the
field).

FastAPI would parse any JSON Python can: integers of any size (SQLite stores 64 bits),
NaN and infinity (not JSON), nesting as deep as the interpreter's stack (a
RecursionError), and escaped lone surrogates (text no UTF-8 encoder takes). A route of
class `JsonRoute` reads its body first, bounded, and parses it with `load_json`, which
refuses each of these and names where it is (`body.metrics.auc`), as a validation error
does. Routes without a body are left as they are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

MAX_DEPTH = 32
"""How deep arrays and objects may nest in a body."""

INT64 = (-(2**63), 2**63 - 1)
"""The integers a body may hold: what the store's integer columns take."""

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class JsonRoute(APIRoute):
    """An APIRoute that checks its JSON body before FastAPI validates it (module
    docstring); the limit is the app's `state.max_request_bytes`."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            body = await read_body(request, request.app.state.max_request_bytes)
            if body and not is_json(request.headers.get("content-type", "")):
                raise HTTPException(
                    415,
                    "send the request body as JSON, with the header Content-Type: application/json",
                )
            return await handler(_Parsed(request.scope, _replay(body, request.receive)))

        return checked


class _Parsed(Request):
    """The request, its body parsed by `load_json` when FastAPI asks for its JSON."""

    async def json(self) -> Any:
        return load_json(await self.body())


def _replay(body: bytes, receive: Any) -> Any:
    """A `receive` that gives `body` once, then waits on the client (disconnect)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 once it is longer than `limit` bytes (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(f"has {declared} bytes, more", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large("is longer", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str, limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the request body {what} than this server's limit of {limit} bytes for /api/v1; "
        "send less, or raise the limit (CONVEYOR_MAX_API_REQUEST_BYTES)",
    )


def is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def load_json(body: bytes) -> Any:
    """`body` parsed, or 400 naming what it holds that Conveyor cannot keep; malformed
    JSON raises `json.JSONDecodeError`, which FastAPI reports as such."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            400, f"the request body is not UTF-8 text (byte {exc.start}); send JSON in UTF-8"
        ) from None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_Refused)
    except RecursionError:
        raise HTTPException(400, f"the request body nests deeper than {MAX_DEPTH} levels") from None
    problem = _problem(value, "body", 0)
    if problem is not None:
        raise HTTPException(400, problem)
    return value


class _Refused:
    """A number the body holds that no store column or double takes: its text."""

    def __init__(self, text: str) -> None:
        self.text = text


def _int(text: str) -> int | _Refused:
    if len(text) > 20:  # beyond 64 bits; int() of a long text is slow, then refused
        return _Refused(text)
    number = int(text)
    return number if INT64[0] <= number <= INT64[1] else _Refused(text)


def _float(text: str) -> float | _Refused:
    number = float(text)
    return number if math.isfinite(number) else _Refused(text)


def _problem(value: Any, where: str, depth: int) -> str | None:
    """What is wrong at `where` (the value and what it holds), or None."""
    if depth > MAX_DEPTH:
        return f"{where}: the request body nests deeper than {MAX_DEPTH} levels"
    if isinstance(value, str):
        return _text_problem(value, where)
    if isinstance(value, _Refused):
        shown = value.text if len(value.text) <= 24 else f"{value.text[:20]}... (long)"
        return (
            f"{where}: the number {shown} is out of range: integers must fit in 64 bits "
            "(-2^63 to 2^63-1), other numbers in a double, and NaN and Infinity are not JSON"
        )
    if isinstance(value, dict):
        for key in value:
            if (wrong := _text_problem(key, where)) is not None:
                return wrong.replace(": the text", ": a key", 1)
        children: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return None
    for key, item in children:
        if (wrong := _problem(item, f"{where}.{key}", depth + 1)) is not None:
            return wrong
    return None


def _text_problem(text: str, where: str) -> str | None:
    if "\x00" in text:
        return f"{where}: the text holds a NUL character (\\u0000), which no store keeps"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        surrogate = f"\\u{ord(text[exc.start]):04x}"
        return (
            f"{where}: the text holds a lone surrogate ({surrogate}), which is not Unicode; "
            "escape characters beyond U+FFFF as a pair (\\ud83d\\ude00)"
        )
    return None
