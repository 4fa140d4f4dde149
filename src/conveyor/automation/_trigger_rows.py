"""SQL over `triggers`, and the questions a trigger asks of its fires (`automation_fires`).

Every function takes the connection of the caller's transaction. A trigger's fires are the
memory of what it has seen: an event is new when no fire of the trigger has its
occurrence key (`seen`), and the unique key makes the first of two schedulers to record it
the only one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from conveyor.automation.errors import AutomationConflict, TriggerNotFound
from conveyor.automation.fires import TRIGGER
from conveyor.automation.schedule_records import FireState
from conveyor.automation.trigger_records import TriggerKind, TriggerRecord, TriggerState
from conveyor.store.metadata.automation_models import AutomationFire, Trigger
from conveyor.store.metadata.recording import now

TRIGGERS = Trigger.__table__
FIRES = AutomationFire.__table__
FIRED = tuple(
    s.value
    for s in (
        FireState.QUEUED,
        FireState.CLAIMED,
        FireState.STARTED,
        FireState.SUCCEEDED,
        FireState.FAILED,
    )
)
"""The states of a fire that was made (not skipped): what a cooldown counts."""
_CHUNK = 500


def row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    query = select(TRIGGERS).where(TRIGGERS.c.name == name)
    if lock:
        query = query.with_for_update()
    found = conn.execute(query).first()
    if found is None:
        raise TriggerNotFound(f"no trigger {name!r}; `conveyor triggers list` shows the triggers")
    return found


def by_id(conn: Connection, trigger_id: int, *, lock: bool = False) -> Row[Any] | None:
    query = select(TRIGGERS).where(TRIGGERS.c.id == trigger_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(TRIGGERS).order_by(TRIGGERS.c.name)))


def active(conn: Connection) -> list[Row[Any]]:
    query = select(TRIGGERS).where(TRIGGERS.c.state == TriggerState.ACTIVE.value)
    return list(conn.execute(query.order_by(TRIGGERS.c.id)))


def insert_trigger(conn: Connection, values: Mapping[str, Any]) -> int:
    if conn.execute(select(TRIGGERS.c.id).where(TRIGGERS.c.name == values["name"])).first():
        raise AutomationConflict(
            f"name: a trigger {values['name']!r} already exists; delete it first "
            f"(`conveyor triggers delete {values['name']}`)"
        )
    return conn.execute(insert(TRIGGERS).values(**values)).inserted_primary_key[0]


def change(conn: Connection, trigger_id: int, at: datetime, **values: Any) -> None:
    conn.execute(
        update(TRIGGERS).where(TRIGGERS.c.id == trigger_id).values(**values, updated_at=at)
    )


def delete(conn: Connection, trigger_id: int) -> None:
    conn.execute(TRIGGERS.delete().where(TRIGGERS.c.id == trigger_id))


def record(found: Row[Any]) -> TriggerRecord:
    return TriggerRecord(
        name=found.name,
        kind=TriggerKind(found.kind),
        event=found.event,
        request=found.request,
        state=TriggerState(found.state),
        created_by=found.created_by,
        created_at=found.created_at,
        updated_at=found.updated_at,
    )


# Its fires


def seen(conn: Connection, trigger_id: int, occurrences: Iterable[str]) -> set[str]:
    """Which of `occurrences` the trigger has a fire of (fired, skipped or failed)."""
    wanted = list(dict.fromkeys(occurrences))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        query = select(FIRES.c.occurrence).where(
            FIRES.c.source == TRIGGER,
            FIRES.c.source_id == trigger_id,
            FIRES.c.occurrence.in_(wanted[start : start + _CHUNK]),
        )
        found.update(conn.execute(query).scalars())
    return found


def by_occurrence(conn: Connection, trigger_id: int, occurrence: str) -> Row[Any] | None:
    query = select(FIRES).where(
        FIRES.c.source == TRIGGER,
        FIRES.c.source_id == trigger_id,
        FIRES.c.occurrence == occurrence,
    )
    return conn.execute(query).first()


def last_fired(conn: Connection, trigger_id: int) -> Row[Any] | None:
    """The trigger's latest fire that was made (by the time it was seen), for a cooldown."""
    query = (
        select(FIRES)
        .where(
            FIRES.c.source == TRIGGER,
            FIRES.c.source_id == trigger_id,
            FIRES.c.state.in_(FIRED),
        )
        .order_by(FIRES.c.scheduled_time.desc(), FIRES.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def latest_seen(conn: Connection, trigger_id: int) -> datetime | None:
    """When the trigger last saw an event (its newest fire's time)."""
    query = select(func.max(FIRES.c.scheduled_time)).where(
        FIRES.c.source == TRIGGER, FIRES.c.source_id == trigger_id
    )
    return conn.execute(query).scalar()


def skip_queued(conn: Connection, trigger_id: int, reason: str) -> None:
    """SKIP the fires of the trigger that wait to start."""
    conn.execute(
        update(FIRES)
        .where(
            FIRES.c.source == TRIGGER,
            FIRES.c.source_id == trigger_id,
            FIRES.c.state == FireState.QUEUED.value,
        )
        .values(state=FireState.SKIPPED.value, error=reason, updated_at=now())
    )
