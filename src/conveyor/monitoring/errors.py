"""Model monitoring's errors: each names the field that is wrong, and what to do.

Each family declares what the faces answer (`conveyor.errors`): `MonitorNotFound` (HTTP
404, exit 2 in the CLI), `MonitorUsageError` (400), `MonitorConflict` (409).
"""

from __future__ import annotations

from conveyor.errors import UsageError
from conveyor.store.metadata.errors import NotFound


class MonitorUsageError(UsageError):
    """A monitor the request describes cannot be taken as written: a bad name, target,
    schema, objective, threshold, window or notification; the message names the field."""


class MonitorConflict(UsageError):
    """The request is well formed but the current state forbids it: a monitor of that name
    exists, or a schedule runs the monitor to delete."""

    http_status = 409


class MonitorNotFound(NotFound):
    """No monitor of that name."""


class TargetNotFound(NotFound):
    """The model, version or alias a monitor's target names does not exist now."""


class JobNotFound(NotFound):
    """No monitoring job of that id."""
