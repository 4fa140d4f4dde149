"""The store's fixed vocabularies: states, event types, and the type names it writes itself."""

from __future__ import annotations

from enum import StrEnum


class ArtifactState(StrEnum):
    """An artifact's life: PENDING while its bytes are written, LIVE once they are complete."""

    PENDING = "PENDING"
    LIVE = "LIVE"
    MARKED_FOR_DELETION = "MARKED_FOR_DELETION"
    DELETED = "DELETED"


class ExecutionState(StrEnum):
    """An execution's life, as ML Metadata names it."""

    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    CACHED = "CACHED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


STARTED_STATES = frozenset({ExecutionState.NEW, ExecutionState.RUNNING})
"""States an execution may be created in; CACHED ones come from `create_execution(cached_from=)`."""
FINAL_STATES = frozenset({ExecutionState.COMPLETE, ExecutionState.FAILED, ExecutionState.CANCELED})
"""States `finish_execution` accepts."""


class RunStatus(StrEnum):
    """A pipeline run's status, spelled as `conveyor run` reports it."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class EventType(StrEnum):
    """Which way an artifact crosses an execution."""

    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class Direction(StrEnum):
    """Which way a lineage edge was reached from the artifact asked about."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class ExperimentRunState(StrEnum):
    """An experiment run's state, in Vertex AI's names (`Execution.State`); MLflow's
    FINISHED is COMPLETE, its KILLED is CANCELLED."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


PIPELINE = "system.Pipeline"
PIPELINE_RUN = "system.PipelineRun"
CONTAINER_EXECUTION = "system.ContainerExecution"
DAG_EXECUTION = "system.DAGExecution"
IMPORTER_EXECUTION = "system.ImporterExecution"
EXPERIMENT = "system.Experiment"
EXPERIMENT_RUN = "system.ExperimentRun"

MAX_ID = 2**63 - 1
"""The largest id a store's row can hold (a signed 64-bit integer): a larger one names
nothing, and is refused before a query would overflow."""
