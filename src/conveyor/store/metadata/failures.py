"""Database errors turned into StoreErrors that say where the store is and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from conveyor.store.metadata.errors import StoreError


@contextmanager
def translated(where: str) -> Iterator[None]:
    """Raise the database errors of the block as StoreErrors about the store at `where`."""
    try:
        yield
    except exc.DBAPIError as err:
        raise StoreError(explain(err, where)) from err


def explain(err: exc.DBAPIError, where: str) -> str:
    reason = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
    if "file is not a database" in reason:
        return (
            f"{where} is not a SQLite database ({reason}); move the file away "
            "or point Conveyor at another store"
        )
    from_server = type(err.orig).__module__.startswith("psycopg")
    if from_server and isinstance(err, exc.OperationalError):
        return (
            f"cannot reach the metadata store, {where}: {reason}. "
            "Check that the server is running and that the URL is right."
        )
    if isinstance(err, exc.IntegrityError):
        return (
            f"the metadata store at {where} refused the write ({reason}); "
            "an id it refers to does not exist, or the record exists already"
        )
    return f"the metadata store at {where} failed: {reason}"
