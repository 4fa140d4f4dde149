"""The lineage of an artifact or an execution: what is upstream and downstream of it.

The walk goes level by level, one execution per step. Upstream, an artifact
leads to the executions that wrote it (OUTPUT events) and those to the
artifacts they read (INPUT events); downstream, the other way round. Each level
is two indexed queries over the whole frontier, so the cost grows with the
size of the answer, not of the store. An execution's lineage is its own inputs
and outputs, then the walk upstream from its inputs and downstream from its outputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Connection, Row, Select, bindparam, select

from conveyor.store.metadata import rows
from conveyor.store.metadata.errors import NotFound
from conveyor.store.metadata.kinds import Direction, EventType
from conveyor.store.metadata.mlmd_tables import ARTIFACTS, EVENTS, EXECUTIONS
from conveyor.store.metadata.records import Lineage, LineageEdge

_STEPS = {
    # direction: (event from an artifact to an execution, event from it to the next artifacts)
    Direction.UPSTREAM: (EventType.OUTPUT, EventType.INPUT),
    Direction.DOWNSTREAM: (EventType.INPUT, EventType.OUTPUT),
}


def roots(conn: Connection, artifact: int | str) -> list[int]:
    """The artifact with this id, or every artifact recorded at this URI."""
    by_id = isinstance(artifact, int)
    where = ARTIFACTS.c.id == artifact if by_id else ARTIFACTS.c.uri == artifact
    found = list(
        conn.execute(select(ARTIFACTS.c.id).where(where).order_by(ARTIFACTS.c.id)).scalars()
    )
    if not found:
        what = f"artifact {artifact}" if by_id else f"artifact at {artifact!r}"
        raise NotFound(f"no {what} in the metadata store")
    return found


def lineage(conn: Connection, artifact: int | str, depth: int) -> Lineage:
    _check(depth)
    start = roots(conn, artifact)
    return _graph(conn, start, {d: start for d in Direction}, depth)


def execution_lineage(conn: Connection, execution_id: int, depth: int) -> Lineage:
    """The execution's inputs and outputs, what led to its inputs and what its outputs led to."""
    _check(depth)
    found = conn.execute(select(EXECUTIONS.c.id).where(EXECUTIONS.c.id == execution_id))
    if found.first() is None:
        raise NotFound(f"no execution {execution_id} in the metadata store")
    own: list[LineageEdge] = []
    starts: dict[Direction, list[int]] = {}
    for direction in Direction:
        # The step from an execution to artifacts: its inputs upstream, outputs downstream.
        events = _events(conn, _BY_EXECUTION, [execution_id], _STEPS[direction][1])
        own.extend(_edge(direction, e) for e in events)
        starts[direction] = sorted({e.artifact_id for e in events})
    return _graph(conn, [], starts, depth, execution_id, own)


def _check(depth: int) -> None:
    if depth < 0:
        raise ValueError(f"lineage depth must be 0 or more, got {depth}")


def _graph(
    conn: Connection,
    start: list[int],
    starts: dict[Direction, list[int]],
    depth: int,
    execution: int | None = None,
    edges: list[LineageEdge] | None = None,
) -> Lineage:
    """The walk from `starts` (artifacts, by direction), with its nodes' records."""
    edges = list(edges or [])
    truncated = False
    for direction, frontier in starts.items():
        walked, more = _walk(conn, direction, frontier, depth, execution)
        edges.extend(walked)
        truncated = truncated or more
    artifact_ids = set(start) | {e.artifact_id for e in edges}
    execution_ids = {e.execution_id for e in edges} | (
        {execution} if execution is not None else set()
    )
    artifacts = {}
    for batch in rows.chunks(sorted(artifact_ids)):
        for row in conn.execute(rows.artifacts_select().where(ARTIFACTS.c.id.in_(batch))):
            artifacts[row.id] = rows.artifact(row)
    executions = {}
    for batch in rows.chunks(sorted(execution_ids)):
        for row in conn.execute(rows.executions_select().where(EXECUTIONS.c.id.in_(batch))):
            executions[row.id] = rows.execution(row)
    return Lineage(start, depth, artifacts, executions, edges, truncated, execution)


def _walk(
    conn: Connection, direction: Direction, start: list[int], depth: int, execution: int | None
) -> tuple[list[LineageEdge], bool]:
    """Edges up to `depth` executions away on one side, and whether the graph goes further
    (past `execution`, the one asked about, if any)."""
    into, out_of = _STEPS[direction]
    seen_artifacts = set(start)
    seen_executions: set[int] = {execution} if execution is not None else set()
    frontier = start
    edges: list[LineageEdge] = []
    for _ in range(depth):
        reached = _events(conn, _BY_ARTIFACT, frontier, into)
        executions = sorted({e.execution_id for e in reached} - seen_executions)
        edges.extend(_edge(direction, e) for e in reached)
        if not executions:
            return edges, False
        seen_executions.update(executions)
        further = _events(conn, _BY_EXECUTION, executions, out_of)
        edges.extend(_edge(direction, e) for e in further)
        frontier = sorted({e.artifact_id for e in further} - seen_artifacts)
        seen_artifacts.update(frontier)
        if not frontier:
            return edges, False
    return edges, bool(_events(conn, _BY_ARTIFACT, frontier, into))


def _events_by(column: Column[int]) -> Select[Any]:
    return select(
        EVENTS.c.execution_id, EVENTS.c.artifact_id, EVENTS.c.type, EVENTS.c.name, EVENTS.c.position
    ).where(column.in_(bindparam("ids", expanding=True)), EVENTS.c.type == bindparam("kind"))


# Built once: the walk runs them many times.
_BY_ARTIFACT = _events_by(EVENTS.c.artifact_id)
_BY_EXECUTION = _events_by(EVENTS.c.execution_id)


def _events(
    conn: Connection, query: Select[Any], ids: Iterable[int], kind: EventType
) -> list[Row[Any]]:
    found: list[Row[Any]] = []
    for batch in rows.chunks(ids):
        found.extend(conn.execute(query, {"ids": batch, "kind": kind}))
    return found


def _edge(direction: Direction, event: Row[Any]) -> LineageEdge:
    return LineageEdge(
        direction,
        event.execution_id,
        event.artifact_id,
        EventType(event.type),
        event.name,
        event.position,
    )
