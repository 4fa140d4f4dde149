"""The model registry's tables: models, their versions, aliases, evaluations and history.

A registered model owns numbered versions (1, 2, ...; `last_version` remembers
the highest number ever given, so a deleted version's number is never reused).
A version records where its artifact lives, the sha256 of each of its files,
and, when known, the store artifact, run and execution it came from (and, for a
version promoted from another environment, its `origin` there). An alias
names one version of a model; evaluations hang off a version. The history is
append-only and keyed by the model's name, not its row, so it outlives a
deleted model.

`conveyor.registry` reads and writes these tables; migration `0002_registry`
creates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from conveyor.store.metadata.models import Base, Json


class RegisteredModel(Base):
    __tablename__ = "registered_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]]
    last_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ModelVersion(Base):
    """One version; `files` lists {path, size, sha256} of every file of the artifact."""

    __tablename__ = "model_versions"
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]]
    framework: Mapped[str] = mapped_column(String(32))
    artifact_uri: Mapped[str] = mapped_column(Text)
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    input_schema: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    output_schema: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    trusted: Mapped[bool] = mapped_column(Boolean)
    run_id: Mapped[str | None] = mapped_column(String(255))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))
    origin: Mapped[dict[str, Any] | None] = mapped_column(Json)
    """Where a promoted version came from: environment, model, version, run, sha256..."""
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ModelAlias(Base):
    """An alias of a model and the version that holds it; the key makes it unique per model."""

    __tablename__ = "model_aliases"
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"], ["model_versions.model_id", "model_versions.version"]
        ),
        Index(None, "model_id", "version"),
    )


class ModelEvaluation(Base):
    """Metrics of a version, over all data or one slice of it (`slice`: feature -> value)."""

    __tablename__ = "model_evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]]
    slice: Mapped[dict[str, Any] | None]
    run_id: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"], ["model_versions.model_id", "model_versions.version"]
        ),
        Index(None, "model_id", "version"),
    )


class ModelHistory(Base):
    """One change to a model, appended, never updated; `id` gives the order."""

    __tablename__ = "model_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)
    alias: Mapped[str | None] = mapped_column(String(128))
    previous_version: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "model_name", "id"),)
