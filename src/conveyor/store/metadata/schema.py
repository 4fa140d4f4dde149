"""The store's schema: recognise the database, and migrate it to this Conveyor's version.

Opening a store checks, in one write transaction, what the database holds:
nothing (a new store: create it), our schema at an older revision (migrate it),
our schema at a revision this code does not know (a newer Conveyor wrote it),
or tables that are not ours (a foreign database). The last two raise
StoreError and change nothing, as does a file that is not a database.

The Alembic revisions live in `migrations/versions`, configured here in code
(no alembic.ini). To add one after changing a table (`mlmd_tables.py`, the
`*_models.py`), compare the tables with a store at the current head:

    from alembic import command
    from conveyor.store.metadata import schema

    with engine.begin() as conn:
        config = schema.alembic_config(conn)
        command.revision(config, "what changed", autogenerate=True, rev_id="0002")

then read and tidy the generated file; `test_the_models_match_the_migrations`
fails until models and migrations agree.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from conveyor.store.metadata import driver
from conveyor.store.metadata.connect import WRITE
from conveyor.store.metadata.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0009"
"""The schema revision this code writes: the last migration's (a test holds them equal).
Opening a store at this revision needs no Alembic (its import alone costs a few tenths of
a second at every command); only a migration imports it."""
VERSION_TABLE = "conveyor_schema_version"
"""Our own name for Alembic's version table, so another Alembic app's database is not ours."""
_PG_LOCK = 0x636F6E76
"""PostgreSQL advisory lock key: one process migrates at a time."""
_MIGRATING = threading.Lock()
"""One thread of the process migrates at a time: Alembic runs its migration scripts
through module-level proxies (`alembic.context`, `alembic.op`) that threads would share."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: the scripts in the package, our version table."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["version_table"] = VERSION_TABLE
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The schema revision this code writes."""
    return HEAD


def prepare(engine: Engine, where: str, target: str = "head") -> None:
    """Bring the database behind `engine` to revision `target`, or raise StoreError."""
    with engine.execution_options(**WRITE).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        current = _current_revisions(conn, where)
        if current == {HEAD} and target == "head":
            return  # the usual case: a store this code wrote, nothing to migrate
        _check_known(current, where)
        wanted = {_scripts().get_revision(target).revision}
        if current != wanted:
            from alembic import command

            with _MIGRATING:
                command.upgrade(alembic_config(conn), target)


def revision(conn: Connection) -> str | None:
    """The revision of a store known to be ours (one head: migrations are linear)."""
    found = driver.prepared(_REVISION, conn.dialect).first(conn, {})
    return found.version_num if found else None


_REVISION = text(f"SELECT version_num FROM {VERSION_TABLE}")


def _current_revisions(conn: Connection, where: str) -> set[str]:
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:5])
            raise StoreError(
                f"{where} is not a Conveyor metadata store: it holds other tables ({shown}). "
                "Point Conveyor at an empty database or a new file."
            )
        return set()
    return {row.version_num for row in conn.execute(_REVISION)}


def _check_known(current: set[str], where: str) -> None:
    """Raise StoreError for a revision that no migration here names (a newer Conveyor's)."""
    from alembic.util import CommandError

    for revision in current:
        try:
            _scripts().get_revision(revision)
        except CommandError as err:
            raise StoreError(
                f"the metadata store at {where} has schema revision {revision!r}, newer than "
                f"this Conveyor knows (up to {head()!r}). Upgrade Conveyor, or point it at "
                "another store."
            ) from err
