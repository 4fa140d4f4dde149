"""The errors of remote mode: what the server refused, and what a remote client cannot do.

A library error the server answers (404, 400, 409) comes back as the library's own class
(`conveyor.remote.server`); these are the rest: the caller's token, the server's health,
and the jobs no REST route does.
"""

from __future__ import annotations

from conveyor.errors import ConveyorError, UsageError


class RemoteUnsupported(UsageError):
    """A remote client was asked for something only the environment's store can do (no
    REST route does it): run it where the store is."""


class PermissionDenied(UsageError):
    """The server refused the caller's token: its role is too low for the request (the
    message names the role needed)."""

    http_status = 403


class Unauthenticated(PermissionDenied):
    """The server needs a token, and got none or one it does not know; or the variable
    that should hold the token is not set."""

    http_status = 401


class ServerUnreachable(ConveyorError):
    """The environment's server did not answer: refused, unknown host, timed out."""

    http_status = 503


class ServerError(ConveyorError):
    """The server answered, but not as a Conveyor server answers a good request: its own
    failure (5xx), a redirect, or a body that is not the expected JSON."""
