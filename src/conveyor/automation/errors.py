"""Automation's errors: each names the field that is wrong, and what to do.

Each family declares what the faces answer (`conveyor.errors`): `AutomationUsageError`
(HTTP 400, exit 2 in the CLI), `AutomationConflict` (409), the `...NotFound` ones (404),
`ResumeSlow` (503).
"""

from __future__ import annotations

from conveyor.errors import ConveyorError, UsageError
from conveyor.store.metadata.errors import NotFound


class AutomationUsageError(UsageError):
    """A pipeline, schedule or trigger the request describes cannot be taken as written: a
    bad name, reference, cron, time zone, time, count, parameter or pattern; the message
    names the field."""


class AutomationConflict(UsageError):
    """The request is well formed but the current state forbids it: the name is taken, or a
    schedule or trigger still uses the version to delete."""

    http_status = 409


class ResumeNotStarted(AutomationConflict):
    """The process started to resume a run ended before it took the run (another process
    took it first, say); the message quotes the end of its output."""


class ResumeSlow(ConveyorError):
    """The process started to resume a run has not taken it in time; it may yet."""

    http_status = 503


class PipelineNotFound(NotFound):
    """No registered pipeline, version or tag of that name."""


class ScheduleNotFound(NotFound):
    """No schedule of that name."""


class TriggerNotFound(NotFound):
    """No trigger of that name."""
