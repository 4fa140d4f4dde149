"""The metadata store: runs, executions, artifacts and their lineage (the ML Metadata model).

    from conveyor.store.metadata import MetadataStore

    with MetadataStore.open() as store:  # .conveyor/metadata.db, or a URL
        store.create_run("run-1", "train", parameters={"lr": 0.1})
        ...

See docs/metadata.md for what is recorded and how to point it at PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.store.metadata.errors import NotFound, StoreError
    from conveyor.store.metadata.kinds import (
        CONTAINER_EXECUTION,
        DAG_EXECUTION,
        IMPORTER_EXECUTION,
        PIPELINE,
        PIPELINE_RUN,
        ArtifactState,
        Direction,
        EventType,
        ExecutionState,
        RunStatus,
    )
    from conveyor.store.metadata.recording import spec_digest
    from conveyor.store.metadata.records import (
        ArtifactRecord,
        CacheHit,
        ExecutionDetail,
        ExecutionRecord,
        Lineage,
        LineageEdge,
        RunDetail,
        RunRecord,
    )
    from conveyor.store.metadata.store import MetadataStore

_HOMES = {
    "errors": ("NotFound", "StoreError"),
    "kinds": (
        "CONTAINER_EXECUTION",
        "DAG_EXECUTION",
        "IMPORTER_EXECUTION",
        "PIPELINE",
        "PIPELINE_RUN",
        "ArtifactState",
        "Direction",
        "EventType",
        "ExecutionState",
        "RunStatus",
    ),
    "recording": ("spec_digest",),
    "records": (
        "ArtifactRecord",
        "CacheHit",
        "ExecutionDetail",
        "ExecutionRecord",
        "Lineage",
        "LineageEdge",
        "RunDetail",
        "RunRecord",
    ),
    "store": ("MetadataStore",),
}
"""The module of each public name: imported when the name is first used, so that the
errors and kinds cost nothing to import (the command line's help, a component) while
the store itself brings SQLAlchemy."""
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CONTAINER_EXECUTION",
    "DAG_EXECUTION",
    "IMPORTER_EXECUTION",
    "PIPELINE",
    "PIPELINE_RUN",
    "ArtifactRecord",
    "ArtifactState",
    "CacheHit",
    "Direction",
    "EventType",
    "ExecutionDetail",
    "ExecutionRecord",
    "ExecutionState",
    "Lineage",
    "LineageEdge",
    "MetadataStore",
    "NotFound",
    "RunDetail",
    "RunRecord",
    "RunStatus",
    "StoreError",
    "spec_digest",
]
