"""SQL over `schedules`, for `Schedules` and the scheduler.

Every function takes the connection of the caller's transaction; a change to one schedule
locks its row first (PostgreSQL; SQLite writers take turns anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from conveyor.automation.errors import AutomationConflict, ScheduleNotFound
from conveyor.automation.schedule_records import ScheduleRecord, ScheduleState
from conveyor.store.metadata.automation_models import Schedule
from conveyor.store.metadata.recording import now

SCHEDULES = Schedule.__table__


def row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    query = select(SCHEDULES).where(SCHEDULES.c.name == name)
    if lock:
        query = query.with_for_update()
    found = conn.execute(query).first()
    if found is None:
        raise ScheduleNotFound(
            f"no schedule {name!r}; `conveyor schedules list` shows the schedules"
        )
    return found


def by_id(conn: Connection, schedule_id: int, *, lock: bool = False) -> Row[Any] | None:
    query = select(SCHEDULES).where(SCHEDULES.c.id == schedule_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(SCHEDULES).order_by(SCHEDULES.c.name)))


def due(conn: Connection, at: datetime) -> list[Row[Any]]:
    """ACTIVE schedules whose next time has come, and those that may have completed."""
    query = select(SCHEDULES).where(
        SCHEDULES.c.state == ScheduleState.ACTIVE.value, SCHEDULES.c.next_run_time <= at
    )
    return list(conn.execute(query.order_by(SCHEDULES.c.next_run_time)))


def active(conn: Connection) -> list[Row[Any]]:
    query = select(SCHEDULES).where(SCHEDULES.c.state == ScheduleState.ACTIVE.value)
    return list(conn.execute(query.order_by(SCHEDULES.c.id)))


def insert_schedule(conn: Connection, values: Mapping[str, Any]) -> None:
    if conn.execute(select(SCHEDULES.c.id).where(SCHEDULES.c.name == values["name"])).first():
        raise AutomationConflict(
            f"name: a schedule {values['name']!r} already exists; "
            f"`conveyor schedules update {values['name']}` changes it"
        )
    stamp = now()
    conn.execute(insert(SCHEDULES).values(**values, created_at=stamp, updated_at=stamp))


def change(conn: Connection, schedule_id: int, **values: Any) -> None:
    conn.execute(
        update(SCHEDULES).where(SCHEDULES.c.id == schedule_id).values(**values, updated_at=now())
    )


def advance(conn: Connection, schedule_id: int, expected: datetime, **values: Any) -> bool:
    """Move an ACTIVE schedule on from the time `expected` it was read at: False when
    another scheduler moved it first (the compare-and-set that claims an occurrence)."""
    statement = (
        update(SCHEDULES)
        .where(
            SCHEDULES.c.id == schedule_id,
            SCHEDULES.c.state == ScheduleState.ACTIVE.value,
            SCHEDULES.c.next_run_time == expected,
        )
        .values(**values, updated_at=now())
    )
    return conn.execute(statement).rowcount == 1


def delete(conn: Connection, schedule_id: int) -> None:
    conn.execute(SCHEDULES.delete().where(SCHEDULES.c.id == schedule_id))


def names(conn: Connection, ids: set[int]) -> dict[int, str]:
    query = select(SCHEDULES.c.id, SCHEDULES.c.name).where(SCHEDULES.c.id.in_(ids))
    return dict(conn.execute(query).tuples())


def record(found: Row[Any]) -> ScheduleRecord:
    return ScheduleRecord(
        name=found.name,
        display_name=found.display_name,
        cron=found.cron,
        request=found.request,
        state=ScheduleState(found.state),
        start_time=found.start_time,
        end_time=found.end_time,
        max_run_count=found.max_run_count,
        max_concurrent_run_count=found.max_concurrent_run_count,
        allow_queueing=found.allow_queueing,
        catch_up=found.catch_up,
        next_run_time=found.next_run_time,
        started_run_count=found.started_run_count,
        last_scheduled_run_response=found.last_scheduled_run_response,
        last_pause_time=found.last_pause_time,
        last_resume_time=found.last_resume_time,
        created_by=found.created_by,
        created_at=found.created_at,
        updated_at=found.updated_at,
    )
