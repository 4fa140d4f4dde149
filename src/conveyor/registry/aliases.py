"""Alias moves: an alias names one version of a model, and moves when applied to another.

Rules (Vertex AI's): an alias is unique within its model (the table's key);
applying it to a version takes it from the version that held it; `default` is
held by exactly one version while the model has any, so it can be moved but not
removed (except with the last version, when there is nowhere to move it).
Every change appends a history entry; applying an alias where it already is
changes nothing and records nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from conveyor.registry import history
from conveyor.registry.errors import AliasRefused, VersionNotFound
from conveyor.registry.names import DEFAULT
from conveyor.registry.records import HistoryAction
from conveyor.registry.rows import ALIASES, MODELS
from conveyor.store.metadata.recording import now


def holder(conn: Connection, model: Row[Any], alias: str) -> int | None:
    """The version holding `alias`, or None."""
    return conn.execute(
        select(ALIASES.c.version).where(ALIASES.c.model_id == model.id, ALIASES.c.alias == alias)
    ).scalar()


def assign(
    conn: Connection, model: Row[Any], alias: str, version: int, actor: str, comment: str | None
) -> bool:
    """Put `alias` on `version`, moving it if another version holds it; whether it changed."""
    previous = holder(conn, model, alias)
    if previous == version:
        return False
    stamp = now()
    if previous is None:
        conn.execute(
            insert(ALIASES),
            {"model_id": model.id, "alias": alias, "version": version, "assigned_at": stamp},
        )
    else:
        conn.execute(
            update(ALIASES)
            .where(ALIASES.c.model_id == model.id, ALIASES.c.alias == alias)
            .values(version=version, assigned_at=stamp)
        )
    history.append(
        conn,
        model.name,
        HistoryAction.ALIAS_SET,
        actor,
        version=version,
        alias=alias,
        previous_version=previous,
        comment=comment,
    )
    touch(conn, model)
    return True


def remove(
    conn: Connection,
    model: Row[Any],
    alias: str,
    actor: str,
    comment: str | None,
    *,
    last_version: bool = False,
) -> int:
    """Take `alias` off its version (its number is returned). `default` only goes with the
    model's last version (`last_version`)."""
    previous = holder(conn, model, alias)
    if previous is None:
        raise VersionNotFound(
            f"no version of model {model.name!r} holds alias {alias!r}; "
            f"`conveyor models show {model.name}` lists its aliases"
        )
    if alias == DEFAULT and not last_version:
        raise AliasRefused(
            f"the default alias of {model.name!r} cannot be removed, only moved: "
            f"`conveyor models alias {model.name} default VERSION` puts it on another version"
        )
    conn.execute(delete(ALIASES).where(ALIASES.c.model_id == model.id, ALIASES.c.alias == alias))
    history.append(
        conn,
        model.name,
        HistoryAction.ALIAS_REMOVED,
        actor,
        alias=alias,
        previous_version=previous,
        comment=comment,
    )
    touch(conn, model)
    return previous


def touch(conn: Connection, model: Row[Any]) -> None:
    conn.execute(update(MODELS).where(MODELS.c.id == model.id).values(updated_at=now()))
