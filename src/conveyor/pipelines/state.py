"""The state of a run: DAG scopes, their task nodes, and the artifacts they pass.

A run is a tree. The root `Scope` is the pipeline's DAG; each of its `Node`s is
one task of that DAG. A node whose component is itself a DAG (a sub-pipeline, a
condition, an exit-handler group) owns one child scope; a `ParallelFor` node
owns one child scope per iteration. Container and importer nodes own none.

Keys name nodes uniquely in the run, as a path: `exit-handler-1/for-loop-2[3]/add`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conveyor.store.metadata.kinds import ExecutionState

if TYPE_CHECKING:
    from conveyor.pipelines.executors.base import Executor

# Task states: the names of Vertex AI's PipelineTaskDetail.State, which every face
# shows, plus CACHED, ours: Vertex AI says SKIPPED for a cache hit (whose execution is
# CACHED there), and Conveyor's SKIPPED is a false `dsl.If` (Vertex's NOT_TRIGGERED).
# docs/pipelines.md lists them; `of_execution` reads recorded executions' states.
PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
CANCELLING = "CANCELLING"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
NOT_TRIGGERED = "NOT_TRIGGERED"
CACHED = "CACHED"

TASK_STATES = (
    PENDING,
    RUNNING,
    SUCCEEDED,
    CANCELLING,
    CANCELLED,
    FAILED,
    SKIPPED,
    NOT_TRIGGERED,
    CACHED,
)
"""Every state a task of a run can be in, as docs/pipelines.md lists them."""
FINISHED = frozenset({SUCCEEDED, FAILED, SKIPPED, NOT_TRIGGERED, CANCELLED, CACHED})
"""States a node does not leave."""
COMPLETED_WELL = frozenset({SUCCEEDED, SKIPPED, CACHED})
"""Finished states that let downstream tasks run under the default trigger policy."""

_OF_EXECUTION = {
    ExecutionState.NEW: PENDING,
    ExecutionState.RUNNING: RUNNING,
    ExecutionState.COMPLETE: SUCCEEDED,
    ExecutionState.CACHED: CACHED,
    ExecutionState.FAILED: FAILED,
    ExecutionState.CANCELED: CANCELLED,
}
ITEM_WIDTH = 40
"""A loop item longer than this (as JSON) is not quoted in messages."""


def of_execution(state: ExecutionState | str) -> str:
    """The task state of a recorded execution, so that faces reading the metadata store
    name states as the engine does (ML Metadata's COMPLETE is a task's SUCCEEDED)."""
    return _OF_EXECUTION.get(ExecutionState(state), FAILED)


def label(name: str, display_name: str | None) -> str:
    """A task as faces name it: its name, and its display name (`set_display_name`,
    `dsl.If(name=...)`) when it has another: `train (Train the model)`."""
    if not display_name or display_name == name:
        return name
    return f"{name} ({display_name})"


def group_status(statuses: Iterable[str]) -> str:
    """The state of a group of tasks (a loop iteration) from its tasks' states: the
    worst one wins, and a group whose tasks all completed well SUCCEEDED."""
    found = set(statuses)
    for state in (FAILED, CANCELLED, CANCELLING):
        if state in found:
            return state
    if found & {RUNNING, PENDING}:
        return PENDING if found == {PENDING} else RUNNING
    if NOT_TRIGGERED in found or not found:
        return NOT_TRIGGERED
    return SUCCEEDED


def item_text(item: Any) -> str | None:
    """A loop item as messages quote it, or None when it is too long to help."""
    if isinstance(item, Artifact):
        item = item.uri
    text = json.dumps(item, default=str)
    return text if len(text) <= ITEM_WIDTH else None


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
    index: int | None = None
    """A loop iteration's position in the loop's items (None for other scopes)."""
    item: Any = None
    """A loop iteration's item."""

    def child_key(self, name: str) -> str:
        return f"{self.key}/{name}" if self.key else name

    @property
    def status(self) -> str:
        """The state of the scope's tasks together; one never opened (a loop iteration
        held back when the run failed or was cancelled) was not triggered or cancelled."""
        if not self.nodes and self.owner is not None and self.owner.status == CANCELLED:
            return CANCELLED
        return group_status(n.status for n in self.nodes.values())

    def first_failure(self) -> Node | None:
        """The first task under this scope, at any depth, that failed by itself."""
        for node in self.nodes.values():
            if node.status != FAILED:
                continue
            if not node.children:
                return node
            for child in node.children:
                found = child.first_failure()
                if found is not None:
                    return found
        return None

    def describe(self) -> str:
        """Where a task of this scope sits, for messages: the loop iterations (with their
        item when short) and the conditions around it, innermost first; '' at the top."""
        parts = []
        scope: Scope | None = self
        while scope is not None and scope.owner is not None:
            owner = scope.owner
            name = label(owner.name, owner.display_name)
            if scope.index is not None:
                item = item_text(scope.item)
                shown = f" (item {item})" if item is not None else ""
                parts.append(f"in iteration {scope.index}{shown} of loop {name}")
            elif "condition" in owner.task.get("triggerPolicy", {}):
                parts.append(f"under condition {name}")
            scope = owner.scope
        return ", ".join(parts)


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
    log_start: int = 0
    """Where the latest attempt's output starts in the task's log, which keeps every
    attempt of the run (retries, and earlier executions on resume) before it."""

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
