"""Shared SELECTs of the store's reads, and the conversion of their rows into records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Select, bindparam, select

from conveyor.store.metadata.kinds import (
    ArtifactState,
    EventType,
    ExecutionState,
    RunStatus,
)
from conveyor.store.metadata.mlmd_tables import (
    ARTIFACT_TYPES,
    ARTIFACTS,
    ASSOCIATIONS,
    CONTEXTS,
    EVENTS,
    EXECUTION_TYPES,
    EXECUTIONS,
)
from conveyor.store.metadata.records import (
    ArtifactRecord,
    ExecutionDetail,
    ExecutionRecord,
    RunnerRecord,
)

CHUNK = 5000
"""Ids per `IN (...)` list: well under the bound-parameter limits of SQLite and PostgreSQL."""

T = TypeVar("T")


def chunks(ids: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in ids:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def artifacts_select() -> Select[Any]:
    return select(ARTIFACTS, ARTIFACT_TYPES.c.name.label("type_name")).join(
        ARTIFACT_TYPES, ARTIFACT_TYPES.c.id == ARTIFACTS.c.type_id
    )


def artifact(row: Any) -> ArtifactRecord:
    """A row of `artifacts_select` (or `events_select`), from SQLAlchemy or `driver.py`."""
    return ArtifactRecord(
        id=row.id,
        uri=row.uri,
        type=row.type_name,
        name=row.name,
        state=ArtifactState(row.state),
        metadata=row.metadata,
        sha256=row.sha256,
        size=row.size,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def executions_select() -> Select[Any]:
    """Executions with their type name and run id (the name of their run context).

    An execution is associated with one context, its run. No filter on the
    context's type: it would lead SQLite to start from the contexts table.
    """
    return (
        select(
            EXECUTIONS,
            EXECUTION_TYPES.c.name.label("type_name"),
            CONTEXTS.c.name.label("run_id"),
        )
        .join(EXECUTION_TYPES, EXECUTION_TYPES.c.id == EXECUTIONS.c.type_id)
        .join(ASSOCIATIONS, ASSOCIATIONS.c.execution_id == EXECUTIONS.c.id)
        .join(CONTEXTS, CONTEXTS.c.id == ASSOCIATIONS.c.context_id)
    )


def execution(row: Row[Any]) -> ExecutionRecord:
    return ExecutionRecord(**_execution_fields(row))


def _execution_fields(row: Row[Any]) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "run_id": m["run_id"],
        "task_key": m["task_key"],
        "name": m["name"],
        "type": m["type_name"],
        "state": ExecutionState(m["state"]),
        "input_parameters": m["input_parameters"],
        "output_parameters": m["output_parameters"],
        "created_at": m["created_at"],
        "started_at": m["started_at"],
        "ended_at": m["ended_at"],
        "log_uri": m["log_uri"],
        "error": m["error"],
        "cache_key": m["cache_key"],
        "cache_key_parts": m["cache_key_parts"],
        "cached_from_id": m["cached_from_id"],
    }


def execution_details(conn: Connection, where: ColumnElement[bool]) -> list[ExecutionDetail]:
    """The executions matching `where`, in id order, with their artifacts by event name."""
    rows = conn.execute(executions_select().where(where).order_by(EXECUTIONS.c.id)).all()
    return details(conn, rows)


def details(conn: Connection, rows: Sequence[Row[Any]]) -> list[ExecutionDetail]:
    """Execution rows (from `executions_select`) completed with their artifacts."""
    sides: dict[int, dict[str, dict[str, list[ArtifactRecord]]]] = defaultdict(
        lambda: {EventType.INPUT: {}, EventType.OUTPUT: {}}
    )
    for batch in chunks(row.id for row in rows):
        query = (
            events_select()
            .where(EVENTS.c.execution_id.in_(batch))
            .order_by(EVENTS.c.execution_id, EVENTS.c.type, EVENTS.c.name, EVENTS.c.position)
        )
        for row in conn.execute(query):
            side = sides[row.event_execution][row.event_type]
            side.setdefault(row.event_name, []).append(artifact(row))
    return [
        ExecutionDetail(
            **_execution_fields(row),
            inputs=sides[row.id][EventType.INPUT],
            outputs=sides[row.id][EventType.OUTPUT],
        )
        for row in rows
    ]


def events_select() -> Select[Any]:
    return (
        artifacts_select()
        .add_columns(
            EVENTS.c.execution_id.label("event_execution"),
            EVENTS.c.type.label("event_type"),
            EVENTS.c.name.label("event_name"),
        )
        .join(EVENTS, EVENTS.c.artifact_id == ARTIFACTS.c.id)
    )


_EVENTS_OF_ONE = (
    events_select()
    .where(EVENTS.c.execution_id == bindparam("execution_id"))
    .order_by(EVENTS.c.type, EVENTS.c.name, EVENTS.c.position)
)
"""The artifacts of one execution, built once so that SQLAlchemy compiles it once."""


def detail(conn: Connection, row: Row[Any]) -> ExecutionDetail:
    """One execution row (from `executions_select`) completed with its artifacts."""
    side: dict[str, dict[str, list[ArtifactRecord]]] = {EventType.INPUT: {}, EventType.OUTPUT: {}}
    for found in conn.execute(_EVENTS_OF_ONE, {"execution_id": row.id}):
        side[found.event_type].setdefault(found.event_name, []).append(artifact(found))
    return ExecutionDetail(
        **_execution_fields(row), inputs=side[EventType.INPUT], outputs=side[EventType.OUTPUT]
    )


def run_fields(
    run_id: str,
    pipeline_name: str,
    properties: dict[str, Any],
    created_at: datetime,
    runner: RunnerRecord | None,
) -> dict[str, Any]:
    """The fields of a RunRecord, from its run context's properties and its lease."""
    ended = properties.get("ended_at")
    return {
        "run_id": run_id,
        "pipeline_name": pipeline_name,
        "status": RunStatus(properties["status"]),
        "parameters": properties.get("parameters") or {},
        "error": properties.get("error"),
        "created_at": created_at,
        "ended_at": datetime.fromisoformat(ended) if ended else None,
        "runner": runner,
        "origin": properties.get("origin") or {},
        "display_name": properties.get("display_name"),
        "labels": properties.get("labels") or {},
        "experiment": properties.get("experiment"),
    }
