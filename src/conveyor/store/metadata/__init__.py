"""The metadata store: runs, executions, artifacts and their lineage (the ML Metadata model).

    from conveyor.store.metadata import MetadataStore

    with MetadataStore.open() as store:  # .conveyor/metadata.db, or a URL
        store.create_run("run-1", "train", parameters={"lr": 0.1})
        ...

See docs/metadata.md for what is recorded and how to point it at PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import exports

if TYPE_CHECKING:
    from conveyor.store.metadata.errors import (
        NotFound,
        RunBusy,
        RunConflict,
        RunEnded,
        RunExists,
        StoreError,
    )
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
        RunnerRecord,
        RunRecord,
    )
    from conveyor.store.metadata.store import MetadataStore

__getattr__ = exports(
    __name__,
    {
        "errors": ("NotFound", "RunBusy", "RunConflict", "RunEnded", "RunExists", "StoreError"),
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
            "RunnerRecord",
            "RunRecord",
        ),
        "store": ("MetadataStore",),
    },
)
"""Each public name is imported from its module when first used, so that the errors and
kinds cost nothing to import (the command line's help, a component) while the store
itself brings SQLAlchemy."""


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
    "RunBusy",
    "RunConflict",
    "RunDetail",
    "RunEnded",
    "RunExists",
    "RunRecord",
    "RunStatus",
    "RunnerRecord",
    "StoreError",
    "spec_digest",
]
