"""The metadata store's errors: what went wrong with the store, and what to do about it."""

from __future__ import annotations

from conveyor.errors import ConveyorError


class StoreError(ConveyorError):
    """The store cannot be opened or used as asked; nothing was changed."""

    exit_code = 2
    http_status = 503


class NotFound(StoreError):
    """A run, execution or artifact the caller named is not in the store."""

    http_status = 404
