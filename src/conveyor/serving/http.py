"""HTTP plumbing shared by the routes: error bodies, bounded bodies, JSON in and out.

Errors follow the protocol of the route. Vertex AI routes (and anything else) answer as
Google APIs do, `{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`;
Open Inference Protocol routes (`/v2/...`) answer `{"error": "..."}`, the form its
clients read. The status and its name come from the error's class and the one table of
names (`conveyor.errors`), as in the control API.

Bodies may come compressed (`Content-Encoding: gzip` or `deflate`, as tritonclient sends
them); the limit applies to the body as decompressed. `parse_json` refuses, with a 400
naming the field, what would otherwise fail deep in the server: JSON nested too deeply
for Python's parser, and text that is not valid Unicode (a lone surrogate such as
`"\\ud800"`, which JSON's escapes can spell but UTF-8 cannot encode).
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from conveyor.errors import status_name

JSON = b"application/json"
_INF = float("inf")
_DECOMPRESS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
"""zlib's window bits for each content encoding: gzip's header, or zlib's (HTTP's deflate)."""
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"(\s*:)?|[\[\]{}]')
"""JSON's strings (keys when a colon follows) and brackets, to find a deep field."""
_DEEP = 100
"""How deep a field must nest to be named as the one Python's parser gave up on."""
_LONG_NUMBER = b"0" * 19
"""Digits that may make an integer beyond 64 bits, which orjson would read as a float:
such bodies are read by json's parser, which keeps Python's integers. Looked for in the
body with every digit made "0" (`_DIGITS`): one C pass, where a regular expression took
100 us over a 64-row request."""
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
"""A `bytes.translate` table: ASCII digits to "0", every other byte to a space."""


class ApiError(Exception):
    """An answer other than 200: the status, the message, and Google's status name when
    it is not the table's for the code (`FAILED_PRECONDITION` with a 400)."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or status_name(status)


def is_oip(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def error_body(
    path: str, status: int, message: str, reason: str | None = None
) -> tuple[bytes, bytes]:
    """The body and content type of an error answer on `path`."""
    if is_oip(path):
        data: Any = {"error": message}
    else:
        data = {
            "error": {
                "code": status,
                "message": message,
                "status": reason or status_name(status),
            }
        }
    return dumps(data), JSON


def error_response(path: str, error: ApiError, headers: dict[str, str] | None = None) -> Response:
    body, _ = error_body(path, error.status, error.message, error.reason)
    return Response(body, status_code=error.status, media_type="application/json", headers=headers)


def dumps(data: Any) -> bytes:
    """`data` as compact JSON; ValueError for NaN and infinity (`json_bytes` makes them
    null)."""
    try:
        return orjson.dumps(data)  # NaN becomes null, as json_bytes wants it
    except TypeError:  # integers beyond 64 bits, keys that are not strings, lone surrogates
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def json_response(data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), media_type="application/json", headers=headers)


def json_bytes(data: Any) -> bytes:
    """`data` as compact JSON; NaN and infinity, which JSON has not, become null as Vertex
    AI says them."""
    try:
        return dumps(data)
    except ValueError:
        return json.dumps(_no_nan(data), separators=(",", ":")).encode()


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return None
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    return value


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, or ApiError 413 once it is longer than `limit`
    bytes. An oversized body is still read (and dropped), up to 64 times the limit, so the
    client gets the 413 instead of a reset connection."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > 64 * limit:
        raise _too_large(f"has {declared} bytes, more than", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > 64 * limit:
            break
    if size > limit:
        raise _too_large(f"has {size} bytes, more than", limit)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    return body if encoding == "identity" else _decompress(body, encoding, limit)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding not in _DECOMPRESS:
        raise ApiError(
            400,
            f"the request body is encoded as {encoding!r} (Content-Encoding); send it "
            "uncompressed, or as gzip or deflate",
        )
    inflate = zlib.decompressobj(_DECOMPRESS[encoding])
    try:
        found = inflate.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, f"the request body is not valid {encoding} data: {exc}") from None
    if len(found) > limit:
        raise _too_large("decompresses to more than", limit)
    if not inflate.eof:
        raise ApiError(400, f"the request body ends before its {encoding} data does")
    return found


def _too_large(what: str, limit: int) -> ApiError:
    return ApiError(
        413,
        f"the request body {what} this server's limit of {limit} bytes; send fewer "
        "instances per request (or raise the limit: conveyor serve --max-request-bytes)",
    )


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, or ApiError 400 / 413."""
    return parse_json(await read_body(request, limit))


def parse_json(body: bytes, what: str = "the request body") -> Any:
    """`body` parsed as JSON, or ApiError 400 saying what is wrong, and where."""
    if not body.strip():
        raise ApiError(400, f'{what} is empty; send JSON such as {{"instances": [[1.0, 2.0]]}}')
    if _LONG_NUMBER not in body.translate(_DIGITS):
        try:
            data = orjson.loads(body)  # several times faster than json's parser
        except orjson.JSONDecodeError:
            pass  # json's parser says what is wrong, and reads what orjson refuses (NaN)
        else:
            return data
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} is not UTF-8 text; send JSON") from None
    except RecursionError:
        raise ApiError(
            400,
            f"{_deep_field(body)} nests arrays and objects too deeply (over {_DEEP} levels) "
            "for this server to read",
        ) from None
    except ValueError as exc:
        raise ApiError(400, f"{what} is not valid JSON: {exc}") from None
    if (b"\\ud" in body or b"\\uD" in body) and (where := _lone_surrogate(data)):
        raise ApiError(
            400,
            f"{where} is not valid Unicode text: it holds a lone surrogate (an escape "
            "between \\ud800 and \\udfff without its pair); send UTF-8 text",
        )
    return data


def _deep_field(body: bytes) -> str:
    """The top-level field of `body` whose value nests over `_DEEP` levels (read only
    when Python's parser gave up, so its cost is no one's everyday price)."""
    depth, field = 0, None
    for token in _TOKENS.finditer(body):
        text = token.group()
        if text in (b"[", b"{"):
            depth += 1
            if depth > _DEEP:
                break
        elif text in (b"]", b"}"):
            depth -= 1
        elif depth == 1 and token.group(1):
            field = text[: text.rindex(b":")].strip().decode(errors="replace")
    return f"field {field}" if field else "the request body"


def _lone_surrogate(data: Any) -> str | None:
    """Which key or string of `data` holds a lone surrogate (`field instances[0].city`),
    if any; walked only when the body has a `\\ud` escape, so rarely."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and not _encodes(value):
            return f"field {path}" if path else "the request body"
        if isinstance(value, dict):
            for key in value:
                if not _encodes(key):
                    return f"a key of field {path}" if path else "a key of the request body"
            stack.extend((f"{path}.{k}" if path else k, v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", value[i]) for i in reversed(range(len(value))))
    return None


def _encodes(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
