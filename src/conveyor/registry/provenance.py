"""A version's links into the metadata store: its model artifact, and the run and execution
that produced it (lineage).

The artifact is the store's LIVE record at the version's URI whose sha256 is the
one just computed: what a pipeline's task published. When there is none (a
model saved by hand, or changed since), the registry records one, of type
`system.Model`, LIVE, with that sha256 and size, so every version has an
artifact that lineage queries can start from.

Unless the caller names them, the run and execution are those that wrote the
artifact (its first OUTPUT event; later ones are cache hits reusing it). A
named run or execution must exist, and an execution must belong to the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from conveyor.registry.errors import RegistryUsageError
from conveyor.store.artifacts.digest import Digest
from conveyor.store.metadata.errors import NotFound
from conveyor.store.metadata.kinds import PIPELINE_RUN, ArtifactState, EventType
from conveyor.store.metadata.models import (
    Artifact,
    ArtifactType,
    Association,
    Context,
    ContextType,
    Event,
)
from conveyor.store.metadata.recording import create_artifact, get_or_create, set_artifact

MODEL_TYPE = "system.Model"
_PENDING = frozenset({ArtifactState.PENDING})


@dataclass(frozen=True)
class Provenance:
    artifact_id: int
    run_id: str | None
    execution_id: int | None


def link(
    conn: Connection,
    uri: str,
    digest: Digest,
    name: str,
    run_id: str | None,
    execution_id: int | None,
) -> Provenance:
    """The store artifact for `uri` (found or recorded) and the run and execution behind it."""
    if execution_id is not None:
        run_id = _execution_run(conn, execution_id, run_id)
    elif run_id is not None:
        check_run(conn, run_id)
    artifact_id = _live_artifact(conn, uri, digest.sha256)
    if artifact_id is None:
        artifact_id = _record_artifact(conn, uri, digest, name)
    elif execution_id is None:
        producer = _producer(conn, artifact_id)
        if producer is not None and run_id in (None, producer.run_id):
            run_id, execution_id = producer.run_id, producer.execution_id
    return Provenance(artifact_id, run_id, execution_id)


def check_run(conn: Connection, run_id: str) -> None:
    found = conn.execute(
        select(Context.id)
        .join(ContextType, ContextType.id == Context.type_id)
        .where(ContextType.name == PIPELINE_RUN, Context.name == run_id)
    ).first()
    if found is None:
        raise NotFound(
            f"no run {run_id!r} in the metadata store; `conveyor runs list` shows runs "
            "(leave the run out if the model was not trained by a pipeline run)"
        )


def _execution_run(conn: Connection, execution_id: int, run_id: str | None) -> str:
    found = conn.execute(
        select(Context.name)
        .join(Association, Association.context_id == Context.id)
        .where(Association.execution_id == execution_id)
    ).scalar()
    if found is None:
        raise NotFound(f"no execution {execution_id} in the metadata store")
    if run_id is not None and run_id != found:
        raise RegistryUsageError(
            f"execution {execution_id} belongs to run {found!r}, not {run_id!r}; "
            "name the run the execution belongs to, or leave the run out"
        )
    return found


def _live_artifact(conn: Connection, uri: str, sha256: str) -> int | None:
    return conn.execute(
        select(Artifact.id)
        .where(Artifact.uri == uri, Artifact.state == ArtifactState.LIVE, Artifact.sha256 == sha256)
        .order_by(Artifact.id.desc())
        .limit(1)
    ).scalar()


def _record_artifact(conn: Connection, uri: str, digest: Digest, name: str) -> int:
    type_id = get_or_create(conn, ArtifactType.__table__, {"name": MODEL_TYPE})
    values: dict[str, Any] = {
        "type_id": type_id,
        "uri": uri,
        "name": name,
        "metadata": {},
        "sha256": None,
        "size": None,
    }
    artifact_id = create_artifact(conn, values, None, 0)
    set_artifact(
        conn,
        artifact_id,
        _PENDING,
        state=ArtifactState.LIVE,
        sha256=digest.sha256,
        size=digest.size,
    )
    return artifact_id


@dataclass(frozen=True)
class _Producer:
    run_id: str
    execution_id: int


def _producer(conn: Connection, artifact_id: int) -> _Producer | None:
    found: Row[Any] | None = conn.execute(
        select(Event.execution_id, Context.name)
        .join(Association, Association.execution_id == Event.execution_id)
        .join(Context, Context.id == Association.context_id)
        .where(Event.artifact_id == artifact_id, Event.type == EventType.OUTPUT)
        .order_by(Event.id)
        .limit(1)
    ).first()
    return _Producer(found.name, found.execution_id) if found is not None else None
