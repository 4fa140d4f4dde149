"""Every table of the metadata store in one `MetaData`: the store's own, the registry's, the
endpoints', model monitoring's and automation's. Migrations are compared against it (`migrations/env.py`)."""

from conveyor.store.metadata import (
    automation_models,
    endpoint_models,
    monitoring_models,
    registry_models,
)
from conveyor.store.metadata.models import Base

metadata = Base.metadata
"""Holds every table once the modules above are imported (each declares its own)."""

__all__ = [
    "automation_models",
    "endpoint_models",
    "metadata",
    "monitoring_models",
    "registry_models",
]
