"""The errors every face turns into a clear message and an exit code."""

from __future__ import annotations


class ConveyorError(Exception):
    """Base of Conveyor's own errors: the message says what is wrong and what to do."""

    exit_code = 1


class UsageError(ConveyorError):
    """Bad input from the user: a missing file, an unknown parameter, a bad value."""

    exit_code = 2


class InvalidPipeline(UsageError):
    """The pipeline cannot run as written; the message names the offending field."""
