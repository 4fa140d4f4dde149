"""HTTP plumbing shared by the routes: error bodies, bounded bodies, JSON in and out.

Errors follow the protocol of the route. Vertex AI routes (and anything else) answer as
Google APIs do, `{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`;
Open Inference Protocol routes (`/v2/...`) answer `{"error": "..."}`, the form its
clients read. The status and its name come from the error's class and the one table of
names (`conveyor.errors`), as in the control API.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conveyor.errors import status_name

JSON = b"application/json"
_INF = float("inf")


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


def error_response(path: str, error: ApiError) -> Response:
    body, _ = error_body(path, error.status, error.message, error.reason)
    return Response(body, status_code=error.status, media_type="application/json")


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def json_response(data: Any, headers: dict[str, str] | None = None) -> Response:
    try:
        body = dumps(data)
    except ValueError:  # NaN or infinity: JSON has none, so say null as Vertex AI does
        body = json.dumps(_no_nan(data), separators=(",", ":")).encode()
    return Response(body, media_type="application/json", headers=headers)


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return None
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    return value


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or ApiError 413 once it is longer than `limit` bytes. An oversized
    body is still read (and dropped), up to 64 times the limit, so the client gets the 413
    instead of a reset connection."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > 64 * limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > 64 * limit:
            break
    if size > limit:
        raise _too_large(size, limit)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"the request body has {size} bytes, more than this server's limit of {limit}; send "
        "fewer instances per request (or raise the limit: conveyor serve --max-request-bytes)",
    )


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, or ApiError 400 / 413."""
    body = await read_body(request, limit)
    if not body.strip():
        raise ApiError(
            400, 'the request body is empty; send JSON such as {"instances": [[1.0, 2.0]]}'
        )
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8 text; send JSON") from None
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
