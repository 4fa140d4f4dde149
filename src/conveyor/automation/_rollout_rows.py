"""SQL over `rollouts`, for `Rollouts` and the controller that advances them.

Every function takes the connection of the caller's transaction. An unfinished rollout
holds its endpoint's id in `active_endpoint_id`, whose unique constraint refuses a second
one; a lease (`leased_by`, `lease_expires`) is taken by a compare-and-set, so that one
server process at a time analyses a rollout, and another takes over when it dies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, or_, select, update

from conveyor.automation.rollout_records import ACTIVE
from conveyor.store.metadata.automation_models import Rollout
from conveyor.store.metadata.endpoint_models import Endpoint
from conveyor.store.metadata.recording import now

ROLLOUTS = Rollout.__table__
ENDPOINTS = Endpoint.__table__
_ACTIVE = [state.value for state in ACTIVE]
_COLUMNS = [*ROLLOUTS.c, ENDPOINTS.c.name.label("endpoint")]


def _joined() -> Any:
    return select(*_COLUMNS).join_from(
        ROLLOUTS, ENDPOINTS, ROLLOUTS.c.endpoint_id == ENDPOINTS.c.id
    )


def insert(conn: Connection, values: Mapping[str, Any]) -> int:
    """A new rollout; its id. IntegrityError when the endpoint has an unfinished one."""
    stamp = now()
    result = conn.execute(
        ROLLOUTS.insert().values(
            **values,
            active_endpoint_id=values["endpoint_id"],
            step_index=0,
            failures=0,
            window_started_at=stamp,
            window_start={},
            analyses=[],
            created_at=stamp,
            updated_at=stamp,
        )
    )
    return int(result.inserted_primary_key[0])


def get(conn: Connection, rollout_id: int) -> Row[Any] | None:
    return conn.execute(_joined().where(ROLLOUTS.c.id == rollout_id)).first()


def active_of(conn: Connection, endpoint_id: int) -> Row[Any] | None:
    return conn.execute(_joined().where(ROLLOUTS.c.active_endpoint_id == endpoint_id)).first()


def of_endpoint(conn: Connection, endpoint_id: int, limit: int | None = None) -> list[Row[Any]]:
    """The endpoint's rollouts, newest first."""
    query = (
        _joined()
        .where(ROLLOUTS.c.endpoint_id == endpoint_id)
        .order_by(ROLLOUTS.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query))


def active(conn: Connection) -> list[Row[Any]]:
    """Every unfinished rollout, oldest first."""
    query = _joined().where(ROLLOUTS.c.state.in_(_ACTIVE)).order_by(ROLLOUTS.c.id)
    return list(conn.execute(query))


def latest_per_endpoint(conn: Connection) -> list[Row[Any]]:
    """The newest rollout of each endpoint that had one."""
    rows = conn.execute(_joined().order_by(ROLLOUTS.c.id.desc()))
    seen: set[int] = set()
    found = []
    for row in rows:
        if row.endpoint_id not in seen:
            seen.add(row.endpoint_id)
            found.append(row)
    return found


def endpoint_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(ENDPOINTS.c.id).where(ENDPOINTS.c.name == name)).scalar()


def claim(conn: Connection, rollout_id: int, owner: str, until: datetime) -> bool:
    """Take or renew the lease of an unfinished rollout: True when `owner` holds it now.
    Taking it (not renewing) closes the analysis window: the new holder opens its own,
    over the counters of its own server."""
    stamp = now()
    held = conn.execute(select(ROLLOUTS.c.leased_by).where(ROLLOUTS.c.id == rollout_id)).scalar()
    taken = {} if held == owner else {"window_start": {}}
    result = conn.execute(
        update(ROLLOUTS)
        .where(
            ROLLOUTS.c.id == rollout_id,
            ROLLOUTS.c.state.in_(_ACTIVE),
            or_(
                ROLLOUTS.c.leased_by.is_(None),
                ROLLOUTS.c.leased_by == owner,
                ROLLOUTS.c.lease_expires < stamp,
            ),
        )
        .values(leased_by=owner, lease_expires=until, **taken)
    )
    return result.rowcount == 1


def release(conn: Connection, rollout_id: int, owner: str) -> None:
    conn.execute(
        update(ROLLOUTS)
        .where(ROLLOUTS.c.id == rollout_id, ROLLOUTS.c.leased_by == owner)
        .values(leased_by=None, lease_expires=None)
    )


def change(conn: Connection, rollout_id: int, **values: Any) -> None:
    """Change a rollout's fields; finishing it (a final state) frees its endpoint."""
    stamp = now()
    if "state" in values and values["state"] not in _ACTIVE:
        values = {**values, "active_endpoint_id": None, "finished_at": stamp}
        values.setdefault("leased_by", None)
        values.setdefault("lease_expires", None)
    conn.execute(
        update(ROLLOUTS).where(ROLLOUTS.c.id == rollout_id).values(**values, updated_at=stamp)
    )


def delete(conn: Connection, rollout_id: int) -> None:
    """Forget a rollout whose candidate could not be deployed (nothing moved)."""
    conn.execute(ROLLOUTS.delete().where(ROLLOUTS.c.id == rollout_id))
