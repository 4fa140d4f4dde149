"""The run state machine: which task runs when, and what the run becomes.

State (see `state.py` for the tree of scopes and nodes):

- `ready`: tasks (container or importer) whose inputs are resolved and that no
  cache hit or earlier completion (on resume) can stand in for, waiting for a
  free slot (at most `parallelism` run at once); they are PENDING until then;
- `running`: node key -> node, submitted to its executor (RUNNING);
- `retries`: a heap of (due time, node) for tasks waiting out a retry backoff;
- `results`: a queue the executors put `TaskResult`s into, from any thread;
- `settling`: transitions caused by other transitions, applied in order by
  `_settle`, so that long chains of cached or skipped tasks never recurse;
- `failing`: set once a task has failed for good; from then on no new task
  starts except exit handlers and `ignore_upstream_failure` tasks, running
  tasks finish, and the run ends FAILED (Vertex AI semantics);
- `cancelling`: set by `cancel()` (Ctrl-C); running tasks are stopped (CANCELLING
  until their executor says so, then CANCELLED) and the run ends CANCELLED.

Every change goes through a few named transitions: `_open` (a scope starts),
`_consider` (a node's upstream is done: skip it, or start it), `_schedule` (a
task is reused or queued), `_finish` (a node reaches a final state, which
queues its released downstream nodes and perhaps its scope's closing) and
`_close` (a scope is done, which finishes its owner node). The main loop in
`run` settles queued transitions, launches ready tasks and feeds results to
`_finish`; the recorder writes each transition to the metadata store.

The engine does not know how a task is executed: each task goes to the first
executor that accepts its executor spec (a container, an importer), which
runs the `TaskRequest`s it is handed. For example, the first `add` below is
ready at once, the second once the first has finished, and the run's output is
6 (`test_the_engine_docstring_example_runs` in tests/pipelines/test_engine.py
runs this example):

    >>> import conveyor
    >>> from kfp import dsl
    >>> @dsl.component
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> @dsl.pipeline
    ... def add_twice(x: int) -> int:
    ...     return add(a=x, b=add(a=x, b=x).output).output
    >>> conveyor.run(add_twice, {"x": 2}).outputs
    {'Output': 6}
"""

from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conveyor.pipelines import cache, expressions, placeholders, recorder, resolve
from conveyor.pipelines.executors.base import Executor, TaskResult
from conveyor.pipelines.recorder import Recorder
from conveyor.pipelines.spec import PipelineSpec
from conveyor.pipelines.state import (
    CACHED,
    CANCELLED,
    CANCELLING,
    COMPLETED_WELL,
    FAILED,
    NOT_TRIGGERED,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    TASK_STATES,
    Node,
    Scope,
)
from conveyor.pipelines.task_files import TaskFiles
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import ExecutionDetail

Listener = Callable[[Node], None]


@dataclass
class RunContext:
    """What the engine needs to know about the run it drives."""

    run_id: str
    pipeline_name: str
    run_dir: Path
    """Per-task working folders and logs."""
    artifacts: ArtifactStore
    """Where output artifacts are staged and published."""
    envs_dir: Path
    """Where environments for `packages_to_install` are built (the home's)."""
    parallelism: int
    caching: cache.Policy = field(default_factory=cache.Policy)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    task_env: dict[str, str] = field(default_factory=dict)
    """Environment variables every task gets (the home's settings), under the spec's own."""
    python_path: list[str] = field(default_factory=list)
    """Folders first on Python components' `sys.path` (the pipeline file's)."""
    import_roots: tuple[Path, ...] = ()
    """The folders importers may name local artifacts under; none: anywhere."""

    @property
    def job(self) -> placeholders.Job:
        """The run as `{{$.pipeline_job_*}}` placeholders see it."""
        created = self.created.isoformat()
        return placeholders.Job(
            name=self.run_id,
            resource_name=self.run_id,
            uuid=self.run_id,
            pipeline_root=self.artifacts.root,
            create_time_utc=created,
            schedule_time_utc=created,
        )


class Engine:
    """Drives one run of a pipeline spec to a final state."""

    def __init__(
        self,
        spec: PipelineSpec,
        arguments: dict[str, Any],
        context: RunContext,
        executors: list[Executor],
        recorder: Recorder,
        listener: Listener | None = None,
        completed: dict[str, ExecutionDetail] | None = None,
    ) -> None:
        self.spec = spec
        self.context = context
        self.executors = executors
        self.recorder = recorder
        self.completed = completed or {}
        """On resume: executions of this run that completed, by task key."""
        self.listener = listener or (lambda node: None)
        self.components = spec.get("components", {})
        self.root = Scope("", spec["root"], dict(arguments), {})
        self.nodes: dict[str, Node] = {}
        self.ready: deque[Node] = deque()
        self.running: dict[str, Node] = {}
        self.retries: list[tuple[float, int, Node]] = []
        self.results: queue.Queue[TaskResult | None] = queue.Queue()
        """Task results from the executors; None asks the loop to cancel (`stop_soon`)."""
        self.failing = False
        self.cancelling = False
        self.settling: deque[tuple[Callable[[Any], None], Any]] = deque()
        self.first_failure: Node | None = None
        self.files = TaskFiles(
            context.run_dir,
            context.artifacts,
            recorder,
            context.pipeline_name,
            context.run_id,
            context.task_env,
            context.python_path,
        )
        self._sequence = itertools.count()

    # -- the main loop ----------------------------------------------------------

    def run(self) -> str:
        """Run to the end; return the run's final state. Ctrl-C cancels cleanly."""
        try:
            self._open(self.root)
            self._loop()
        except KeyboardInterrupt:
            self.cancel()
            self._loop(interruptible=False)
        finally:
            for executor in self.executors:
                executor.close()
        return self.status

    def _loop(self, interruptible: bool = True) -> None:
        while True:
            self._settle()
            self.recorder.flush()  # cache hits of this pass, in one transaction
            self._launch_ready()
            if not (self.running or self.ready or self.retries or self.settling):
                return  # finished, or nothing left that could change anything
            self._wait_for_result(interruptible)

    def _settle(self) -> None:
        """Apply deferred transitions until none is left.

        Transitions that other transitions cause (a finished node releasing its
        downstream, a scope closing) are queued rather than called, so a long
        chain of cached or skipped tasks settles in a loop, not in a recursion.
        """
        while self.settling:
            transition, subject = self.settling.popleft()
            transition(subject)

    @property
    def status(self) -> str:
        if self.cancelling:
            return CANCELLED
        if self.failing or any(n.status not in COMPLETED_WELL for n in self.root.nodes.values()):
            return FAILED
        return SUCCEEDED

    def cancel(self) -> None:
        """Stop running tasks and start nothing new; the run ends CANCELLED."""
        self.cancelling = True
        for node in list(self.running.values()):
            assert node.executor is not None
            node.status = CANCELLING  # until its executor says it stopped
            self.listener(node)
            node.executor.cancel(node.key)
        for node in self.ready:
            self._finish(node, CANCELLED)
        self.ready.clear()
        for _, _, node in self.retries:
            self._finish(node, CANCELLED)
        self.retries.clear()
        self.settling.clear()
        for node in list(self.nodes.values()):
            if node.status == PENDING:
                node.status = CANCELLED
                self.listener(node)

    def stop_soon(self) -> None:
        """Cancel the run from another thread: the main loop cancels at its next turn."""
        self.results.put(None)

    def _wait_for_result(self, interruptible: bool = True) -> None:
        timeout = max(0.0, self.retries[0][0] - time.monotonic()) if self.retries else None
        try:
            result = self.results.get(timeout=timeout)
        except queue.Empty:
            self._due_retries()
            return
        except KeyboardInterrupt:
            if interruptible:
                raise
            return
        if result is None:
            if not self.cancelling:
                self.cancel()
            return
        self._on_result(result)

    def _due_retries(self) -> None:
        now = time.monotonic()
        while self.retries and self.retries[0][0] <= now:
            _, _, node = heapq.heappop(self.retries)
            if self.failing and not node.runs_after_failures:
                self._finish(node, NOT_TRIGGERED)
            else:
                self.ready.append(node)

    def _launch_ready(self) -> None:
        while self.ready and len(self.running) < self.context.parallelism:
            node = self.ready.popleft()
            if self.failing and not node.runs_after_failures:
                self._finish(node, NOT_TRIGGERED)
                continue
            self._submit(node)

    # -- transitions ------------------------------------------------------------

    def _open(self, scope: Scope) -> None:
        """Create the nodes of a scope and consider those with no upstream."""
        tasks = scope.component.get("dag", {}).get("tasks", {})
        for name, task in tasks.items():
            component = self.components[task["componentRef"]["name"]]
            node = Node(name, scope.child_key(name), scope, task, component)
            node.upstream = set(task.get("dependentTasks", []))
            scope.nodes[name] = node
            self.nodes[node.key] = node
            self.listener(node)
        for node in scope.nodes.values():
            for name in node.upstream:
                scope.nodes[name].downstream.append(node)
        scope.unfinished = len(scope.nodes)
        if not scope.nodes:
            self.settling.append((self._close, scope))
            return
        for node in [n for n in scope.nodes.values() if not n.upstream]:
            self._consider(node)

    def _consider(self, node: Node) -> None:
        """All of a node's upstream tasks are done: decide whether and how it runs."""
        if node.status != PENDING:
            return  # decided already (cancelled while its consideration was queued)
        if self.cancelling:
            self._finish(node, CANCELLED)
            return
        upstream = [node.scope.nodes[n] for n in node.task.get("dependentTasks", [])]
        if not node.runs_after_failures and (
            self.failing or any(u.status not in COMPLETED_WELL for u in upstream)
        ):
            self._finish(node, NOT_TRIGGERED)
            return
        try:
            node.parameters, node.artifacts = resolve.task_inputs(
                node, lambda text, inputs: self._render(node, text, inputs)
            )
            condition = node.task.get("triggerPolicy", {}).get("condition")
            if condition and not expressions.condition_holds(condition, node.parameters):
                self._finish(node, SKIPPED)
                return
        except Exception as exc:
            self._finish(node, FAILED, str(exc))
            return
        self._start(node)

    def _start(self, node: Node) -> None:
        """A group starts at once; a task is scheduled, and RUNNING once it is submitted
        (a cache hit never runs, and a task waiting for a free slot is still PENDING)."""
        if node.is_dag:
            self._running(node)
            self.recorder.started(node)
            self.listener(node)
        if node.is_loop:
            self._start_loop(node)
        elif node.is_dag:
            child = Scope(node.key, node.component, node.parameters, node.artifacts, owner=node)
            node.children.append(child)
            node.open_children = 1
            self._open(child)
        else:
            self._schedule(node)

    def _schedule(self, node: Node) -> None:
        """Give a task its executor, and queue it to run unless its results can be
        reused (resume, then cache)."""
        label = node.component["executorLabel"]
        node.executor_spec = self.spec["deploymentSpec"]["executors"][label]
        node.executor = next((e for e in self.executors if e.accepts(node.executor_spec)), None)
        if node.executor is None:
            self._finish(node, FAILED, f"no executor can run {_described(node.executor_spec)}")
            return
        if not (node.executor.reusable and self._reused(node)):
            self.ready.append(node)

    def _reused(self, node: Node) -> bool:
        """Whether the task finished with results of an earlier execution."""
        caching = self.context.caching
        definitions = node.component.get("outputDefinitions", {})
        component = cache.component_parts(node.executor_spec["container"], definitions)
        checked = node.executor.pre_cache_check(node.executor_spec, node.parameters)
        node.cache_parts = cache.key_parts(
            component,
            {**node.parameters, **checked} if checked else node.parameters,
            node.artifacts,
            cache.BY_CONTENT if caching.by_content else cache.BY_ID,
        )
        node.cache_key = cache.key_of(node.cache_parts, component)
        node.caching = caching.applies_to(node.task)
        earlier = self.completed.get(node.key)
        if earlier is not None and cache.key_of(earlier.cache_key_parts or {}) == node.cache_key:
            recorder.reuse(node, earlier)
            node.reused, node.execution_id = True, earlier.id
            self._finish(node, CACHED)
            return True
        hit = self.recorder.cache_hit(node.cache_key, caching.max_age) if node.caching else None
        if hit is None:
            return False
        recorder.reuse(node, hit)
        node.reused = True
        self.recorder.cached(node, hit)
        self._finish(node, CACHED)
        return True

    def _start_loop(self, node: Node) -> None:
        try:
            items = resolve.loop_items(node)
        except Exception as exc:
            self._finish(node, FAILED, str(exc))
            return
        iterator = node.task.get("parameterIterator") or node.task["artifactIterator"]
        item_input = iterator["itemInput"]
        for index, item in enumerate(items):
            params, arts = dict(node.parameters), dict(node.artifacts)
            if "parameterIterator" in node.task:
                params[item_input] = item
            else:
                arts[item_input] = [item]
            child = Scope(f"{node.key}[{index}]", node.component, params, arts, owner=node)
            child.index, child.item = index, item
            node.children.append(child)
            node.waiting_iterations.append(child)
        if not items:
            self._finish_dag_node(node)
            return
        limit = node.task.get("iteratorPolicy", {}).get("parallelismLimit") or len(items)
        while node.waiting_iterations and node.open_children < limit:
            self._open_iteration(node)

    def _running(self, node: Node) -> None:
        if node.status == RUNNING:
            return  # a retry: the task has been running since its first attempt
        node.status = RUNNING
        node.started = datetime.now(UTC)

    def _open_iteration(self, node: Node) -> None:
        child = node.waiting_iterations.popleft()
        node.open_children += 1
        self._open(child)

    def _finish(self, node: Node, status: str, error: str | None = None) -> None:
        """A node reached a final state: release its downstream, maybe close its scope."""
        node.status = status
        node.error = error
        node.finished = datetime.now(UTC)
        if status == FAILED:
            self.failing = True
            if not node.children and self.first_failure is None:
                self.first_failure = node
        self.recorder.finished(node)
        self.listener(node)
        for follower in node.downstream:
            follower.upstream.discard(node.name)
            if not follower.upstream and follower.status == PENDING:
                self.settling.append((self._consider, follower))
        scope = node.scope
        scope.unfinished -= 1
        if scope.unfinished == 0:
            self.settling.append((self._close, scope))

    def _close(self, scope: Scope) -> None:
        """Every node of a scope is final: finish the node that owns the scope."""
        owner = scope.owner
        if owner is None:
            return
        owner.open_children -= 1
        if owner.waiting_iterations and not self.failing and not self.cancelling:
            self._open_iteration(owner)
            return
        if owner.open_children == 0:
            self._finish_dag_node(owner)

    def _finish_dag_node(self, node: Node) -> None:
        if node.is_loop:
            node.outputs, node.output_artifacts = resolve.loop_outputs(node)
        elif node.children:
            node.outputs, node.output_artifacts = resolve.scope_outputs(node.children[0])
        statuses = {n.status for child in node.children for n in child.nodes.values()}
        if self.cancelling or CANCELLED in statuses:
            self._finish(node, CANCELLED)
        elif node.waiting_iterations or statuses & {FAILED, NOT_TRIGGERED}:
            self._finish(node, FAILED, _group_failure(node))
        else:
            self._finish(node, SUCCEEDED)

    # -- tasks on executors -----------------------------------------------------

    def _submit(self, node: Node) -> None:
        assert node.executor is not None
        node.attempts += 1
        first = node.status != RUNNING
        self._running(node)
        try:
            request = self.files.request(
                node, node.executor_spec, fetch_inputs=not node.executor.fetches_inputs
            )
        except Exception as exc:  # e.g. a remote input artifact that cannot be fetched
            self.files.discard(node)
            self._finish(node, FAILED, f"preparing the task failed: {exc}")
            return
        node.log_start = _resumed_log(request.log_path, node.attempts)
        if node.execution_id is None:
            self.recorder.started(node, str(request.log_path))
        if first:  # once recorded: a listener that reads the store finds the execution
            self.listener(node)
        self.running[node.key] = node
        node.executor.submit(request, self.results.put)

    def _on_result(self, result: TaskResult) -> None:
        node = self.running.pop(result.key)
        if not result.succeeded:
            self.files.discard(node)
        if result.succeeded:
            try:
                self.files.collect(node, result.executor_output)
            except Exception as exc:
                self.files.discard(node)
                self._finish(node, FAILED, f"bad output: {exc}")
                return
            self._finish(node, SUCCEEDED)
            return
        if self.cancelling:
            self._finish(node, CANCELLED, result.error)
            return
        retry = node.task.get("retryPolicy", {})
        if node.attempts <= int(retry.get("maxRetryCount", 0)):
            delay = _backoff(retry, node.attempts)
            self._note_attempt(node, result.error, delay)
            heapq.heappush(self.retries, (time.monotonic() + delay, next(self._sequence), node))
            return
        self._finish(node, FAILED, result.error)

    def _note_attempt(self, node: Node, error: str | None, delay: float) -> None:
        with open(self.files.log_path(node), "a") as log:
            log.write(
                f"\n[conveyor] attempt {node.attempts} failed ({error}); retrying in {delay:g}s\n"
            )

    # -- placeholders of runtime values ----------------------------------------

    def _render(self, node: Node, text: str, inputs: dict[str, Any]) -> str:
        context = placeholders.Context.for_task(self.context.job, node.key)
        return placeholders.resolve_text(text, {"inputs": {"parameterValues": inputs}}, context)


def _group_failure(node: Node) -> str:
    """Why a group failed: its first failed task and where that sat inside the group; for
    a loop, how many of its iterations ended in each state (held back ones too, which
    the metadata store has no execution of)."""
    failed = next(
        (f for f in (child.first_failure() for child in node.children) if f is not None), None
    )
    if failed is None:
        reason = "not every task ran"
    else:
        where = failed.scope.describe()
        reason = f"task {failed.key!r} failed" + (f" {where}" if where else "")
    if node.is_loop:
        counts = Counter(child.status for child in node.children)
        tally = ", ".join(f"{counts[state]} {state}" for state in TASK_STATES if counts[state])
        reason += f"; its {len(node.children)} iterations: {tally}"
    return reason


def _resumed_log(log_path: Path, attempt: int) -> int:
    """Where this attempt's output will start in the task's log. A log that exists at a
    first attempt belongs to an earlier execution of the task (the run was resumed):
    a line says so, as `[conveyor] attempt N failed` does between retries."""
    if not log_path.exists():
        return 0
    if attempt == 1:
        with open(log_path, "a") as log:
            log.write("\n[conveyor] the run was resumed: the task runs again\n")
    return log_path.stat().st_size


def _described(spec: dict[str, Any]) -> str:
    if "container" in spec:
        return f"the image {spec['container'].get('image')!r}"
    return f"a task of kind {', '.join(spec)}"


def _backoff(retry: dict[str, Any], attempt: int) -> float:
    """Seconds to wait before retry number `attempt`, as the IR's retry policy says."""
    base = _seconds(retry.get("backoffDuration", "0s"))
    factor = float(retry.get("backoffFactor", 2.0) or 2.0)
    ceiling = _seconds(retry.get("backoffMaxDuration", "3600s"))
    return min(base * factor ** (attempt - 1), ceiling)


def _seconds(duration: str) -> float:
    return float(str(duration).rstrip("s") or 0)
