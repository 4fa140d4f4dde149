"""The store's writes, each a few Core statements inside the caller's one transaction.

The statements are Core (not ORM units of work) and built once, with bound
parameters, so recording a task spends its time in the database rather than in
building SQL: the 2 ms per task budget of `benchmarks/metadata.py`. Those of a
fully cached run (creating and ending the run, recording its hits) run on the
driver's cursor (`driver.py`), every one of them: `benchmarks/cache.py --compare`
shows that path paying; the others run through SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import import_module
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Insert,
    Integer,
    String,
    Table,
    Update,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import TableValuedAlias

from conveyor.store.metadata import driver
from conveyor.store.metadata.errors import NotFound, RunExists, StoreError
from conveyor.store.metadata.kinds import (
    STARTED_STATES,
    ArtifactState,
    EventType,
    ExecutionState,
    RunStatus,
)
from conveyor.store.metadata.mlmd_tables import (
    ARTIFACTS,
    ASSOCIATIONS,
    ATTRIBUTIONS,
    CONTEXTS,
    EVENTS,
    EXECUTIONS,
    PIPELINE_SPECS,
    UtcDateTime,
)


def _insert(dialect: str, table: Table) -> Insert:
    """The INSERT of `dialect` (`sqlite` or `postgresql`), which can skip clashing rows
    (ON CONFLICT DO NOTHING). The dialect's module is imported when a store of its kind
    first needs it: PostgreSQL's costs every command on SQLite a few hundredths of a second."""
    return import_module(f"sqlalchemy.dialects.{dialect}").insert(table)


def _binds(table: Table, *names: str) -> dict[str, BindParameter[Any]]:
    """A bound parameter per column, named and typed after it."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


@cache
def _ignoring_clashes(dialect: str, table: Table, *names: str) -> Insert:
    """An INSERT of one row of `names` that skips a row clashing with a unique key (another
    writer got there first); built once per dialect, so that `driver.py` compiles it once."""
    values = _binds(table, *names)
    return _insert(dialect, table).values(values).on_conflict_do_nothing().inline()


_INSERT_ARTIFACT = insert(ARTIFACTS)
_INSERT_ASSOCIATION = insert(ASSOCIATIONS)
_INSERT_EVENTS = insert(EVENTS)
_INSERT_EXECUTION = insert(EXECUTIONS)
_CONTEXT_ID = select(CONTEXTS.c.id).where(
    CONTEXTS.c.type_id == bindparam("type_id"), CONTEXTS.c.name == bindparam("name")
)
_INSERT_RUN = (
    insert(CONTEXTS)
    .values(
        **_binds(CONTEXTS, "type_id", "name", "parent_id", "properties"),
        created_at=bindparam("stamp", type_=UtcDateTime()),
        updated_at=bindparam("stamp", type_=UtcDateTime()),
    )
    .inline()
)
_PIPELINE_COLUMNS = ("type_id", "name", "parent_id", "properties", "created_at", "updated_at")
_RUN_PROPERTIES = (
    select(CONTEXTS.c.properties)
    .where(CONTEXTS.c.id == bindparam("id", type_=Integer()))
    .with_for_update()
)
_SET_RUN_PROPERTIES = (
    update(CONTEXTS)
    .where(CONTEXTS.c.id == bindparam("b_id", type_=Integer()))
    .values(
        properties=bindparam("properties", type_=CONTEXTS.c.properties.type),
        updated_at=bindparam("updated_at", type_=UtcDateTime()),
    )
)
_SPEC_STORED = select(PIPELINE_SPECS.c.digest).where(PIPELINE_SPECS.c.digest == bindparam("digest"))
_SPEC_COLUMNS = ("digest", "spec", "created_at")
_RUN_OF = (
    select(ASSOCIATIONS.c.context_id)
    .where(ASSOCIATIONS.c.execution_id == bindparam("execution_id"))
    .limit(1)
)
_FINISH = update(EXECUTIONS).where(
    EXECUTIONS.c.id == bindparam("b_id"),
    or_(*(EXECUTIONS.c.state == state for state in sorted(STARTED_STATES))),
)


def now() -> datetime:
    return datetime.now(UTC)


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those that clash with a unique key (another writer got there first)."""
    conn.execute(_insert_ignore(conn.dialect.name, table), rows)


@cache
def _insert_ignore(dialect: str, table: Table) -> Insert:
    return _insert(dialect, table).on_conflict_do_nothing()


def get_or_create(conn: Connection, table: Table, key: dict[str, Any], **extra: Any) -> int:
    """The id of the row of `table` with these `key` values, inserted with `extra` if missing."""
    where = [table.c[name] == value for name, value in key.items()]
    found = conn.execute(select(table.c.id).where(*where)).scalar()
    if found is None:
        insert_ignore(conn, table, [{**key, **extra}])
        found = conn.execute(select(table.c.id).where(*where)).scalar_one()
    return found


def run_context(conn: Connection, run_type: int, run_id: str) -> int:
    found = _context_id(conn, run_type, run_id)
    if found is None:
        raise _no_run(run_id)
    return found


def _no_run(run_id: str) -> NotFound:
    return NotFound(f"no run {run_id!r} in the metadata store; `conveyor runs list` shows runs")


def _context_id(conn: Connection, type_id: int, name: str) -> int | None:
    found = driver.prepared(_CONTEXT_ID, conn.dialect).first(
        conn, {"type_id": type_id, "name": name}
    )
    return found.id if found is not None else None


def spec_digest(spec: Mapping[str, Any]) -> str:
    """The sha256 of a spec's canonical JSON: the name it is stored under."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def store_spec(conn: Connection, spec: Mapping[str, Any], digest: str) -> None:
    """Store a pipeline spec under its digest, unless it is stored already."""
    if driver.prepared(_SPEC_STORED, conn.dialect).first(conn, {"digest": digest}) is None:
        row = {"digest": digest, "spec": spec, "created_at": now()}
        insert_spec = _ignoring_clashes(conn.dialect.name, PIPELINE_SPECS, *_SPEC_COLUMNS)
        driver.prepared(insert_spec, conn.dialect).execute(conn, row)


def create_run(
    conn: Connection,
    types: tuple[int, int],
    run_id: str,
    pipeline_name: str,
    parameters: dict[str, Any],
    spec_digest: str | None,
    origin: dict[str, Any] | None = None,
    named: dict[str, Any] | None = None,
) -> None:
    pipeline_type, run_type = types
    if _context_id(conn, run_type, run_id) is not None:
        raise RunExists(f"run {run_id!r} is already recorded; give the new run another id")
    stamp = now()
    pipeline = _context_id(conn, pipeline_type, pipeline_name)
    if pipeline is None:
        row = {
            "type_id": pipeline_type,
            "name": pipeline_name,
            "parent_id": None,
            "properties": {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        insert_pipeline = _ignoring_clashes(conn.dialect.name, CONTEXTS, *_PIPELINE_COLUMNS)
        driver.prepared(insert_pipeline, conn.dialect).execute(conn, row)
        pipeline = _context_id(conn, pipeline_type, pipeline_name)
    properties = {
        "pipeline_name": pipeline_name,
        "parameters": parameters,
        "status": RunStatus.RUNNING,
        "error": None,
        "ended_at": None,
        "spec_digest": spec_digest,
    }
    if origin:
        properties["origin"] = origin
    properties.update(named or {})
    driver.prepared(_INSERT_RUN, conn.dialect).execute(
        conn,
        {
            "type_id": run_type,
            "name": run_id,
            "parent_id": pipeline,
            "properties": properties,
            "stamp": stamp,
        },
    )


def update_run(
    conn: Connection,
    run_type: int,
    run_id: str,
    status: RunStatus,
    error: str | None,
    ended_at: datetime | None,
) -> None:
    context = run_context(conn, run_type, run_id)
    found = driver.prepared(_RUN_PROPERTIES, conn.dialect).first(conn, {"id": context})
    if status == RunStatus.RUNNING:
        ended_at = None
    elif ended_at is None:
        ended_at = now()
    properties = {
        **found.properties,
        "status": status,
        "error": error,
        "ended_at": ended_at.astimezone(UTC).isoformat() if ended_at else None,
    }
    driver.prepared(_SET_RUN_PROPERTIES, conn.dialect).execute(
        conn, {"b_id": context, "properties": properties, "updated_at": now()}
    )


Link = tuple[str, int, int]
"""An event's name, its position in an artifact list, and the artifact's id."""


def links(artifacts: Mapping[str, Sequence[int]]) -> list[Link]:
    """Artifact ids by name, numbered by their position in each list."""
    return [
        (name, position, artifact_id)
        for name, ids in artifacts.items()
        for position, artifact_id in enumerate(ids)
    ]


def add_events(
    conn: Connection, execution_id: int, kind: EventType, linked: Sequence[Link]
) -> None:
    """Events from `execution_id` to artifacts; output artifacts also join its run."""
    if not linked:
        return
    run = run_of(conn, execution_id) if kind == EventType.OUTPUT else None
    stamp = now()
    rows = [
        {
            "execution_id": execution_id,
            "artifact_id": artifact_id,
            "type": kind,
            "name": name,
            "position": position,
            "created_at": stamp,
        }
        for name, position, artifact_id in linked
    ]
    conn.execute(_INSERT_EVENTS, rows)
    if run is not None:
        attributed = [{"context_id": run, "artifact_id": row["artifact_id"]} for row in rows]
        insert_ignore(conn, ATTRIBUTIONS, attributed)


def run_of(conn: Connection, execution_id: int) -> int:
    """The run context of an execution."""
    found = conn.execute(_RUN_OF, {"execution_id": execution_id}).scalar()
    if found is None:
        raise NotFound(f"no execution {execution_id} in the metadata store")
    return found


def create_execution(
    conn: Connection,
    run: tuple[int, str],
    values: dict[str, Any],
    inputs: Mapping[str, Sequence[int]],
) -> int:
    """An execution in the run named by its (type id, run id), with INPUT events; its id."""
    run_type, run_id = run
    context = conn.execute(_CONTEXT_ID, {"type_id": run_type, "name": run_id}).scalar()
    if context is None:
        raise _no_run(run_id)
    stamp = now()
    if values["state"] not in STARTED_STATES:
        raise ValueError(
            f"an execution starts NEW or RUNNING, not {values['state']}; "
            "record it, then call finish_execution"
        )
    if values["state"] == ExecutionState.RUNNING and values["started_at"] is None:
        values["started_at"] = stamp
    values.update(created_at=stamp, cached_from_id=None)
    execution_id = conn.execute(_INSERT_EXECUTION, values).inserted_primary_key[0]
    conn.execute(_INSERT_ASSOCIATION, {"context_id": context, "execution_id": execution_id})
    add_events(conn, execution_id, EventType.INPUT, links(inputs))
    return execution_id


_STATE_OF = select(EXECUTIONS.c.state).where(EXECUTIONS.c.id == bindparam("id", type_=Integer()))
_LAST_EXECUTION_ID = select(func.max(EXECUTIONS.c.id).label("id"))
_PG_EXECUTION_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('executions', 'id')) AS id FROM generate_series(1, :n)"
)
_reused = EXECUTIONS.alias("reused")
_stamp = bindparam("stamp", type_=UtcDateTime())
_COPY_AS_CACHED = insert(EXECUTIONS).from_select(
    [
        "id",
        "type_id",
        "task_key",
        "name",
        "state",
        "input_parameters",
        "output_parameters",
        "created_at",
        "started_at",
        "ended_at",
        "cache_key",
        "cache_key_parts",
        "cached_from_id",
    ],
    select(
        bindparam("id", type_=Integer()),
        _reused.c.type_id,
        bindparam("task_key", type_=String()),
        bindparam("name", type_=String()),
        literal(ExecutionState.CACHED.value, String()),
        _reused.c.input_parameters,
        _reused.c.output_parameters,
        _stamp,
        _stamp,
        _stamp,
        _reused.c.cache_key,
        _reused.c.cache_key_parts,
        _reused.c.id,
    ).where(
        _reused.c.id == bindparam("cached_from", type_=Integer()),
        _reused.c.state == ExecutionState.COMPLETE.value,
    ),
)
# The batch's new executions, by their ids, with the OUTPUT events of those they reuse.
_reused_outputs = EXECUTIONS.join(
    EVENTS,
    (EVENTS.c.execution_id == EXECUTIONS.c.cached_from_id)
    & (EVENTS.c.type == EventType.OUTPUT.value),
)


def _batch_ids(dialect: str) -> TableValuedAlias:
    """The ids of a batch, bound as one list (`ids`), as rows of `value`: a statement over
    them is compiled once, however long the batch."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        ids = func.unnest(bindparam("ids", type_=ARRAY(Integer())))
        return ids.table_valued("value").render_derived()
    return func.json_each(bindparam("ids", type_=JSON())).table_valued("value")


@cache
def _copy_batch(dialect: str) -> tuple[Insert, ...]:
    """The statements that give a batch of CACHED executions (`ids`) their run (`run`), the
    OUTPUT events of the executions they reuse, and those outputs' attribution to the run;
    built once per dialect, so that `driver.py` compiles them once."""
    ids = _batch_ids(dialect)
    associate = insert(ASSOCIATIONS).from_select(
        ["context_id", "execution_id"], select(bindparam("run", type_=Integer()), ids.c.value)
    )
    copy_output_events = insert(EVENTS).from_select(
        ["execution_id", "artifact_id", "type", "name", "position", "created_at"],
        select(
            EXECUTIONS.c.id,
            EVENTS.c.artifact_id,
            EVENTS.c.type,
            EVENTS.c.name,
            EVENTS.c.position,
            _stamp,
        )
        .select_from(_reused_outputs)
        .where(EXECUTIONS.c.id.in_(select(ids.c.value))),
    )
    attribute_outputs = (
        _insert(dialect, ATTRIBUTIONS)
        .from_select(
            ["context_id", "artifact_id"],
            select(bindparam("run", type_=Integer()), EVENTS.c.artifact_id)
            .select_from(_reused_outputs)
            .where(EXECUTIONS.c.id.in_(select(ids.c.value)))
            .distinct(),
        )
        .on_conflict_do_nothing()
    )
    return associate, copy_output_events, attribute_outputs


_INSERT_EVENT = (
    insert(EVENTS)
    .values(_binds(EVENTS, "execution_id", "artifact_id", "type", "name", "position"))
    .values(created_at=_stamp)
    .inline()
)


def record_cached(
    conn: Connection,
    run: int,
    batch: Sequence[tuple[dict[str, Any], Mapping[str, Sequence[int]], int]],
) -> list[int]:
    """CACHED executions (values, inputs, reused execution) of one run; their ids.

    Each copies what a hit shares with the execution it reuses (its type, cache
    key and key parts, input and output parameters, OUTPUT events) inside the database,
    with statements prepared once per process (`driver.py`) over the batch's new ids,
    given as a list: a fully cached run records all its tasks in a few statements.
    """
    ids = _new_execution_ids(conn, len(batch))
    hits = [
        {**values, "id": execution_id, "cached_from": cached_from}
        for execution_id, (values, _, cached_from) in zip(ids, batch, strict=True)
    ]
    shared = {"run": run, "stamp": now()}
    copied = driver.prepared(_COPY_AS_CACHED, conn.dialect).many(conn, hits, shared)
    if copied != len(hits):
        _refuse_to_reuse(conn, sorted({cached_from for _, _, cached_from in batch}))
    in_batch = {**shared, "ids": ids}
    for statement in _copy_batch(conn.dialect.name):
        driver.prepared(statement, conn.dialect).execute(conn, in_batch)
    inputs = [
        {
            "execution_id": execution_id,
            "artifact_id": artifact_id,
            "type": EventType.INPUT.value,
            "name": name,
            "position": position,
        }
        for execution_id, (_, linked, _) in zip(ids, batch, strict=True)
        for name, position, artifact_id in links(linked)
    ]
    if inputs:
        driver.prepared(_INSERT_EVENT, conn.dialect).many(conn, inputs, shared)
    return ids


def _refuse_to_reuse(conn: Connection, reused: list[int]) -> None:
    """Say which execution of a batch cannot be reused (missing, or not COMPLETE)."""
    state_of = driver.prepared(_STATE_OF, conn.dialect)
    for execution_id in reused:
        found = state_of.first(conn, {"id": execution_id})
        if found is None:
            raise NotFound(f"no execution {execution_id} in the metadata store to reuse")
        if found.state != ExecutionState.COMPLETE:
            raise StoreError(
                f"execution {execution_id} is {found.state}; only COMPLETE ones are reused"
            )
    # Every one is reusable, yet rows are missing: refuse rather than record half a batch.
    raise StoreError(f"cache hits reusing executions {reused} could not all be recorded")


def _new_execution_ids(conn: Connection, count: int) -> list[int]:
    """Ids for `count` new executions. On SQLite the write transaction holds the one write
    lock, so the ids after the largest are free; PostgreSQL hands them out of its sequence."""
    if conn.dialect.name == "sqlite":
        last = driver.prepared(_LAST_EXECUTION_ID, conn.dialect).first(conn, {})
        first = (last.id or 0) + 1
        return list(range(first, first + count))
    found = driver.prepared(_PG_EXECUTION_IDS, conn.dialect).all(conn, {"n": count})
    return [row.id for row in found]


def finish_execution(conn: Connection, execution_id: int, values: dict[str, Any]) -> None:
    done = conn.execute(_FINISH, {"b_id": execution_id, **values})
    if done.rowcount == 0:
        state = conn.execute(
            select(EXECUTIONS.c.state).where(EXECUTIONS.c.id == execution_id)
        ).scalar()
        if state is None:
            raise NotFound(f"no execution {execution_id} in the metadata store")
        raise StoreError(f"execution {execution_id} is already {state}; finished executions stay")


def create_artifact(
    conn: Connection,
    values: dict[str, Any],
    output_of: int | None,
    position: int,
) -> int:
    stamp = now()
    values.update(state=ArtifactState.PENDING, created_at=stamp, updated_at=stamp)
    artifact_id = conn.execute(_INSERT_ARTIFACT, values).inserted_primary_key[0]
    if output_of is not None:
        add_events(conn, output_of, EventType.OUTPUT, [(values["name"], position, artifact_id)])
    return artifact_id


def set_artifact(
    conn: Connection, artifact_id: int, allowed_from: frozenset[str], **values: Any
) -> None:
    """Change an artifact that is in one of the `allowed_from` states."""
    done = conn.execute(
        _artifact_update(allowed_from), {"b_id": artifact_id, "updated_at": now(), **values}
    )
    if done.rowcount == 0:
        state = conn.execute(
            select(ARTIFACTS.c.state).where(ARTIFACTS.c.id == artifact_id)
        ).scalar()
        if state is None:
            raise NotFound(f"no artifact {artifact_id} in the metadata store")
        raise StoreError(
            f"artifact {artifact_id} is {state}; it can become {values['state']} only from "
            + " or ".join(sorted(allowed_from))
        )


@cache
def _artifact_update(allowed_from: frozenset[str]) -> Update:
    return update(ARTIFACTS).where(
        ARTIFACTS.c.id == bindparam("b_id"),
        or_(*(ARTIFACTS.c.state == state for state in sorted(allowed_from))),
    )


def close_started(conn: Connection, context_id: int, error: str) -> int:
    """End as CANCELED the executions of a run still NEW or RUNNING (their runner is gone);
    how many there were."""
    in_run = select(ASSOCIATIONS.c.execution_id).where(ASSOCIATIONS.c.context_id == context_id)
    closed = conn.execute(
        update(EXECUTIONS)
        .where(EXECUTIONS.c.id.in_(in_run), EXECUTIONS.c.state.in_(sorted(STARTED_STATES)))
        .values(state=ExecutionState.CANCELED, ended_at=now(), error=error)
    )
    return closed.rowcount
