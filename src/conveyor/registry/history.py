"""The append-only history of a model: alias moves and version changes, who made them and why.

Entries are written in the same transaction as the change they record, so the
history never misses a change nor records one that did not happen. They are
never updated or deleted, and are kept by model name: the history of a deleted
model can still be read, and a model created again under the same name
continues it.

Who: the registry's `user`, else `CONVEYOR_USER`, else the operating-system user.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from conveyor.config import user_from_env
from conveyor.registry.records import HistoryAction, HistoryEntry
from conveyor.store.metadata.recording import now
from conveyor.store.metadata.registry_models import ModelHistory

_TABLE = ModelHistory.__table__


def current_user() -> str:
    """`CONVEYOR_USER`, else the login name of the process, else `unknown`."""
    configured = user_from_env()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no LOGNAME: a bare container
        return "unknown"


def append(
    conn: Connection,
    model: str,
    action: HistoryAction,
    actor: str,
    *,
    version: int | None = None,
    alias: str | None = None,
    previous_version: int | None = None,
    comment: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry; its id."""
    result = conn.execute(
        insert(_TABLE),
        {
            "model_name": model,
            "action": action,
            "version": version,
            "alias": alias,
            "previous_version": previous_version,
            "actor": actor,
            "comment": comment,
            "details": dict(details or {}),
            "created_at": now(),
        },
    )
    return int(result.inserted_primary_key[0])


def entries(
    conn: Connection,
    model: str,
    *,
    alias: str | None = None,
    version: int | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[HistoryEntry]:
    """The model's entries, oldest first; `alias` / `version` keep those about it, `after`
    those newer than an entry id (to follow the history by polling)."""
    query = select(_TABLE).where(_TABLE.c.model_name == model)
    if alias is not None:
        query = query.where(_TABLE.c.alias == alias)
    if version is not None:
        query = query.where((_TABLE.c.version == version) | (_TABLE.c.previous_version == version))
    if after is not None:
        query = query.where(_TABLE.c.id > after)
    query = query.order_by(_TABLE.c.id).limit(limit)
    return [
        HistoryEntry(
            id=row.id,
            model=row.model_name,
            action=HistoryAction(row.action),
            version=row.version,
            alias=row.alias,
            previous_version=row.previous_version,
            actor=row.actor,
            comment=row.comment,
            details=row.details,
            created_at=row.created_at,
        )
        for row in conn.execute(query)
    ]


def exists(conn: Connection, model: str) -> bool:
    """Whether anything was ever recorded about `model`."""
    found = select(_TABLE.c.id).where(_TABLE.c.model_name == model).limit(1)
    return conn.execute(found).first() is not None
