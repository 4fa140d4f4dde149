"""The tables of the ML Metadata model (`mlmd_tables.py`) as SQLAlchemy 2 mappings, and the
`Base` that the other layers' tables declare on.

The store itself reads and writes the Core tables, without the ORM; the layers above
(the registry, model monitoring) query through these classes' attributes, and declare
their own tables on `Base`, in the same `MetaData`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase

from conveyor.store.metadata import mlmd_tables
from conveyor.store.metadata.mlmd_tables import Json, UtcDateTime


class Base(DeclarativeBase):
    metadata = mlmd_tables.metadata
    type_annotation_map = {dict[str, Any]: Json, datetime: UtcDateTime}


class ArtifactType(Base):
    __table__ = mlmd_tables.ARTIFACT_TYPES


class ExecutionType(Base):
    __table__ = mlmd_tables.EXECUTION_TYPES


class ContextType(Base):
    __table__ = mlmd_tables.CONTEXT_TYPES


class Context(Base):
    __table__ = mlmd_tables.CONTEXTS


class PipelineSpec(Base):
    __table__ = mlmd_tables.PIPELINE_SPECS


class Artifact(Base):
    __table__ = mlmd_tables.ARTIFACTS
    metadata_ = mlmd_tables.ARTIFACTS.c.metadata
    """The column `metadata`: Declarative keeps that name for `Base.metadata`."""


class Execution(Base):
    __table__ = mlmd_tables.EXECUTIONS


class Event(Base):
    __table__ = mlmd_tables.EVENTS


class Attribution(Base):
    __table__ = mlmd_tables.ATTRIBUTIONS


class Association(Base):
    __table__ = mlmd_tables.ASSOCIATIONS


class RunLease(Base):
    __table__ = mlmd_tables.RUN_LEASES


__all__ = [
    "Artifact",
    "ArtifactType",
    "Association",
    "Attribution",
    "Base",
    "Context",
    "ContextType",
    "Event",
    "Execution",
    "ExecutionType",
    "Json",
    "PipelineSpec",
    "RunLease",
    "UtcDateTime",
]
