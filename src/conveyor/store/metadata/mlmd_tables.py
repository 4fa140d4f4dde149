"""The tables of the ML Metadata model, as SQLAlchemy Core `Table`s in the store's one
`MetaData`.

Types name what a node is (`system.Model`, `system.ContainerExecution`,
`system.PipelineRun`). Artifacts are data, executions are the steps that read
and write them, and events are the edges between the two: an INPUT or OUTPUT
with the input or output name and the position in an artifact list. Contexts
group nodes: a pipeline, and a pipeline run whose parent is its pipeline;
attributions put artifacts in a context, associations put executions in one.
A run names its compiled pipeline spec by digest: specs are stored once.

The store reads and writes them with Core statements, so that `conveyor run` never
imports the ORM (a tenth of a second at every command); `models.py` maps its classes
onto these same tables for the layers above. The migrations in `migrations/versions`
create them; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""Every table of the store joins it: these, and those the other layers declare on
`models.Base` (`tables.py` gathers them all)."""

COMPLETE_ONLY = "state = 'COMPLETE'"
"""The condition of the cache-entry index (`tables.CACHE_ENTRIES`); a query names it word
for word to use the index."""


class _Jsonb(TypeDecorator[Any]):
    """PostgreSQL's JSONB, its dialect imported when a PostgreSQL store first uses it:
    importing it costs every command on SQLite a few hundredths of a second."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        from sqlalchemy.dialects.postgresql import JSONB

        return dialect.type_descriptor(JSONB())


Json = JSON().with_variant(_Jsonb(), "postgresql")
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


def _type_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False, unique=True),
    )


ARTIFACT_TYPES = _type_table("artifact_types")
EXECUTION_TYPES = _type_table("execution_types")
CONTEXT_TYPES = _type_table("context_types")

CONTEXTS = Table(
    "contexts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("type_id", Integer, ForeignKey("context_types.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("parent_id", Integer, ForeignKey("contexts.id")),
    Column("properties", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("type_id", "name"),
    Index(None, "type_id", "created_at"),
    Index(None, "parent_id", "created_at"),
)
"""A pipeline (named after it) or a pipeline run (named by its run id)."""

PIPELINE_SPECS = Table(
    "pipeline_specs",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("spec", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
"""A compiled pipeline spec, stored once however many runs use it; runs name it by digest."""

ARTIFACTS = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("type_id", Integer, ForeignKey("artifact_types.id"), nullable=False),
    Column("uri", Text, nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("metadata", Json, nullable=False),
    Column("sha256", String(64)),
    Column("size", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

EXECUTIONS = Table(
    "executions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("type_id", Integer, ForeignKey("execution_types.id"), nullable=False),
    Column("task_key", String(1024), nullable=False),
    Column("name", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("input_parameters", Json, nullable=False),
    Column("output_parameters", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("log_uri", Text),
    Column("error", Text),
    Column("cache_key", String(255)),
    Column("cache_key_parts", Json),
    Column("cached_from_id", Integer, ForeignKey("executions.id")),
    Index(None, "task_key", "id"),
)
"""One task of a run; `task_key` is its path in the run, like `for-loop-2[3]/train`. Its
index of cache entries is `tables.CACHE_ENTRIES`."""

EVENTS = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("execution_id", Integer, ForeignKey("executions.id"), nullable=False),
    Column("artifact_id", Integer, ForeignKey("artifacts.id"), nullable=False),
    Column("type", String(8), nullable=False),
    Column("name", String(255), nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("execution_id", "type", "name", "position"),
    Index(None, "artifact_id", "type"),
)
"""An artifact read (INPUT) or written (OUTPUT) by an execution under a name."""

ATTRIBUTIONS = Table(
    "attributions",
    metadata,
    Column("context_id", Integer, ForeignKey("contexts.id"), primary_key=True),
    Column("artifact_id", Integer, ForeignKey("artifacts.id"), primary_key=True, index=True),
)
"""An artifact belongs to a context (the run that wrote or reused it)."""

ASSOCIATIONS = Table(
    "associations",
    metadata,
    Column("context_id", Integer, ForeignKey("contexts.id"), primary_key=True),
    Column("execution_id", Integer, ForeignKey("executions.id"), primary_key=True, index=True),
)
"""An execution belongs to a context (its run)."""

RUN_LEASES = Table(
    "run_leases",
    metadata,
    Column("context_id", Integer, ForeignKey("contexts.id"), primary_key=True),
    Column("owner", String(32), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_started", Double, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
)
"""Who is running a run now: the runner process holds the lease and renews it.

A run is RUNNING in its properties from start to end; its lease says whether
a live process stands behind that, and carries a cancel request from another
process to the runner.
"""
