"""Registered models: created by their first upload, described and labelled, deleted whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Insert, Row, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.registry import history, rows, versions
from conveyor.registry.records import HistoryAction
from conveyor.registry.rows import MODELS, VERSIONS
from conveyor.store.metadata.recording import now


def ensure(
    conn: Connection,
    name: str,
    description: str | None,
    labels: Mapping[str, str],
    actor: str,
    comment: str | None,
) -> Row[Any]:
    """The model's row, locked; created (with this description and labels) if missing.

    Two uploads creating the same model at once: one inserts, the other's insert
    does nothing and it waits on the row lock, then sees the row.
    """
    found = rows.find_model(conn, name, lock=True)
    if found is not None:
        return found
    stamp = now()
    values = {
        "name": name,
        "description": description,
        "labels": dict(labels),
        "last_version": 0,
        "created_at": stamp,
        "updated_at": stamp,
    }
    inserted = conn.execute(_insert_new(conn.dialect.name).values(values)).first()
    if inserted is not None:
        history.append(
            conn,
            name,
            HistoryAction.MODEL_CREATED,
            actor,
            comment=comment,
            details={"description": description, "labels": dict(labels)},
        )
    return rows.lock_model(conn, name)


def _insert_new(dialect: str) -> Insert:
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(MODELS).on_conflict_do_nothing(index_elements=["name"]).returning(MODELS.c.id)
    )


def update_fields(
    conn: Connection, model: Row[Any], changes: Mapping[str, Any], actor: str, comment: str | None
) -> bool:
    """Set the model's description or labels; records old and new values; whether it changed."""
    changed = versions.differences(model, changes)
    if not changed:
        return False
    conn.execute(
        update(MODELS)
        .where(MODELS.c.id == model.id)
        .values({**{key: new for key, (_, new) in changed.items()}, "updated_at": now()})
    )
    history.append(
        conn, model.name, HistoryAction.MODEL_UPDATED, actor, comment=comment, details=changed
    )
    return True


def drop(conn: Connection, model: Row[Any], actor: str, comment: str | None) -> list[int]:
    """Delete the model and every version of it; the numbers of the versions deleted."""
    numbers = list(
        conn.execute(
            select(VERSIONS.c.version)
            .where(VERSIONS.c.model_id == model.id)
            .order_by(VERSIONS.c.version)
        ).scalars()
    )
    for number in numbers:
        versions.drop(conn, model, number, actor, comment, with_model=True)
    conn.execute(delete(MODELS).where(MODELS.c.id == model.id))
    history.append(
        conn,
        model.name,
        HistoryAction.MODEL_DELETED,
        actor,
        comment=comment,
        details={"versions": numbers},
    )
    return numbers
