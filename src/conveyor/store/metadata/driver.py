"""Statements compiled once per process and run on the database driver's own cursor.

A fully cached run looks its tasks up one after another (a task's key needs
the outputs of the task before it), then records them all as CACHED: those
statements are most of what such a run costs. SQLAlchemy's execution of one
of them takes 1.3 to 4 times what the driver's does, even on a warm engine
(`benchmarks/cache.py --compare` measures each), and it compiles each
statement again for every engine (every store opened). So the
statements of that path, built with SQLAlchemy like every other, are compiled
once per kind of database, their parameters bound with their types' bind
processors, and their rows decoded with their types' result processors: a row
reads as SQLAlchemy's would, by column name, with the same Python values on
SQLite and PostgreSQL. They run inside the caller's connection and transaction.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Dialect, exc
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeEngine


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
        self._types = [c.type for c in getattr(statement, "exported_columns", ())]
        """The types of the columns it returns; none for text(), whose values stay as given."""
        self._dialect = dialect
        self._rows: _Rows | None = None
        """How its rows are read, made from the first cursor that returns some."""
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error

    def first(self, conn: Connection, params: dict[str, Any]) -> Any | None:
        """The first row for `params`, or None."""
        with self._cursor(conn) as cursor:
            cursor.execute(self.sql, self._bound(params))
            row = cursor.fetchone()
            return self._reader(cursor)(row) if row is not None else None

    def all(self, conn: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row for `params`."""
        with self._cursor(conn) as cursor:
            cursor.execute(self.sql, self._bound(params))
            found = cursor.fetchall()
            return list(map(self._reader(cursor), found)) if found else []

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

    def _reader(self, cursor: Any) -> Callable[[Sequence[Any]], Any]:
        if self._rows is None:  # made alike by any thread that gets here first
            self._rows = _Rows(cursor.description, self._types, self._dialect)
        return self._rows

    def _bound(self, params: dict[str, Any]) -> Any:
        return self._ordered({**self.fixed, **self._processed(params)})

    def _processed(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` run through their types' bind processors."""
        if self.processors.keys().isdisjoint(params):
            return params
        return {
            name: self.processors[name](value) if name in self.processors else value
            for name, value in params.items()
        }

    def _ordered(self, values: dict[str, Any]) -> Any:
        return [values[n] for n in self.names] if self.names else values


class _Rows:
    """Rows named after the statement's columns and decoded by their types, as
    SQLAlchemy's result processors decode them for the dialect (SQLite's JSON text
    parsed, its times and booleans made Python's)."""

    def __init__(
        self, description: Sequence[Any], types: list[TypeEngine[Any]], dialect: Dialect
    ) -> None:
        names = [column[0] for column in description]
        if types and len(types) != len(names):
            raise ValueError(f"{len(names)} columns come back for {len(types)} selected")
        self.row = namedtuple("Row", names)  # type: ignore[misc]
        self.processors = [
            (index, processor)
            for index, (type_, column) in enumerate(zip(types, description, strict=False))
            if (processor := type_.dialect_impl(dialect).result_processor(dialect, column[1]))
            is not None
        ]

    def __call__(self, values: Sequence[Any]) -> Any:
        if self.processors:
            values = list(values)
            for index, processor in self.processors:
                values[index] = processor(values[index])
        return self.row._make(values)


_PREPARED: dict[tuple[Executable, str, str], DriverStatement] = {}
"""By the statement itself (held here, so no other object takes its place) and database."""
_LOCK = threading.Lock()


def prepared(statement: Executable, dialect: Dialect) -> DriverStatement:
    """`statement` compiled for this kind of database, once per process."""
    key = (statement, dialect.name, dialect.driver)
    found = _PREPARED.get(key)
    if found is None:
        with _LOCK:
            found = _PREPARED[key] = DriverStatement(statement, dialect)
    return found
