"""The store's reads of runs, executions and artifacts, and the cache lookup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, exists, select, text
from sqlalchemy.orm import aliased

from conveyor.store.metadata import driver, leases, rows
from conveyor.store.metadata.errors import NotFound
from conveyor.store.metadata.kinds import (
    PIPELINE_RUN,
    ArtifactState,
    EventType,
    RunStatus,
)
from conveyor.store.metadata.models import (
    COMPLETE_ONLY,
    Artifact,
    ArtifactType,
    Association,
    Context,
    ContextType,
    Event,
    Execution,
    PipelineSpec,
    UtcDateTime,
)
from conveyor.store.metadata.records import (
    ArtifactRecord,
    CacheHit,
    ExecutionDetail,
    RunDetail,
    RunRecord,
)

Pipeline = aliased(Context, name="pipeline")
RunType = aliased(ContextType, name="run_type")

_SUMMARY_KEYS = ("status", "parameters", "error", "ended_at", "origin")
"""The run properties a listing reads: never the spec, which may be large."""


def _runs() -> Select[Any]:
    """Run contexts with their pipeline's name."""
    return (
        select(Context.id, Context.name, Context.created_at, Pipeline.name.label("pipeline"))
        .join(RunType, RunType.id == Context.type_id)
        .join(Pipeline, Pipeline.id == Context.parent_id)
        .where(RunType.name == PIPELINE_RUN)
    )


def list_runs(
    conn: Connection,
    pipeline: str | None,
    status: RunStatus | None,
    since: datetime | None,
    limit: int | None,
) -> list[RunRecord]:
    query = _runs().add_columns(*(Context.properties[k].label(k) for k in _SUMMARY_KEYS))
    if pipeline is not None:
        query = query.where(Pipeline.name == pipeline)
    if status is not None:
        query = query.where(Context.properties["status"].as_string() == status)
    if since is not None:
        query = query.where(Context.created_at >= since)
    query = query.order_by(Context.created_at.desc(), Context.id.desc()).limit(limit)
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
        _runs().add_columns(Context.properties).where(Context.name == run_id)
    ).first()
    digest = found.properties.get("spec_digest") if found is not None else None
    if found is None:
        raise NotFound(f"no run {run_id!r} in the metadata store; `conveyor runs list` shows runs")
    executions = rows.execution_details(conn, Association.context_id == found.id)
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
        select(Context.properties["status"].as_string()).where(Context.id == context_id)
    )
    return RunStatus(found.scalar_one())


_SPEC = select(PipelineSpec.spec).where(PipelineSpec.digest == bindparam("digest"))


def live_artifact_ids(conn: Connection, type_name: str) -> list[int]:
    """The ids of the LIVE artifacts of type `type_name`, oldest first."""
    query = (
        select(Artifact.id)
        .join(ArtifactType, ArtifactType.id == Artifact.type_id)
        .where(ArtifactType.name == type_name, Artifact.state == ArtifactState.LIVE)
        .order_by(Artifact.id)
    )
    return list(conn.execute(query).scalars())


def get_artifact(conn: Connection, artifact_id: int) -> ArtifactRecord:
    found = conn.execute(rows.artifacts_select().where(Artifact.id == artifact_id)).first()
    if found is None:
        raise NotFound(f"no artifact {artifact_id} in the metadata store")
    return rows.artifact(found)


def _find_cached(with_age: bool, like_last_run: bool = False) -> Select[Any]:
    """The newest cache hit for a key: its id, output parameters, and whether it has output
    artifacts. `like_last_run`: the newest hit for every key the pipeline's last other run
    recorded, newest first within each key (what a pipeline run again looks up)."""
    outputs = select(Event.id).where(
        Event.execution_id == Execution.id, Event.type == EventType.OUTPUT
    )
    not_live = outputs.join(Artifact, Artifact.id == Event.artifact_id).where(
        Artifact.state != ArtifactState.LIVE
    )
    found = (
        Execution.id,
        Execution.output_parameters,
        exists(outputs).label("has_outputs"),
    )
    query = (
        select(*found, Execution.cache_key)
        .join(Association, Association.execution_id == Execution.id)
        .join(Context, Context.id == Association.context_id)
        .join(Pipeline, Pipeline.id == Context.parent_id)
        .where(
            text(COMPLETE_ONLY),  # word for word, so the cache-entry index serves it
            Pipeline.name == bindparam("pipeline_name"),
            ~exists(not_live),
        )
    )
    if with_age:
        query = query.where(Execution.ended_at >= bindparam("not_before", type_=UtcDateTime()))
    if not like_last_run:
        return (
            query.where(Execution.cache_key == bindparam("cache_key"))
            .order_by(Execution.ended_at.desc(), Execution.id.desc())
            .limit(1)
        )
    return query.where(Execution.cache_key.in_(_keys_of_last_run())).order_by(
        Execution.cache_key, Execution.ended_at.desc(), Execution.id.desc()
    )


def _keys_of_last_run() -> Select[Any]:
    """The cache keys recorded by the latest run of the pipeline other than `run_id`."""
    run, pipeline = aliased(Context, name="last_run"), aliased(Context, name="its_pipeline")
    last_run = (
        select(run.id)
        .join(pipeline, pipeline.id == run.parent_id)
        .where(pipeline.name == bindparam("pipeline_name"), run.name != bindparam("run_id"))
        .order_by(run.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    recorded, member = aliased(Execution, name="recorded"), aliased(Association, name="member")
    return (
        select(recorded.cache_key)
        .join(member, member.execution_id == recorded.id)
        .where(member.context_id == last_run, recorded.cache_key.is_not(None))
    )


_LOOKUPS = {
    (with_age, like_last_run): _find_cached(with_age, like_last_run)
    for with_age in (False, True)
    for like_last_run in (False, True)
}
_OUTPUTS_OF_ONE = (
    rows.events_select()
    .where(Event.execution_id == bindparam("execution_id"), Event.type == EventType.OUTPUT)
    .order_by(Event.name, Event.position)
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
        .join(Pipeline, Pipeline.id == Context.parent_id)
        .where(Execution.task_key == task_key, Pipeline.name == pipeline_name)
        .order_by(Execution.id.desc())
        .limit(1)
    )
    if before is not None:
        query = query.where(Execution.id < before)
    found = conn.execute(query).all()
    return rows.details(conn, found)[0] if found else None
