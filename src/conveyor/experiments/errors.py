"""Experiment tracking's errors: each names what is wrong, and what to do.

Each family declares what the faces answer (`conveyor.errors`): `ExperimentNotFound` and
`ExperimentRunNotFound` (HTTP 404), `ExperimentUsageError` (400), `ExperimentConflict`
(409), and the store's `ExperimentRunExists` (409).
"""

from __future__ import annotations

from conveyor.errors import UsageError
from conveyor.store.metadata.errors import ExperimentRunExists, NotFound


class ExperimentUsageError(UsageError):
    """A value cannot be logged as given: a bad key, a metric that is not a number, a step
    that is not an integer, a param changed within its run; nothing was written."""


class ExperimentConflict(UsageError):
    """The request is well formed but the current state forbids it: an experiment of that
    name exists, or the run has ended."""

    http_status = 409


class ExperimentNotFound(NotFound):
    """No experiment of that name."""


class ExperimentRunNotFound(NotFound):
    """The experiment has no run of that name."""


__all__ = [
    "ExperimentConflict",
    "ExperimentNotFound",
    "ExperimentRunExists",
    "ExperimentRunNotFound",
    "ExperimentUsageError",
]
