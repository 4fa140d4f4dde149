"""SQL over the endpoint tables (`conveyor.store.metadata.endpoint_models`), for `Endpoints`.

Every function takes the connection of the caller's transaction; writes to one endpoint
take turns by locking its row first (PostgreSQL; SQLite writers take turns anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from conveyor.serving.errors import EndpointNotFound, ServingConflict
from conveyor.store.metadata.endpoint_models import DeployedModel, Endpoint
from conveyor.store.metadata.recording import now

ENDPOINTS = Endpoint.__table__
DEPLOYED = DeployedModel.__table__


def endpoint_row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    query = select(ENDPOINTS).where(ENDPOINTS.c.name == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise EndpointNotFound(
            f"no endpoint {name!r}; `conveyor endpoints list` shows the endpoints, and "
            f"`conveyor endpoints create {name}` makes it"
        )
    return row


def endpoint_rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(ENDPOINTS).order_by(ENDPOINTS.c.name)))


def insert_endpoint(conn: Connection, values: Mapping[str, Any]) -> None:
    if conn.execute(select(ENDPOINTS.c.id).where(ENDPOINTS.c.name == values["name"])).first():
        raise ServingConflict(
            f"endpoint {values['name']!r} already exists; `conveyor endpoints show "
            f"{values['name']}` shows it"
        )
    stamp = now()
    conn.execute(
        insert(ENDPOINTS).values(**values, generation=1, created_at=stamp, updated_at=stamp)
    )


def touch(conn: Connection, endpoint_id: int, **values: Any) -> None:
    """Change an endpoint's fields and count one more generation."""
    conn.execute(
        update(ENDPOINTS)
        .where(ENDPOINTS.c.id == endpoint_id)
        .values(**values, generation=ENDPOINTS.c.generation + 1, updated_at=now())
    )


def delete_endpoint(conn: Connection, endpoint_id: int) -> None:
    conn.execute(delete(DEPLOYED).where(DEPLOYED.c.endpoint_id == endpoint_id))
    conn.execute(delete(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id))


def active(conn: Connection, endpoint_ids: list[int] | None = None) -> list[Row[Any]]:
    """The deployed models not undeployed, of some endpoints or all, oldest first, with the
    endpoint's name as `endpoint`."""
    query = (
        select(DEPLOYED, ENDPOINTS.c.name.label("endpoint"))
        .join(ENDPOINTS, ENDPOINTS.c.id == DEPLOYED.c.endpoint_id)
        .where(DEPLOYED.c.undeployed_at.is_(None))
        .order_by(DEPLOYED.c.id)
    )
    if endpoint_ids is not None:
        query = query.where(DEPLOYED.c.endpoint_id.in_(endpoint_ids))
    return list(conn.execute(query))


def active_of_model(conn: Connection, model: str) -> list[Row[Any]]:
    query = (
        select(DEPLOYED, ENDPOINTS.c.name.label("endpoint"))
        .join(ENDPOINTS, ENDPOINTS.c.id == DEPLOYED.c.endpoint_id)
        .where(DEPLOYED.c.undeployed_at.is_(None), DEPLOYED.c.model_name == model)
        .order_by(DEPLOYED.c.id)
    )
    return list(conn.execute(query))


def insert_deployed(conn: Connection, values: Mapping[str, Any]) -> str:
    done = conn.execute(insert(DEPLOYED).values(**values, deployed_at=now()))
    return str(done.inserted_primary_key[0])


def set_traffic(conn: Connection, split: Mapping[str, int]) -> None:
    for deployed_id, percent in split.items():
        conn.execute(
            update(DEPLOYED).where(DEPLOYED.c.id == int(deployed_id)).values(traffic=percent)
        )


def end_shadow(conn: Connection, deployed_id: str) -> None:
    """The shadow stops mirroring: an ordinary deployed model, at 0 %."""
    conn.execute(
        update(DEPLOYED).where(DEPLOYED.c.id == int(deployed_id)).values(shadow_of=None, traffic=0)
    )


def undeploy(conn: Connection, deployed_id: str) -> None:
    conn.execute(
        update(DEPLOYED)
        .where(DEPLOYED.c.id == int(deployed_id))
        .values(undeployed_at=now(), traffic=0)
    )


def generations(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(ENDPOINTS.c.name, ENDPOINTS.c.generation))
    return {name: generation for name, generation in rows}


def count_active(conn: Connection, endpoint_id: int) -> int:
    query = select(func.count()).where(
        DEPLOYED.c.endpoint_id == endpoint_id, DEPLOYED.c.undeployed_at.is_(None)
    )
    return conn.execute(query).scalar_one()
