"""The prediction endpoints' tables: endpoints and the model versions deployed to them.

An endpoint (Vertex AI's `Endpoint`) is a named address that serves predictions; its
`generation` grows by one at every change (a deployment, an undeployment, a new traffic
split, a new logging rate), so that a running server notices changes made elsewhere with
one cheap query. A deployed model (Vertex AI's `DeployedModel`) serves one registered
model on one endpoint with a share of its traffic: pinned to a version (`alias` None), or
following an alias (`alias` set; `version` is the version that held it when deployed).
A shadow deployment (`shadow_of`, Conveyor's own, beyond Vertex AI) takes no traffic of
its own: it gets a copy of every request the deployed model it names answers, and its
answers are logged, never returned. An undeployed model keeps its row, with `undeployed_at`, so that the ids found in
prediction logs can still be looked up.

`conveyor.serving.endpoints` reads and writes these tables; migration `0003_endpoints`
creates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from conveyor.store.metadata.models import Base


class Endpoint(Base):
    __tablename__ = "endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]]
    log_sample_rate: Mapped[float | None] = mapped_column(Float)
    generation: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeployedModel(Base):
    """One model version (or alias) served by an endpoint, with its traffic percentage."""

    __tablename__ = "deployed_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str | None] = mapped_column(String(128))
    traffic: Mapped[int] = mapped_column(Integer)
    deployed_by: Mapped[str] = mapped_column(String(255))
    deployed_at: Mapped[datetime]
    undeployed_at: Mapped[datetime | None]
    shadow_of: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index(None, "model_name"),)
