"""The tables of the ML Metadata model, as SQLAlchemy 2 mappings.

Types name what a node is (`system.Model`, `system.ContainerExecution`,
`system.PipelineRun`). Artifacts are data, executions are the steps that read
and write them, and events are the edges between the two: an INPUT or OUTPUT
with the input or output name and the position in an artifact list. Contexts
group nodes: a pipeline, and a pipeline run whose parent is its pipeline;
attributions put artifacts in a context, associations put executions in one.
A run names its compiled pipeline spec by digest: specs are stored once.

The migrations in `migrations/versions` create these tables; a test checks
that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Json = JSON().with_variant(JSONB(), "postgresql")
COMPLETE_ONLY = "state = 'COMPLETE'"
"""The condition of the cache-entry index; a query names it word for word to use the index."""
"""JSON everywhere, stored as JSONB on PostgreSQL."""


class UtcDateTime(TypeDecorator[datetime]):
    """Times in UTC: aware datetimes out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        # SQLite keeps text: store naive UTC so that comparisons sort by time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {dict[str, Any]: Json, datetime: UtcDateTime}


class ArtifactType(Base):
    __tablename__ = "artifact_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ExecutionType(Base):
    __tablename__ = "execution_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ContextType(Base):
    __tablename__ = "context_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Context(Base):
    """A pipeline (named after it) or a pipeline run (named by its run id)."""

    __tablename__ = "contexts"
    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("context_types.id"))
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id"))
    properties: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("type_id", "name"),
        Index(None, "type_id", "created_at"),
        Index(None, "parent_id", "created_at"),
    )


class PipelineSpec(Base):
    """A compiled pipeline spec, stored once however many runs use it; runs name it by digest."""

    __tablename__ = "pipeline_specs"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Artifact(Base):
    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("artifact_types.id"))
    uri: Mapped[str] = mapped_column(Text, index=True)
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Execution(Base):
    """One task of a run; `task_key` is its path in the run, like `for-loop-2[3]/train`."""

    __tablename__ = "executions"
    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("execution_types.id"))
    task_key: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32))
    input_parameters: Mapped[dict[str, Any]]
    output_parameters: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    log_uri: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    cache_key: Mapped[str | None] = mapped_column(String(255))
    cache_key_parts: Mapped[dict[str, Any] | None]
    cached_from_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))

    __table_args__ = (
        # Cache entries only: CACHED rows (most of them, in continuous training) stay out.
        Index(
            "ix_executions_cache_entries",
            "cache_key",
            "ended_at",
            sqlite_where=text(COMPLETE_ONLY),
            postgresql_where=text(COMPLETE_ONLY),
        ),
        Index(None, "task_key", "id"),
    )


class Event(Base):
    """An artifact read (INPUT) or written (OUTPUT) by an execution under a name."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"))
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    type: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("execution_id", "type", "name", "position"),
        Index(None, "artifact_id", "type"),
    )


class Attribution(Base):
    """An artifact belongs to a context (the run that wrote or reused it)."""

    __tablename__ = "attributions"
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), primary_key=True)
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifacts.id"), primary_key=True, index=True
    )


class Association(Base):
    """An execution belongs to a context (its run)."""

    __tablename__ = "associations"
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), primary_key=True)
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id"), primary_key=True, index=True
    )


class RunLease(Base):
    """Who is running a run now: the runner process holds the lease and renews it.

    A run is RUNNING in its properties from start to end; its lease says whether
    a live process stands behind that, and carries a cancel request from another
    process to the runner.
    """

    __tablename__ = "run_leases"
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    pid_started: Mapped[float]
    heartbeat_at: Mapped[datetime]
    cancel_requested: Mapped[bool]
