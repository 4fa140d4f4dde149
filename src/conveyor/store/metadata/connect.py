"""Database connections for the store: SQLite set up for many writers, or PostgreSQL.

SQLite runs in WAL mode, so readers never wait for writers. Every write
transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front and
waits (up to `BUSY_TIMEOUT_S`) for other writers, in this process or another,
instead of failing halfway with "database is locked". Reads start a plain
`BEGIN`. PostgreSQL needs none of this; it gets a connect timeout so that an
unreachable server fails fast.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from conveyor.config import Settings
from conveyor.store.metadata.errors import StoreError

BUSY_TIMEOUT_S = 60.0
"""How long a SQLite writer waits for the others before giving up."""
CONNECT_TIMEOUT_S = 5
"""How long to wait for a PostgreSQL server to answer."""
_WRITE_OPTION = "conveyor_write"
WRITE = {_WRITE_OPTION: True}
"""Execution options of connections that write: on SQLite they begin IMMEDIATE."""
_SINGLE_OPTION = "conveyor_single_statement"
SINGLE_STATEMENT = {_SINGLE_OPTION: True}
"""Execution options of connections that read with one statement: on SQLite, no BEGIN
(a statement is a consistent read of its own, and a transaction would cost more than it)."""


def default_url() -> str:
    """The store the environment's settings name (`conveyor.config.Settings`):
    `CONVEYOR_METADATA_URL`, else `metadata.db` in Conveyor's home folder."""
    return Settings.from_env().metadata_url


def parse(url: str) -> URL:
    """`url` parsed; raises StoreError if it is not a database URL."""
    try:
        return make_url(url)
    except ArgumentError as err:
        raise StoreError(
            f"metadata store URL {url!r} is not a database URL; use "
            "sqlite:///path/to/metadata.db or postgresql+psycopg://user@host:port/db"
        ) from err


def create(url: str) -> Engine:
    """An engine for `url`, set up for the store; raises StoreError for URLs it cannot use."""
    parsed = parse(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(parsed)
    if parsed.get_backend_name() == "postgresql":
        return _postgresql(parsed)
    raise StoreError(
        f"metadata store URL {parsed.render_as_string()!r} names an unsupported database; "
        "use sqlite:///path/to/metadata.db or postgresql+psycopg://user@host:port/db"
    )


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite(url: URL) -> Engine:
    memory = is_memory(url)
    if not memory:
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"cannot create {folder} for the metadata store ({err.strerror}); "
                "set CONVEYOR_HOME (or CONVEYOR_METADATA_URL) to a place you can write"
            ) from err
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        # An in-memory database lives in its one connection: share it. Otherwise take
        # the connection used last: SQLite's statement and page caches are warm in it.
        poolclass=StaticPool if memory else None,
        json_deserializer=json_loads,
        **({} if memory else {"pool_use_lifo": True}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi: sqlite3.Connection, _record: Any) -> None:
        dbapi.isolation_level = None  # we emit BEGIN ourselves, below
        dbapi.execute("PRAGMA foreign_keys = ON")
        dbapi.execute("PRAGMA synchronous = NORMAL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(_SINGLE_OPTION, False):
            return
        begin = "BEGIN IMMEDIATE" if options.get(_WRITE_OPTION, False) else "BEGIN"
        try:  # straight to the driver: every transaction pays for this statement
            conn.connection.driver_connection.execute(begin)
        except sqlite3.Error as err:
            raise DBAPIError.instance(begin, None, err, sqlite3.Error) from err

    return engine


def file_identity(url: URL) -> tuple[int, int] | None:
    """A SQLite file's (device, inode), None if it is missing or not a file."""
    if url.get_backend_name() != "sqlite" or is_memory(url):
        return None
    try:
        found = os.stat(url.database)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def use_wal(engine: Engine) -> None:
    """Switch a SQLite file to WAL mode (kept in the file): done once the file is known to be ours."""
    if engine.dialect.name != "sqlite" or is_memory(engine.url):
        return
    raw = engine.raw_connection()
    try:
        _switch_to_wal(raw.driver_connection)
    finally:
        raw.close()


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """The switch needs the file to itself, and SQLite refuses it at once (no waiting)
    while another connection writes: a store opened by several processes at once
    retries until the first switch is done, up to `BUSY_TIMEOUT_S`."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _postgresql(url: URL) -> Engine:
    if url.get_driver_name() != "psycopg":
        raise StoreError(
            f"metadata store URL uses driver {url.drivername!r}; Conveyor talks to "
            "PostgreSQL through psycopg 3: write postgresql+psycopg://user@host:port/db"
        )
    # A connect_timeout in the URL's query wins over ours.
    timeout = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(url, connect_args=timeout, json_deserializer=json_loads)


def json_loads(text: str | bytes) -> Any:
    """JSON columns read with orjson, several times faster than the standard library on
    the large documents of a run's or an experiment's properties; the standard library
    reads what orjson refuses (the NaN and Infinity that Python's `json` writes)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def describe(url: URL) -> str:
    """The store's location for messages, without a password."""
    if url.get_backend_name() == "sqlite":
        return "an in-memory SQLite database" if is_memory(url) else str(url.database)
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
