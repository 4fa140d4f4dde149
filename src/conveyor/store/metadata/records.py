"""What the store's queries return: plain, frozen dataclasses that turn into JSON.

They hold no database session, so callers may keep them, pass them between
threads, and print them with `to_json()`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

from conveyor.store.metadata.kinds import (
    ArtifactState,
    Direction,
    EventType,
    ExecutionState,
    RunStatus,
)

DEFAULT_LINEAGE_DEPTH = 50
"""Executions walked on each side of an artifact unless the caller asks otherwise."""


def to_json(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses become dicts, times ISO 8601 strings."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


class _Record:
    """What every record can do: become JSON for `--json` output and the REST API."""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class ArtifactRecord(_Record):
    id: int
    uri: str
    type: str
    name: str
    state: ArtifactState
    metadata: dict[str, Any]
    sha256: str | None
    size: int | None
    created_at: datetime
    updated_at: datetime


@dataclasses.dataclass(frozen=True)
class CacheHit(_Record):
    """An execution whose results a task may reuse: its id, output parameters and artifacts."""

    id: int
    output_parameters: dict[str, Any]
    outputs: dict[str, list[ArtifactRecord]]


@dataclasses.dataclass(frozen=True)
class ExecutionRecord(_Record):
    """One execution, without its artifacts (lineage graphs hold those as edges)."""

    id: int
    run_id: str
    task_key: str
    name: str
    type: str
    state: ExecutionState
    input_parameters: dict[str, Any]
    output_parameters: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    log_uri: str | None
    error: str | None
    cache_key: str | None
    cache_key_parts: dict[str, Any] | None
    cached_from_id: int | None


@dataclasses.dataclass(frozen=True)
class ExecutionDetail(ExecutionRecord):
    """An execution with its artifacts by input and output name, in list order."""

    inputs: dict[str, list[ArtifactRecord]]
    outputs: dict[str, list[ArtifactRecord]]


@dataclasses.dataclass(frozen=True)
class RunnerRecord(_Record):
    """The process that holds a run's lease, and whether it is alive (`leases.py`)."""

    host: str
    pid: int
    heartbeat_at: datetime
    cancel_requested: bool
    alive: bool


@dataclasses.dataclass(frozen=True)
class RunRecord(_Record):
    run_id: str
    pipeline_name: str
    status: RunStatus
    parameters: dict[str, Any]
    error: str | None
    created_at: datetime
    ended_at: datetime | None
    runner: RunnerRecord | None
    """Who holds its lease, alive or not; None once it ended (or for a run recorded by a
    version of Conveyor before leases)."""
    origin: dict[str, Any]
    """Where the run came from, when not from a person's `conveyor run`: the pipeline
    version it ran (`pipeline_version`) and what fired it (`fired_by`: a schedule or a
    trigger, its event); empty otherwise."""
    display_name: str | None
    """The name it was given (`conveyor run --run-name`), if any."""
    labels: dict[str, str]
    experiment: str | None
    """The experiment it joined (`conveyor run --experiment`), if any."""

    @property
    def runner_lost(self) -> bool:
        """RUNNING, but no live process runs it: resume continues it, cancel closes it."""
        return self.status == RunStatus.RUNNING and not (self.runner and self.runner.alive)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "runner_lost": self.runner_lost}


@dataclasses.dataclass(frozen=True)
class RunDetail(RunRecord):
    """A run with its spec and executions, in the order they were recorded."""

    spec: dict[str, Any] | None
    executions: list[ExecutionDetail]


@dataclasses.dataclass(frozen=True)
class LineageEdge(_Record):
    """An event met while walking the graph: `direction` says which side of the root it is on."""

    direction: Direction
    execution_id: int
    artifact_id: int
    type: EventType
    name: str
    position: int


@dataclasses.dataclass(frozen=True)
class Lineage(_Record):
    """The graph around `roots` (the artifacts asked about), up to `depth` executions each way.

    `truncated` says the graph goes on past `depth` on some side. For the lineage of an
    execution, `execution` names it and `roots` is empty: its inputs are reached upstream,
    its outputs downstream, and `depth` counts the executions beyond it.
    """

    roots: list[int]
    depth: int
    artifacts: dict[int, ArtifactRecord]
    executions: dict[int, ExecutionRecord]
    edges: list[LineageEdge]
    truncated: bool
    execution: int | None = None

    def edges_from(self, direction: Direction, node: int, *, artifact: bool) -> list[LineageEdge]:
        """The edges one step further from the root than `node`: a tree's children."""
        if direction == Direction.UPSTREAM:
            # Upstream: an artifact leads to the executions that wrote it, an
            # execution to the artifacts it read.
            wanted = EventType.OUTPUT if artifact else EventType.INPUT
        else:
            wanted = EventType.INPUT if artifact else EventType.OUTPUT
        key = "artifact_id" if artifact else "execution_id"
        return [
            e
            for e in self.edges
            if e.direction == direction and e.type == wanted and getattr(e, key) == node
        ]
