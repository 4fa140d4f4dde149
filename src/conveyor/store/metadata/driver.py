"""Statements compiled once per process and run on the database driver's own cursor.

A fully cached run looks its tasks up one after another (a task's key needs
the outputs of the task before it), then records them all as CACHED: those
statements are most of what such a run costs. SQLAlchemy's execution of a
statement costs several times what these cost the database, and it compiles
each statement again for every engine (every store opened). So the hot
statements, built with SQLAlchemy like every other, are compiled once per
kind of database, their parameters bound with their types' processors, and
their rows read as the driver gives them. They run inside the caller's
connection and transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Dialect, exc
from sqlalchemy.sql.expression import Executable


class DriverStatement:
    """`statement` compiled for `dialect`, run without SQLAlchemy's per-execution work."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.names = compiled.positiontup if compiled.positional else None
        self.processors = {
            name: processor
            for bind, name in compiled.bind_names.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        required = {name: None for name, bind in compiled.binds.items() if bind.required}
        fixed = {
            name: value.value if isinstance(value, Enum) else value
            for name, value in compiled.construct_params(required).items()
            if name not in required
        }
        self.fixed = self._processed(fixed)
        """The statement's own values (literals, enums), bound once."""
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row for `params`, as the driver returns it, or None."""
        with self._cursor(conn) as cursor:
            cursor.execute(self.sql, self._ordered({**self.fixed, **self._processed(params)}))
            row = cursor.fetchone()
        return tuple(row) if row is not None else None

    def all(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row for `params`, as the driver returns them."""
        with self._cursor(conn) as cursor:
            cursor.execute(self.sql, self._ordered({**self.fixed, **self._processed(params)}))
            return [tuple(row) for row in cursor.fetchall()]

    def execute(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute once; the number of rows changed."""
        return self.many(conn, [params], {})

    def many(self, conn: Connection, rows: list[dict[str, Any]], shared: dict[str, Any]) -> int:
        """Execute once per row of parameters, with the `shared` ones (bound once) in
        every row; the number of rows changed."""
        common = {**self.fixed, **self._processed(shared)}
        bound = [self._ordered({**common, **self._processed(row)}) for row in rows]
        with self._cursor(conn) as cursor:
            cursor.executemany(self.sql, bound)
            return cursor.rowcount

    @contextmanager
    def _cursor(self, conn: Connection) -> Iterator[Any]:
        """The driver's cursor; its errors raised as SQLAlchemy's, as `translated` expects."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            yield cursor
        except self._driver_error as err:
            raise exc.DBAPIError.instance(self.sql, None, err, self._driver_error) from err
        finally:
            cursor.close()

    def _processed(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` run through their types' bind processors."""
        return {
            name: self.processors[name](value) if name in self.processors else value
            for name, value in params.items()
        }

    def _ordered(self, values: dict[str, Any]) -> Any:
        return [values[n] for n in self.names] if self.names else values


_PREPARED: dict[tuple[int, str, str], tuple[Executable, DriverStatement]] = {}
_LOCK = threading.Lock()


def decoded(value: Any) -> Any:
    """A JSON column's value as the driver gives it: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def prepared(statement: Executable, dialect: Dialect) -> DriverStatement:
    """`statement` compiled for this kind of database, once per process."""
    key = (id(statement), dialect.name, dialect.driver)
    found = _PREPARED.get(key)
    if found is None:
        with _LOCK:
            found = _PREPARED[key] = (statement, DriverStatement(statement, dialect))
    return found[1]
