"""Every table of the metadata store in one `MetaData`: the store's own, the registry's, the
endpoints', model monitoring's and automation's. Migrations are compared against it (`migrations/env.py`)."""

from sqlalchemy import Index, text

from conveyor.store.metadata import (
    automation_models,
    endpoint_models,
    experiment_models,
    monitoring_models,
    registry_models,
)
from conveyor.store.metadata.mlmd_tables import COMPLETE_ONLY, EXECUTIONS
from conveyor.store.metadata.models import Base

metadata = Base.metadata
"""Holds every table once the modules above are imported (each declares its own)."""

CACHE_ENTRIES = Index(
    "ix_executions_cache_entries",
    EXECUTIONS.c.cache_key,
    EXECUTIONS.c.ended_at,
    sqlite_where=text(COMPLETE_ONLY),
    postgresql_where=text(COMPLETE_ONLY),
)
"""The executions' index of cache entries only: CACHED rows (most of them, in continuous
training) stay out. Declared here, for the migrations, rather than with its table: naming
its PostgreSQL option imports that dialect (SQLAlchemy checks the option at once), which
the store on SQLite does without."""

__all__ = [
    "CACHE_ENTRIES",
    "automation_models",
    "endpoint_models",
    "experiment_models",
    "metadata",
    "monitoring_models",
    "registry_models",
]
