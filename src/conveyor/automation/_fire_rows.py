"""SQL over `automation_fires`, for schedules, triggers and the scheduler.

Every function takes the connection of the caller's transaction. A fire's key is its
source, the source's id and its occurrence: `insert` writes a fire only when the key is
new, which is what keeps two schedulers from firing one occurrence twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.automation.schedule_records import FireRecord, FireState
from conveyor.store.metadata.automation_models import AutomationFire
from conveyor.store.metadata.recording import now

FIRES = AutomationFire.__table__
ACTIVE = (FireState.CLAIMED.value, FireState.STARTED.value)

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def insert(conn: Connection, values: Mapping[str, Any]) -> int | None:
    """Write a fire; its id, or None when its key is taken (fired already)."""
    stamp = now()
    statement = (
        _INSERTS[conn.dialect.name](FIRES)
        .values(**{"event": {}, **values}, created_at=stamp, updated_at=stamp)
        .on_conflict_do_nothing()
        .returning(FIRES.c.id)
    )
    return conn.execute(statement).scalar()


def exists(conn: Connection, source: str, source_id: int, occurrence: str) -> bool:
    query = select(FIRES.c.id).where(
        FIRES.c.source == source,
        FIRES.c.source_id == source_id,
        FIRES.c.occurrence == occurrence,
    )
    return conn.execute(query).first() is not None


def get(conn: Connection, fire_id: int) -> Row[Any] | None:
    return conn.execute(select(FIRES).where(FIRES.c.id == fire_id)).first()


def of_source(
    conn: Connection, source: str, source_id: int, *, limit: int | None = None
) -> list[Row[Any]]:
    """The fires of one schedule or trigger, newest first."""
    query = (
        select(FIRES)
        .where(FIRES.c.source == source, FIRES.c.source_id == source_id)
        .order_by(FIRES.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query))


def in_states(conn: Connection, states: Iterable[str], source: str | None = None) -> list[Row[Any]]:
    """Fires in `states` (of one kind of source), oldest first."""
    query = select(FIRES).where(FIRES.c.state.in_(list(states)))
    if source is not None:
        query = query.where(FIRES.c.source == source)
    return list(conn.execute(query.order_by(FIRES.c.id)))


def count(conn: Connection, source: str, source_id: int, states: Iterable[str]) -> int:
    query = select(func.count()).where(
        FIRES.c.source == source, FIRES.c.source_id == source_id, FIRES.c.state.in_(list(states))
    )
    return conn.execute(query).scalar_one()


def oldest_queued(conn: Connection, source: str, source_id: int) -> Row[Any] | None:
    query = (
        select(FIRES)
        .where(
            FIRES.c.source == source,
            FIRES.c.source_id == source_id,
            FIRES.c.state == FireState.QUEUED.value,
        )
        .order_by(FIRES.c.id)
        .limit(1)
    )
    return conn.execute(query).first()


def move(conn: Connection, fire_id: int, from_states: Iterable[str], **values: Any) -> bool:
    """Change a fire that is in one of `from_states`; False when it is not (any more)."""
    statement = (
        update(FIRES)
        .where(FIRES.c.id == fire_id, FIRES.c.state.in_(list(from_states)))
        .values(**values, updated_at=now())
    )
    return conn.execute(statement).rowcount == 1


def take_over(
    conn: Connection, fire_id: int, owner: str | None, expires: datetime | None, **values: Any
) -> bool:
    """Claim a fire whose claim (`owner`, `expires`) is as read: True for exactly one of
    two schedulers racing for it."""
    statement = (
        update(FIRES)
        .where(
            FIRES.c.id == fire_id,
            FIRES.c.state.in_(ACTIVE),
            FIRES.c.claimed_by == owner if owner is not None else FIRES.c.claimed_by.is_(None),
            FIRES.c.claim_expires == expires,
        )
        .values(**values, updated_at=now())
    )
    return conn.execute(statement).rowcount == 1


def renew(conn: Connection, owner: str, fire_ids: list[int], expires: datetime) -> None:
    """Push back the claims `owner` holds on fires it still runs."""
    if fire_ids:
        conn.execute(
            update(FIRES)
            .where(and_(FIRES.c.id.in_(fire_ids), FIRES.c.claimed_by == owner))
            .values(claim_expires=expires)
        )


def delete_of(conn: Connection, source: str, source_id: int) -> None:
    conn.execute(FIRES.delete().where(FIRES.c.source == source, FIRES.c.source_id == source_id))


def record(row: Row[Any], source_name: str) -> FireRecord:
    return FireRecord(
        id=row.id,
        source=row.source,
        source_name=source_name,
        occurrence=row.occurrence,
        state=FireState(row.state),
        scheduled_time=row.scheduled_time,
        run_id=row.run_id,
        event=row.event or {},
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
