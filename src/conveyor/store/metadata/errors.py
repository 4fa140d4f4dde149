"""The metadata store's errors: what went wrong with the store, and what to do about it."""

from __future__ import annotations

from conveyor.errors import ConveyorError, UsageError


class StoreError(ConveyorError):
    """The store cannot be opened or used as asked; nothing was changed."""

    exit_code = 2
    http_status = 503


class NotFound(StoreError):
    """A run, execution or artifact the caller named is not in the store."""

    http_status = 404


class RunConflict(StoreError, UsageError):
    """The request is well formed but the run's current state forbids it."""

    http_status = 409


class RunExists(RunConflict):
    """A run with the id asked for is recorded already: a run id is given once."""


class RunBusy(RunConflict):
    """A live process runs the run; a second runner would run its tasks twice."""


class RunEnded(RunConflict):
    """The run has ended; there is nothing left to cancel."""


class ExperimentRunExists(RunConflict):
    """The experiment has a run of that name: a run's name is given once per experiment."""
