"""The state of a run: DAG scopes, their task nodes, and the artifacts they pass.

A run is a tree. The root `Scope` is the pipeline's DAG; each of its `Node`s is
one task of that DAG. A node whose component is itself a DAG (a sub-pipeline, a
condition, an exit-handler group) owns one child scope; a `ParallelFor` node
owns one child scope per iteration. Container and importer nodes own none.

Keys name nodes uniquely in the run, as a path: `exit-handler-1/for-loop-2[3]/add`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.pipelines.executors.base import Executor

PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
NOT_TRIGGERED = "NOT_TRIGGERED"
CANCELLED = "CANCELLED"
CACHED = "CACHED"

FINISHED = frozenset({SUCCEEDED, FAILED, SKIPPED, NOT_TRIGGERED, CANCELLED, CACHED})
"""States a node does not leave."""
COMPLETED_WELL = frozenset({SUCCEEDED, SKIPPED, CACHED})
"""Finished states that let downstream tasks run under the default trigger policy."""


@dataclass
class Artifact:
    """An artifact as tasks exchange it: the `RuntimeArtifact` of the IR."""

    name: str
    uri: str
    schema_title: str
    schema_version: str = "0.0.1"
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    """The artifact's id in the metadata store, once recorded."""
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uri": self.uri,
            "type": {"schemaTitle": self.schema_title, "schemaVersion": self.schema_version},
            "metadata": self.metadata,
        }


@dataclass
class Scope:
    """One instance of a DAG component with its bound inputs."""

    key: str
    component: dict[str, Any]
    parameters: dict[str, Any]
    artifacts: dict[str, list[Artifact]]
    owner: Node | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    unfinished: int = 0

    def child_key(self, name: str) -> str:
        return f"{self.key}/{name}" if self.key else name


@dataclass
class Node:
    """One task of a scope, from PENDING to a finished state."""

    name: str
    key: str
    scope: Scope
    task: dict[str, Any]
    """The PipelineTaskSpec."""
    component: dict[str, Any]
    """The ComponentSpec the task refers to."""
    status: str = PENDING
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    attempts: int = 0
    upstream: set[str] = field(default_factory=set)
    """Names of sibling tasks not finished yet."""
    downstream: list[Node] = field(default_factory=list, repr=False, compare=False)
    """Sibling tasks that wait for this one."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """Resolved input parameters (what the task was given)."""
    artifacts: dict[str, list[Artifact]] = field(default_factory=dict)
    """Resolved input artifacts."""
    outputs: dict[str, Any] = field(default_factory=dict)
    output_artifacts: dict[str, list[Artifact]] = field(default_factory=dict)
    children: list[Scope] = field(default_factory=list)
    executor_spec: dict[str, Any] = field(default_factory=dict)
    """A container or importer task's executor in the `deploymentSpec`."""
    executor: Executor | None = field(default=None, repr=False, compare=False)
    """The executor that runs it, the first that accepts its executor spec."""
    execution_id: int | None = None
    """The node's execution in the metadata store, once recorded."""
    cache_key: str | None = None
    cache_parts: dict[str, Any] | None = None
    caching: bool = False
    """Whether this task may reuse, and offer, cached results."""
    reused: bool = False
    """Its outputs come from an earlier execution (a cache hit, or resume)."""
    waiting_iterations: deque[Scope] = field(default_factory=deque)
    """Loop iterations not started yet (a loop's `parallelism` holds them back)."""
    open_children: int = 0

    @property
    def is_dag(self) -> bool:
        return "dag" in self.component

    @property
    def is_loop(self) -> bool:
        return "parameterIterator" in self.task or "artifactIterator" in self.task

    @property
    def is_importer(self) -> bool:
        return "importer" in self.executor_spec

    @property
    def display_name(self) -> str:
        return self.task.get("taskInfo", {}).get("name", self.name)

    @property
    def runs_after_failures(self) -> bool:
        """Exit handlers and `ignore_upstream_failure` tasks run whatever happened upstream."""
        strategy = self.task.get("triggerPolicy", {}).get("strategy")
        return strategy == "ALL_UPSTREAM_TASKS_COMPLETED"
