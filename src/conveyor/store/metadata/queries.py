"""The store's reads of runs, executions and artifacts, and the cache lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, exists, func, or_, select, text

from conveyor.store.metadata import driver, leases, rows
from conveyor.store.metadata.errors import NotFound
from conveyor.store.metadata.kinds import (
    PIPELINE_RUN,
    ArtifactState,
    EventType,
    ExecutionState,
    RunStatus,
)
from conveyor.store.metadata.mlmd_tables import (
    ARTIFACT_TYPES,
    ARTIFACTS,
    ASSOCIATIONS,
    ATTRIBUTIONS,
    COMPLETE_ONLY,
    CONTEXT_TYPES,
    CONTEXTS,
    EVENTS,
    EXECUTIONS,
    PIPELINE_SPECS,
    RUN_LEASES,
    UtcDateTime,
)
from conveyor.store.metadata.records import (
    ArtifactRecord,
    CacheHit,
    ExecutionDetail,
    RunDetail,
    RunRecord,
)

PIPELINE = CONTEXTS.alias("pipeline")
RUN_TYPE = CONTEXT_TYPES.alias("run_type")

_SUMMARY_KEYS = (
    "status",
    "parameters",
    "error",
    "ended_at",
    "origin",
    "display_name",
    "labels",
    "experiment",
)
"""The run properties a listing reads: never the spec, which may be large."""


def _runs() -> Select[Any]:
    """Run contexts with their pipeline's name."""
    return (
        select(
            CONTEXTS.c.id, CONTEXTS.c.name, CONTEXTS.c.created_at, PIPELINE.c.name.label("pipeline")
        )
        .join(RUN_TYPE, RUN_TYPE.c.id == CONTEXTS.c.type_id)
        .join(PIPELINE, PIPELINE.c.id == CONTEXTS.c.parent_id)
        .where(RUN_TYPE.c.name == PIPELINE_RUN)
    )


def list_runs(
    conn: Connection,
    pipeline: str | None,
    status: RunStatus | None,
    since: datetime | None,
    limit: int | None,
    experiment: str | None = None,
    labels: dict[str, str] | None = None,
    after: str | None = None,
) -> list[RunRecord]:
    query = _runs().add_columns(*(CONTEXTS.c.properties[k].label(k) for k in _SUMMARY_KEYS))
    if after is not None:
        mark = conn.execute(_runs().where(CONTEXTS.c.name == after)).first()
        if mark is None:
            raise NotFound(f"no run {after!r} to list the runs after")
        query = query.where(
            or_(
                CONTEXTS.c.created_at < mark.created_at,
                and_(CONTEXTS.c.created_at == mark.created_at, CONTEXTS.c.id < mark.id),
            )
        )
    if experiment is not None:
        query = query.where(CONTEXTS.c.properties["experiment"].as_string() == experiment)
    for key, value in (labels or {}).items():
        query = query.where(CONTEXTS.c.properties[("labels", key)].as_string() == value)
    if pipeline is not None:
        query = query.where(PIPELINE.c.name == pipeline)
    if status is not None:
        query = query.where(CONTEXTS.c.properties["status"].as_string() == status)
    if since is not None:
        query = query.where(CONTEXTS.c.created_at >= since)
    query = query.order_by(CONTEXTS.c.created_at.desc(), CONTEXTS.c.id.desc()).limit(limit)
    found = conn.execute(query).all()
    runners = leases.runners(conn, [r.id for r in found])
    return [
        RunRecord(
            **rows.run_fields(r.name, r.pipeline, dict(r._mapping), r.created_at, runners.get(r.id))
        )
        for r in found
    ]


def get_run(conn: Connection, run_id: str) -> RunDetail:
    found = conn.execute(
        _runs().add_columns(CONTEXTS.c.properties).where(CONTEXTS.c.name == run_id)
    ).first()
    digest = found.properties.get("spec_digest") if found is not None else None
    if found is None:
        raise NotFound(f"no run {run_id!r} in the metadata store; `conveyor runs list` shows runs")
    executions = rows.execution_details(conn, ASSOCIATIONS.c.context_id == found.id)
    return RunDetail(
        **rows.run_fields(
            run_id,
            found.pipeline,
            found.properties,
            found.created_at,
            leases.runners(conn, [found.id]).get(found.id),
        ),
        spec=conn.execute(_SPEC, {"digest": digest}).scalar() if digest else None,
        executions=executions,
    )


def run_status(conn: Connection, context_id: int) -> RunStatus:
    found = conn.execute(
        select(CONTEXTS.c.properties["status"].as_string()).where(CONTEXTS.c.id == context_id)
    )
    return RunStatus(found.scalar_one())


_SPEC = select(PIPELINE_SPECS.c.spec).where(PIPELINE_SPECS.c.digest == bindparam("digest"))


def _in_run(table: Any, column: str) -> Select[Any]:
    """Rows of `table` (joined to its run's associations by `column`) of the run in the
    outer query."""
    return (
        select()
        .select_from(ASSOCIATIONS.join(table, table.c[column] == ASSOCIATIONS.c.execution_id))
        .where(ASSOCIATIONS.c.context_id == CONTEXTS.c.id)
    )


_MARKER = (
    select(
        CONTEXTS.c.updated_at,
        _in_run(EXECUTIONS, "id").add_columns(func.count()).scalar_subquery(),
        _in_run(EXECUTIONS, "id").add_columns(func.count(EXECUTIONS.c.ended_at)).scalar_subquery(),
        _in_run(EVENTS, "execution_id").add_columns(func.count()).scalar_subquery(),
        select(func.max(ARTIFACTS.c.updated_at))
        .select_from(ATTRIBUTIONS.join(ARTIFACTS, ARTIFACTS.c.id == ATTRIBUTIONS.c.artifact_id))
        .where(ATTRIBUTIONS.c.context_id == CONTEXTS.c.id)
        .scalar_subquery(),
        RUN_LEASES.c.host,
        RUN_LEASES.c.pid,
        RUN_LEASES.c.pid_started,
        RUN_LEASES.c.heartbeat_at,
    )
    .join(RUN_TYPE, RUN_TYPE.c.id == CONTEXTS.c.type_id)
    .outerjoin(RUN_LEASES, RUN_LEASES.c.context_id == CONTEXTS.c.id)
    .where(RUN_TYPE.c.name == PIPELINE_RUN, CONTEXTS.c.name == bindparam("run_id"))
)


def run_marker(conn: Connection, run_id: str) -> tuple[Any, ...]:
    """What changes whenever the run as `get_run` shows it changes, read by one small
    statement: the run context's last update (status, error, end), how many executions
    it has and how many ended (every change of an execution starts or ends it), how many
    events they have (artifacts read and written), the last change of its artifacts, and
    whether a live runner holds its lease."""
    found = conn.execute(_MARKER, {"run_id": run_id}).first()
    if found is None:
        raise NotFound(f"no run {run_id!r} in the metadata store; `conveyor runs list` shows runs")
    counted = tuple(found[:5])
    if found.heartbeat_at is None:
        return (*counted, None)
    return (*counted, leases.alive(found, datetime.now(UTC)))


def execution_state(conn: Connection, execution_id: int) -> ExecutionState:
    found = conn.execute(select(EXECUTIONS.c.state).where(EXECUTIONS.c.id == execution_id)).scalar()
    if found is None:
        raise NotFound(f"no execution {execution_id} in the metadata store")
    return ExecutionState(found)


def live_artifact_ids(conn: Connection, type_name: str) -> list[int]:
    """The ids of the LIVE artifacts of type `type_name`, oldest first."""
    query = (
        select(ARTIFACTS.c.id)
        .join(ARTIFACT_TYPES, ARTIFACT_TYPES.c.id == ARTIFACTS.c.type_id)
        .where(ARTIFACT_TYPES.c.name == type_name, ARTIFACTS.c.state == ArtifactState.LIVE)
        .order_by(ARTIFACTS.c.id)
    )
    return list(conn.execute(query).scalars())


def get_artifact(conn: Connection, artifact_id: int) -> ArtifactRecord:
    found = conn.execute(rows.artifacts_select().where(ARTIFACTS.c.id == artifact_id)).first()
    if found is None:
        raise NotFound(f"no artifact {artifact_id} in the metadata store")
    return rows.artifact(found)


def _find_cached(with_age: bool, like_last_run: bool = False) -> Select[Any]:
    """The newest cache hit for a key: its id, output parameters, and whether it has output
    artifacts. `like_last_run`: the newest hit for every key the pipeline's last other run
    recorded, newest first within each key (what a pipeline run again looks up)."""
    outputs = select(EVENTS.c.id).where(
        EVENTS.c.execution_id == EXECUTIONS.c.id, EVENTS.c.type == EventType.OUTPUT
    )
    not_live = outputs.join(ARTIFACTS, ARTIFACTS.c.id == EVENTS.c.artifact_id).where(
        ARTIFACTS.c.state != ArtifactState.LIVE
    )
    found = (
        EXECUTIONS.c.id,
        EXECUTIONS.c.output_parameters,
        exists(outputs).label("has_outputs"),
    )
    query = (
        select(*found, EXECUTIONS.c.cache_key)
        .join(ASSOCIATIONS, ASSOCIATIONS.c.execution_id == EXECUTIONS.c.id)
        .join(CONTEXTS, CONTEXTS.c.id == ASSOCIATIONS.c.context_id)
        .join(PIPELINE, PIPELINE.c.id == CONTEXTS.c.parent_id)
        .where(
            text(COMPLETE_ONLY),  # word for word, so the cache-entry index serves it
            PIPELINE.c.name == bindparam("pipeline_name"),
            ~exists(not_live),
        )
    )
    if with_age:
        query = query.where(EXECUTIONS.c.ended_at >= bindparam("not_before", type_=UtcDateTime()))
    if not like_last_run:
        return (
            query.where(EXECUTIONS.c.cache_key == bindparam("cache_key"))
            .order_by(EXECUTIONS.c.ended_at.desc(), EXECUTIONS.c.id.desc())
            .limit(1)
        )
    return query.where(EXECUTIONS.c.cache_key.in_(_keys_of_last_run())).order_by(
        EXECUTIONS.c.cache_key, EXECUTIONS.c.ended_at.desc(), EXECUTIONS.c.id.desc()
    )


def _keys_of_last_run() -> Select[Any]:
    """The cache keys recorded by the latest run of the pipeline other than `run_id`."""
    run, pipeline = CONTEXTS.alias("last_run"), CONTEXTS.alias("its_pipeline")
    last_run = (
        select(run.c.id)
        .join(pipeline, pipeline.c.id == run.c.parent_id)
        .where(pipeline.c.name == bindparam("pipeline_name"), run.c.name != bindparam("run_id"))
        .order_by(run.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    recorded, member = EXECUTIONS.alias("recorded"), ASSOCIATIONS.alias("member")
    return (
        select(recorded.c.cache_key)
        .join(member, member.c.execution_id == recorded.c.id)
        .where(member.c.context_id == last_run, recorded.c.cache_key.is_not(None))
    )


_LOOKUPS = {
    (with_age, like_last_run): _find_cached(with_age, like_last_run)
    for with_age in (False, True)
    for like_last_run in (False, True)
}
_OUTPUTS_OF_ONE = (
    rows.events_select()
    .where(EVENTS.c.execution_id == bindparam("execution_id"), EVENTS.c.type == EventType.OUTPUT)
    .order_by(EVENTS.c.name, EVENTS.c.position)
)


def find_cached(
    conn: Connection, pipeline_name: str, cache_key: str, not_before: datetime | None
) -> CacheHit | None:
    """The latest COMPLETE execution with this key in this pipeline whose outputs are all LIVE."""
    found = driver.prepared(_LOOKUPS[not_before is not None, False], conn.dialect).first(
        conn,
        {"cache_key": cache_key, "pipeline_name": pipeline_name, "not_before": not_before},
    )
    return _hit(conn, found) if found is not None else None


def find_cached_like_last_run(
    conn: Connection, pipeline_name: str, run_id: str, not_before: datetime | None
) -> dict[str, CacheHit]:
    """`find_cached` for every key the pipeline's latest other run recorded, in one query."""
    found = driver.prepared(_LOOKUPS[not_before is not None, True], conn.dialect).all(
        conn, {"pipeline_name": pipeline_name, "run_id": run_id, "not_before": not_before}
    )
    hits: dict[str, CacheHit] = {}
    for row in found:
        if row.cache_key not in hits:  # the newest of its key
            hits[row.cache_key] = _hit(conn, row)
    return hits


def _hit(conn: Connection, found: Any) -> CacheHit:
    """A row of `_LOOKUPS` as a hit, with its output artifacts (read on the same path)."""
    outputs: dict[str, list[ArtifactRecord]] = {}
    if found.has_outputs:
        for row in driver.prepared(_OUTPUTS_OF_ONE, conn.dialect).all(
            conn, {"execution_id": found.id}
        ):
            outputs.setdefault(row.event_name, []).append(rows.artifact(row))
    return CacheHit(found.id, found.output_parameters, outputs)


def previous_execution(
    conn: Connection, pipeline_name: str, task_key: str, before: int | None
) -> ExecutionDetail | None:
    """The latest execution of `task_key` in a run of `pipeline_name`, older than `before`."""
    query = (
        rows.executions_select()
        .join(PIPELINE, PIPELINE.c.id == CONTEXTS.c.parent_id)
        .where(EXECUTIONS.c.task_key == task_key, PIPELINE.c.name == pipeline_name)
        .order_by(EXECUTIONS.c.id.desc())
        .limit(1)
    )
    if before is not None:
        query = query.where(EXECUTIONS.c.id < before)
    found = conn.execute(query).all()
    return rows.details(conn, found)[0] if found else None
