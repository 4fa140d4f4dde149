"""Version changes: a new version takes the next number, an update changes what it says,
a deletion takes its aliases and evaluations with it. Each appends to the history.

Numbers start at 1 and only grow: `registered_models.last_version` keeps the
highest given, so a deleted version's number is never given again. A model's
first version (or the first after all were deleted) takes `default`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from conveyor.registry import aliases, history
from conveyor.registry.errors import DeleteRefused
from conveyor.registry.names import DEFAULT
from conveyor.registry.records import HistoryAction
from conveyor.registry.rows import ALIASES, EVALUATIONS, MODELS, VERSIONS
from conveyor.store.metadata.recording import now


def create(
    conn: Connection,
    model: Row[Any],
    fields: Mapping[str, Any],
    wanted_aliases: Sequence[str],
    actor: str,
    comment: str | None,
) -> int:
    """Record version `last_version + 1` of `model` (locked) with `fields`; its number."""
    number = model.last_version + 1
    stamp = now()
    conn.execute(
        update(MODELS).where(MODELS.c.id == model.id).values(last_version=number, updated_at=stamp)
    )
    conn.execute(
        insert(VERSIONS),
        {
            **fields,
            "model_id": model.id,
            "version": number,
            "created_by": actor,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    history.append(
        conn,
        model.name,
        HistoryAction.VERSION_CREATED,
        actor,
        version=number,
        comment=comment,
        details={
            key: fields[key]
            for key in ("framework", "artifact_uri", "sha256", "trusted", "run_id", "execution_id")
        }
        | ({"origin": fields["origin"]} if fields.get("origin") else {}),
    )
    takes_default = DEFAULT in wanted_aliases or aliases.holder(conn, model, DEFAULT) is None
    ordered = [DEFAULT] if takes_default else []
    ordered += [a for a in wanted_aliases if a != DEFAULT]
    for alias in ordered:
        aliases.assign(conn, model, alias, number, actor, comment)
    return number


def update_fields(
    conn: Connection,
    model: Row[Any],
    number: int,
    changes: Mapping[str, Any],
    actor: str,
    comment: str | None,
) -> bool:
    """Set the given fields of a version; records the old and new values; whether it changed."""
    row = conn.execute(
        select(VERSIONS).where(VERSIONS.c.model_id == model.id, VERSIONS.c.version == number)
    ).one()
    changed = differences(row, changes)
    if not changed:
        return False
    conn.execute(
        update(VERSIONS)
        .where(VERSIONS.c.model_id == model.id, VERSIONS.c.version == number)
        .values({**{key: new for key, (_, new) in changed.items()}, "updated_at": now()})
    )
    history.append(
        conn,
        model.name,
        HistoryAction.VERSION_UPDATED,
        actor,
        version=number,
        comment=comment,
        details=changed,
    )
    aliases.touch(conn, model)
    return True


def differences(row: Row[Any], changes: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for each field in `changes` whose value differs from `row`'s."""
    return {
        key: [getattr(row, key), new] for key, new in changes.items() if getattr(row, key) != new
    }


def drop(
    conn: Connection,
    model: Row[Any],
    number: int,
    actor: str,
    comment: str | None,
    *,
    with_model: bool = False,
) -> None:
    """Delete a version with its aliases and evaluations. The holder of `default` goes only
    when it is the last version, or the whole model goes (`with_model`)."""
    held = sorted(
        conn.execute(
            select(ALIASES.c.alias).where(
                ALIASES.c.model_id == model.id, ALIASES.c.version == number
            )
        ).scalars(),
        key=lambda alias: (alias == DEFAULT, alias),
    )
    if DEFAULT in held and not with_model:
        others = conn.execute(
            select(VERSIONS.c.version)
            .where(VERSIONS.c.model_id == model.id, VERSIONS.c.version != number)
            .order_by(VERSIONS.c.version.desc())
        ).scalars()
        other = next(iter(others), None)
        if other is not None:
            raise DeleteRefused(
                f"{model.name}@{number} holds the default alias, so it cannot be deleted; "
                f"move default first (`conveyor models alias {model.name} default {other}`)"
            )
    for alias in held:
        aliases.remove(conn, model, alias, actor, comment, last_version=True)
    where = (VERSIONS.c.model_id == model.id) & (VERSIONS.c.version == number)
    row = conn.execute(select(VERSIONS.c.artifact_uri, VERSIONS.c.sha256).where(where)).one()
    evaluations = conn.execute(
        delete(EVALUATIONS).where(
            EVALUATIONS.c.model_id == model.id, EVALUATIONS.c.version == number
        )
    ).rowcount
    conn.execute(delete(VERSIONS).where(where))
    history.append(
        conn,
        model.name,
        HistoryAction.VERSION_DELETED,
        actor,
        version=number,
        comment=comment,
        details={
            "aliases": held,
            "evaluations": evaluations,
            "artifact_uri": row.artifact_uri,
            "sha256": row.sha256,
        },
    )
    aliases.touch(conn, model)
