"""The errors every face turns into a clear message, an exit code and an HTTP status.

Each class declares what the faces answer for it: `exit_code` in the CLI, `http_status`
in both HTTP apps (the control API and the prediction server), inherited by the classes
below it. `STATUS_NAMES` is the one table from an HTTP status to the canonical name the
error body carries (`{"error": {"code": 409, "status": "FAILED_PRECONDITION", ...}}`).
"""

from __future__ import annotations

from http import HTTPStatus

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}
"""Google's canonical status names (google.rpc.Code), as Vertex AI answers them. Two
entries bend Google's own HTTP mapping, which has 400 for FAILED_PRECONDITION: a state
conflict answers HTTP's 409 Conflict under the name Google gives that condition, and an
oversized body answers 413 under the name Vertex AI gives it."""


def status_name(code: int) -> str:
    """The canonical name of HTTP status `code`; HTTP's own name for a status that has
    none (405: METHOD_NOT_ALLOWED)."""
    try:
        return STATUS_NAMES.get(code) or HTTPStatus(code).name
    except ValueError:
        return "UNKNOWN"


class ConveyorError(Exception):
    """Base of Conveyor's own errors: the message says what is wrong and what to do."""

    exit_code = 1
    http_status = 500


class UsageError(ConveyorError):
    """Bad input from the user: a missing file, an unknown parameter, a bad value."""

    exit_code = 2
    http_status = 400


class InvalidPipeline(UsageError):
    """The pipeline cannot run as written; the message names the offending field."""
