"""SQL over the pipeline registry's tables (`conveyor.store.metadata.automation_models`), for
`PipelineRegistry`.

Every function takes the connection of the caller's transaction; writes to one pipeline take
turns by locking its row first (PostgreSQL; SQLite writers take turns anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from conveyor.automation.errors import PipelineNotFound
from conveyor.automation.records import PipelineVersionRecord, RegisteredPipelineRecord
from conveyor.store.metadata.automation_models import (
    PipelineTag,
    PipelineVersion,
    RegisteredPipeline,
)
from conveyor.store.metadata.recording import insert_ignore, now

PIPELINES = RegisteredPipeline.__table__
VERSIONS = PipelineVersion.__table__
TAGS = PipelineTag.__table__


def find_pipeline(conn: Connection, name: str, *, lock: bool = False) -> Row[Any] | None:
    query = select(PIPELINES).where(PIPELINES.c.name == name)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def pipeline_row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    row = find_pipeline(conn, name, lock=lock)
    if row is None:
        raise PipelineNotFound(
            f"no pipeline {name!r}; `conveyor pipelines list` shows the pipelines, and "
            f"`conveyor pipelines upload {name} TARGET` registers it"
        )
    return row


def pipeline_rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(PIPELINES).order_by(PIPELINES.c.name)))


def create_pipeline(conn: Connection, name: str, description: str | None, user: str) -> Row[Any]:
    """The pipeline `name`, inserted unless another writer got there first, and locked."""
    stamp = now()
    row = {
        "name": name,
        "description": description,
        "last_version": 0,
        "created_by": user,
        "created_at": stamp,
        "updated_at": stamp,
    }
    insert_ignore(conn, PIPELINES, [row])
    return pipeline_row(conn, name, lock=True)


def update_pipeline(conn: Connection, pipeline_id: int, **values: Any) -> None:
    conn.execute(
        update(PIPELINES).where(PIPELINES.c.id == pipeline_id).values(**values, updated_at=now())
    )


def latest_versions(conn: Connection) -> dict[int, int]:
    """The highest version number of each pipeline that has a version, by pipeline id."""
    query = select(VERSIONS.c.pipeline_id, func.max(VERSIONS.c.version)).group_by(
        VERSIONS.c.pipeline_id
    )
    return {pipeline_id: latest for pipeline_id, latest in conn.execute(query)}


def latest_version(conn: Connection, pipeline_id: int) -> Row[Any] | None:
    query = (
        select(VERSIONS)
        .where(VERSIONS.c.pipeline_id == pipeline_id)
        .order_by(VERSIONS.c.version.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def version_row(conn: Connection, pipeline_id: int, version: int) -> Row[Any] | None:
    query = select(VERSIONS).where(
        VERSIONS.c.pipeline_id == pipeline_id, VERSIONS.c.version == version
    )
    return conn.execute(query).first()


def version_rows(conn: Connection, pipeline_id: int) -> list[Row[Any]]:
    """The versions of a pipeline, newest first."""
    query = (
        select(VERSIONS)
        .where(VERSIONS.c.pipeline_id == pipeline_id)
        .order_by(VERSIONS.c.version.desc())
    )
    return list(conn.execute(query))


def insert_version(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(VERSIONS).values(**values, created_at=now()))


def delete_version(conn: Connection, pipeline_id: int, version: int) -> None:
    """Delete a version and the tags naming it."""
    conn.execute(delete(TAGS).where(TAGS.c.pipeline_id == pipeline_id, TAGS.c.version == version))
    conn.execute(
        delete(VERSIONS).where(VERSIONS.c.pipeline_id == pipeline_id, VERSIONS.c.version == version)
    )


def delete_pipeline(conn: Connection, pipeline_id: int) -> None:
    """Delete a pipeline with its versions and tags; the specs stay (runs share them)."""
    conn.execute(delete(TAGS).where(TAGS.c.pipeline_id == pipeline_id))
    conn.execute(delete(VERSIONS).where(VERSIONS.c.pipeline_id == pipeline_id))
    conn.execute(delete(PIPELINES).where(PIPELINES.c.id == pipeline_id))


def tags_of(conn: Connection, pipeline_id: int) -> dict[str, int]:
    """Each tag of a pipeline and the version it names, by tag."""
    query = (
        select(TAGS.c.tag, TAGS.c.version)
        .where(TAGS.c.pipeline_id == pipeline_id)
        .order_by(TAGS.c.tag)
    )
    return {tag: version for tag, version in conn.execute(query)}


def all_tags(conn: Connection) -> dict[int, dict[str, int]]:
    """`tags_of` every pipeline, by pipeline id."""
    found: dict[int, dict[str, int]] = {}
    for pipeline_id, tag, version in conn.execute(
        select(TAGS.c.pipeline_id, TAGS.c.tag, TAGS.c.version).order_by(TAGS.c.tag)
    ):
        found.setdefault(pipeline_id, {})[tag] = version
    return found


def set_tag(conn: Connection, pipeline_id: int, tag: str, version: int) -> None:
    """Put `tag` on `version`, moving it from the version holding it."""
    stamp = now()
    moved = conn.execute(
        update(TAGS)
        .where(TAGS.c.pipeline_id == pipeline_id, TAGS.c.tag == tag)
        .values(version=version, updated_at=stamp)
    )
    if moved.rowcount == 0:
        conn.execute(
            insert(TAGS).values(pipeline_id=pipeline_id, tag=tag, version=version, updated_at=stamp)
        )


def delete_tag(conn: Connection, pipeline_id: int, tag: str) -> bool:
    """Take `tag` off; whether the pipeline had it."""
    done = conn.execute(delete(TAGS).where(TAGS.c.pipeline_id == pipeline_id, TAGS.c.tag == tag))
    return done.rowcount > 0


def pipeline_record(
    row: Row[Any], latest: int | None, tags: dict[str, int]
) -> RegisteredPipelineRecord:
    return RegisteredPipelineRecord(
        name=row.name,
        description=row.description,
        latest_version=latest,
        tags=tags,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def version_record(
    name: str, row: Row[Any], tags: Mapping[str, int], *, created: bool = False
) -> PipelineVersionRecord:
    """A version as a record, with the tags (of its pipeline's `tags`) naming it."""
    return PipelineVersionRecord(
        pipeline=name,
        version=row.version,
        spec_digest=row.spec_digest,
        description=row.description,
        default_parameters=row.default_parameters,
        source=row.source,
        tags=sorted(t for t, v in tags.items() if v == row.version),
        created_by=row.created_by,
        created_at=row.created_at,
        created=created,
    )
