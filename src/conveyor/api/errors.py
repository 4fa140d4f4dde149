"""Errors over HTTP: every failure answers `{"error": {"code", "message", "status"}}`.

The body is Google's (and so Vertex AI's) error shape: `code` is the HTTP status
as a number, `status` its canonical name, `message` what was wrong and what to do
(the library's own message). A Conveyor error answers the `http_status` its class
declares, named by the one table both HTTP apps use (`conveyor.errors.STATUS_NAMES`):

| Error | HTTP | `status` |
|---|---|---|
| `UsageError` (a bad name, alias, label, schema, artifact, split) | 400 | `INVALID_ARGUMENT` |
| `NotFound` (a model, version, alias, endpoint, deployed model, run) | 404 | `NOT_FOUND` |
| `RegistryConflict`, `ServingConflict`, `RunConflict` (the current state forbids it) | 409 | `FAILED_PRECONDITION` |
| `StoreError` (the database cannot be used) | 503 | `UNAVAILABLE` |
| `ModelLoadError` (a model version cannot be loaded) | 503 | `UNAVAILABLE` |
| any other `ConveyorError` | 500 | `INTERNAL` |
| a request body or parameter of the wrong shape | 400 | `INVALID_ARGUMENT` |
| a request body over the limit (`conveyor.api.bodies`) | 413 | `INVALID_ARGUMENT` |
| a request body that is not JSON | 415 | `UNSUPPORTED_MEDIA_TYPE` |
| anything else | 500 | `INTERNAL` (details in the server log only) |
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from conveyor.api.params import RULES
from conveyor.errors import ConveyorError, status_name

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: int
    """The HTTP status, as a number."""
    message: str
    """What was wrong and what to do."""
    status: str
    """The canonical name of the status: NOT_FOUND, INVALID_ARGUMENT, ..."""


class ErrorBody(BaseModel):
    """What every failed request answers."""

    error: ErrorDetail


def error_response(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error answer for HTTP status `code`."""
    body = {"error": {"code": code, "message": message, "status": status_name(code)}}
    return JSONResponse(body, status_code=code, headers=headers)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route may give, all of shape `ErrorBody`."""
    return {code: {"model": ErrorBody, "description": HTTPStatus(code).phrase} for code in codes}


def responses_beside(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses` for a route whose own answer is not JSON (an HTML page): FastAPI files
    a response's model under the route's media type, so the errors name `ErrorBody` under
    `application/json` themselves (other routes put it in the document's schemas)."""
    body = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
    return {
        code: {"description": HTTPStatus(code).phrase, "content": {"application/json": body}}
        for code in codes
    }


def install(app: FastAPI) -> None:
    """Make every error of `app` answer with the JSON error body."""
    app.add_exception_handler(ConveyorError, _conveyor_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _conveyor_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConveyorError)
    code = exc.http_status
    if code >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    return error_response(code, str(exc))


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, describe_validation(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.url.path}; GET /docs lists the API's routes"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, message, getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, f"internal error ({type(exc).__name__}) while answering; see the server log"
    )


def describe_validation(errors: Any) -> str:
    """One sentence naming the first field of a request that is wrong, and why."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    kind = first.get("type", "")
    if kind == "json_invalid":
        reason = first.get("ctx", {}).get("error", "")
        return f"the request body is not valid JSON: {reason}".rstrip(": ")
    where = ".".join(str(part) for part in first.get("loc", ()))
    if where == "body":
        text = "the request body must be a JSON object (sent as application/json)"
    elif kind == "missing":
        text = f"{where} is required"
    elif kind == "extra_forbidden":
        text = f"{where} is not a field of this request"
    elif kind == "string_pattern_mismatch":
        pattern = first.get("ctx", {}).get("pattern", "")
        rule = RULES.get(pattern, f"text matching {pattern}")
        text = f"{where} {first.get('input')!r} is not {rule}"
    else:
        text = f"{where}: {first.get('msg', 'invalid')}"
    more = len(errors) - 1
    return text + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
