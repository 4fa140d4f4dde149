"""SQL over experiments, their runs and the runs' time series, for `Experiments`.

Every function takes the connection of the caller's transaction. A write to a run locks its
context's row first (PostgreSQL; SQLite's writers take turns anyway), so that two processes
logging to one run never lose each other's values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from conveyor.experiments.errors import ExperimentNotFound, ExperimentRunNotFound
from conveyor.store.metadata.experiment_contexts import run_context_name
from conveyor.store.metadata.experiment_models import TIME_SERIES
from conveyor.store.metadata.kinds import (
    EXPERIMENT,
    EXPERIMENT_RUN,
    PIPELINE_RUN,
    ArtifactState,
)
from conveyor.store.metadata.mlmd_tables import (
    ARTIFACT_TYPES,
    ARTIFACTS,
    ATTRIBUTIONS,
    CONTEXT_TYPES,
    CONTEXTS,
)
from conveyor.store.metadata.recording import get_or_create, now
from conveyor.store.metadata.rows import chunks


def context_types(conn: Connection) -> tuple[int, int]:
    """The ids of the context types `system.Experiment` and `system.ExperimentRun`."""
    return (
        get_or_create(conn, CONTEXT_TYPES, {"name": EXPERIMENT}),
        get_or_create(conn, CONTEXT_TYPES, {"name": EXPERIMENT_RUN}),
    )


def existing_context_types(conn: Connection) -> tuple[int, int] | None:
    """`context_types` if both exist already, else None (nothing is written)."""
    found = dict(
        conn.execute(
            select(CONTEXT_TYPES.c.name, CONTEXT_TYPES.c.id).where(
                CONTEXT_TYPES.c.name.in_((EXPERIMENT, EXPERIMENT_RUN))
            )
        ).all()
    )
    if len(found) < 2:
        return None
    return found[EXPERIMENT], found[EXPERIMENT_RUN]


def experiment_row(conn: Connection, type_id: int, name: str) -> Row[Any]:
    row = conn.execute(
        select(CONTEXTS).where(CONTEXTS.c.type_id == type_id, CONTEXTS.c.name == name)
    ).first()
    if row is None:
        raise ExperimentNotFound(
            f"no experiment {name!r}; `conveyor experiments list` shows the experiments, and "
            f"`conveyor.init(experiment={name!r})` makes it"
        )
    return row


def experiment_rows(conn: Connection, type_id: int, run_type: int) -> list[Row[Any]]:
    """Every experiment, by name, with its number of runs (`run_count`)."""
    runs = CONTEXTS.alias("runs")
    counted = (
        select(runs.c.parent_id, func.count().label("run_count"))
        .where(runs.c.type_id == run_type)
        .group_by(runs.c.parent_id)
        .subquery()
    )
    return list(
        conn.execute(
            select(CONTEXTS, func.coalesce(counted.c.run_count, 0).label("run_count"))
            .outerjoin(counted, counted.c.parent_id == CONTEXTS.c.id)
            .where(CONTEXTS.c.type_id == type_id)
            .order_by(CONTEXTS.c.name)
        )
    )


def run_count(conn: Connection, run_type: int, experiment_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(CONTEXTS)
        .where(CONTEXTS.c.type_id == run_type, CONTEXTS.c.parent_id == experiment_id)
    ).scalar_one()


def run_row(
    conn: Connection, run_type: int, experiment: str, run: str, *, lock: bool = False
) -> Row[Any]:
    query = select(CONTEXTS).where(
        CONTEXTS.c.type_id == run_type, CONTEXTS.c.name == run_context_name(experiment, run)
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or row.properties.get("experiment") != experiment:
        raise ExperimentRunNotFound(
            f"experiment {experiment!r} has no run {run!r}; `conveyor experiments show "
            f"{experiment}` lists its runs"
        )
    return row


def run_rows(conn: Connection, run_type: int, experiment_ids: Sequence[int]) -> list[Row[Any]]:
    """The runs of these experiments, oldest first."""
    return list(
        conn.execute(
            select(CONTEXTS)
            .where(CONTEXTS.c.type_id == run_type, CONTEXTS.c.parent_id.in_(experiment_ids))
            .order_by(CONTEXTS.c.created_at, CONTEXTS.c.id)
        )
    )


def set_properties(
    conn: Connection, context_id: int, properties: dict[str, Any], stamp: Any
) -> None:
    conn.execute(
        update(CONTEXTS)
        .where(CONTEXTS.c.id == context_id)
        .values(properties=properties, updated_at=stamp)
    )


def add_points(conn: Connection, points: list[dict[str, Any]]) -> None:
    """Insert time-series points (`run_id`, `key`, `step`, `wall_time`, `value`) at once."""
    if points:
        conn.execute(insert(TIME_SERIES), points)


def points(
    conn: Connection,
    run_id: int,
    keys: Sequence[str] | None,
    first_step: int | None,
    last_step: int | None,
) -> list[Row[Any]]:
    """Points of one run, by key then step (then the order they were logged in)."""
    query = select(
        TIME_SERIES.c.key, TIME_SERIES.c.step, TIME_SERIES.c.value, TIME_SERIES.c.wall_time
    ).where(TIME_SERIES.c.run_id == run_id)
    if keys is not None:
        query = query.where(TIME_SERIES.c.key.in_(keys))
    if first_step is not None:
        query = query.where(TIME_SERIES.c.step >= first_step)
    if last_step is not None:
        query = query.where(TIME_SERIES.c.step <= last_step)
    order = (TIME_SERIES.c.key, TIME_SERIES.c.step, TIME_SERIES.c.id)
    return list(conn.execute(query.order_by(*order)))


def delete_runs(conn: Connection, context_ids: Sequence[int]) -> None:
    """Remove runs with their points; the artifacts they logged stay, out of the runs."""
    for batch in chunks(context_ids):
        conn.execute(delete(TIME_SERIES).where(TIME_SERIES.c.run_id.in_(batch)))
        conn.execute(delete(ATTRIBUTIONS).where(ATTRIBUTIONS.c.context_id.in_(batch)))
        conn.execute(delete(CONTEXTS).where(CONTEXTS.c.id.in_(batch)))


def delete_context(conn: Connection, context_id: int) -> None:
    conn.execute(delete(CONTEXTS).where(CONTEXTS.c.id == context_id))


def attribute(conn: Connection, context_id: int, artifact_id: int) -> None:
    conn.execute(insert(ATTRIBUTIONS).values(context_id=context_id, artifact_id=artifact_id))


def add_artifact(
    conn: Connection,
    type_id: int,
    name: str,
    metadata: dict[str, Any],
    *,
    uri: str = "",
    state: ArtifactState = ArtifactState.LIVE,
) -> int:
    """Record a LIVE artifact whose content is its metadata (no bytes, an empty URI), or
    one at `uri` in `state`; its id."""
    stamp = now()
    return conn.execute(
        insert(ARTIFACTS)
        .values(
            type_id=type_id,
            uri=uri,
            name=name,
            state=state,
            metadata=metadata,
            created_at=stamp,
            updated_at=stamp,
        )
        .returning(ARTIFACTS.c.id)
    ).scalar_one()


def update_artifact(conn: Connection, artifact_id: int, **values: Any) -> None:
    """Change an artifact's columns (`uri`, `state`, `metadata`); `updated_at` is now."""
    conn.execute(
        update(ARTIFACTS).where(ARTIFACTS.c.id == artifact_id).values(**values, updated_at=now())
    )


def artifacts_of_type(
    conn: Connection,
    type_name: str,
    *,
    ids: Iterable[int] | None = None,
    context_ids: Iterable[int] | None = None,
    lock: bool = False,
) -> list[Row[Any]]:
    """The artifacts of one type in any state (`id`, `uri`, `name`, `state`, `metadata`,
    `created_at`, `updated_at`), oldest first: all of them, those of these `ids`, or those
    attributed to these contexts; `lock` holds their rows for an update."""
    query = (
        select(
            ARTIFACTS.c.id,
            ARTIFACTS.c.uri,
            ARTIFACTS.c.name,
            ARTIFACTS.c.state,
            ARTIFACTS.c.metadata,
            ARTIFACTS.c.created_at,
            ARTIFACTS.c.updated_at,
        )
        .join(ARTIFACT_TYPES, ARTIFACT_TYPES.c.id == ARTIFACTS.c.type_id)
        .where(ARTIFACT_TYPES.c.name == type_name)
    )
    if lock:
        query = query.with_for_update(of=ARTIFACTS)
    if ids is None and context_ids is None:
        return list(conn.execute(query.order_by(ARTIFACTS.c.id)))
    found: dict[int, Row[Any]] = {}
    if ids is not None:
        for batch in chunks(set(ids)):
            found.update(
                (row.id, row) for row in conn.execute(query.where(ARTIFACTS.c.id.in_(batch)))
            )
    if context_ids is not None:
        attributed_to = select(ATTRIBUTIONS.c.artifact_id)
        for batch in chunks(set(context_ids)):
            inside = ARTIFACTS.c.id.in_(attributed_to.where(ATTRIBUTIONS.c.context_id.in_(batch)))
            found.update((row.id, row) for row in conn.execute(query.where(inside)))
    return [found[key] for key in sorted(found)]


def attribute_once(conn: Connection, context_id: int, artifact_id: int) -> None:
    """Attribute an artifact to a context, unless it is already."""
    taken = conn.execute(
        select(ATTRIBUTIONS.c.artifact_id).where(
            ATTRIBUTIONS.c.context_id == context_id, ATTRIBUTIONS.c.artifact_id == artifact_id
        )
    ).first()
    if taken is None:
        attribute(conn, context_id, artifact_id)


def contexts_by_id(conn: Connection, type_id: int, context_ids: Iterable[int]) -> list[Row[Any]]:
    """The contexts of type `type_id` among these ids (the others are left out), by id."""
    found: list[Row[Any]] = []
    for batch in chunks(set(context_ids)):
        query = select(CONTEXTS).where(CONTEXTS.c.type_id == type_id, CONTEXTS.c.id.in_(batch))
        found.extend(conn.execute(query))
    return sorted(found, key=lambda row: row.id)


def pipeline_runs(conn: Connection, run_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """The pipeline runs of these ids (their context `id`, `name`, `properties`), by id."""
    found: dict[str, Row[Any]] = {}
    for batch in chunks(set(run_ids)):
        query = (
            select(CONTEXTS.c.id, CONTEXTS.c.name, CONTEXTS.c.properties)
            .join(CONTEXT_TYPES, CONTEXT_TYPES.c.id == CONTEXTS.c.type_id)
            .where(CONTEXT_TYPES.c.name == PIPELINE_RUN, CONTEXTS.c.name.in_(batch))
        )
        found.update((row.name, row) for row in conn.execute(query))
    return found


def attributed(
    conn: Connection, context_ids: Iterable[int], type_names: Sequence[str]
) -> list[Row[Any]]:
    """The LIVE artifacts of these types in these contexts (`context_id`, `id`, `type_name`,
    `name`, `metadata`), oldest first."""
    found: list[Row[Any]] = []
    for batch in chunks(set(context_ids)):
        query = (
            select(
                ATTRIBUTIONS.c.context_id,
                ARTIFACTS.c.id,
                ARTIFACTS.c.name,
                ARTIFACTS.c.metadata,
                ARTIFACT_TYPES.c.name.label("type_name"),
            )
            .join(ARTIFACTS, ARTIFACTS.c.id == ATTRIBUTIONS.c.artifact_id)
            .join(ARTIFACT_TYPES, ARTIFACT_TYPES.c.id == ARTIFACTS.c.type_id)
            .where(
                ATTRIBUTIONS.c.context_id.in_(batch),
                ARTIFACT_TYPES.c.name.in_(type_names),
                ARTIFACTS.c.state == ArtifactState.LIVE,
            )
        )
        found.extend(conn.execute(query))
    return sorted(found, key=lambda row: row.id)
