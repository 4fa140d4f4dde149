"""Errors of endpoints and the prediction server: each names what was asked and what to do.

Each family declares what the faces answer (`conveyor.errors`): `NotFound` (HTTP 404,
exit 2), `ServingUsageError` (400, exit 2), `ServingConflict` (409, exit 2).
"""

from __future__ import annotations

from conveyor.errors import UsageError
from conveyor.store.metadata.errors import NotFound


class ServingUsageError(UsageError):
    """A request the endpoints cannot take as written: a bad name, split or rate."""


class InvalidEndpoint(ServingUsageError):
    """An endpoint name, its labels or its logging rate break their rules."""


class InvalidTraffic(ServingUsageError):
    """A traffic split or percentage that does not add up, or names unknown deployed models."""


class UndeployableModel(ServingUsageError):
    """The model version cannot be served (files changed, untrusted pickle, bad schema)."""


class ServingConflict(UsageError):
    """The request is well formed but the endpoint's current state forbids it."""

    http_status = 409


class EndpointNotFound(NotFound):
    """No endpoint of that name."""


class DeployedModelNotFound(NotFound):
    """The endpoint has no deployed model of that id."""
