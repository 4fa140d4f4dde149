"""`conveyor.run`: load a pipeline, check it, run it, and say what happened."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import UsageError
from conveyor.pipelines import resolve, validate
from conveyor.pipelines import spec as specs
from conveyor.pipelines.cache import Policy, parse_age
from conveyor.pipelines.engine import Engine, RunContext
from conveyor.pipelines.executors import choice
from conveyor.pipelines.recorder import Recorder
from conveyor.pipelines.state import FAILED, Node
from conveyor.store.metadata import MetadataStore, RunStatus

if TYPE_CHECKING:
    from conveyor.home import Home

LOG_TAIL_LINES = 20


@dataclass
class TaskInfo:
    """One task of a run as the faces show it."""

    name: str
    status: str
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    log_path: Path | None = None
    """Where its output went in this run; None if it reused earlier results."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
        }


@dataclass
class Run:
    """The outcome of a run: its state, pipeline outputs and tasks."""

    run_id: str
    pipeline: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskInfo] = field(default_factory=list)
    error: str | None = None

    def task(self, name: str) -> TaskInfo:
        for info in self.tasks:
            if info.name == name:
                return info
        raise KeyError(f"run {self.run_id} has no task {name!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "outputs": self.outputs,
            "tasks": [t.to_json() for t in self.tasks],
            "error": self.error,
        }


def run(
    pipeline: Any,
    arguments: dict[str, Any] | None = None,
    *,
    home: Home,
    parallelism: int | None = None,
    enable_caching: bool | None = None,
    cache_max_age: str | timedelta | None = None,
    cache_by_content: bool = False,
    arguments_as_text: bool = False,
    executor: str = choice.DEFAULT,
    listener: Callable[[Node], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Run:
    """Run a pipeline in `home` (its settings, metadata and artifact stores) to its end
    and return what happened.

    `pipeline` is a `@dsl.pipeline` function, a compiled `.yaml`/`.json` path,
    or a `file.py:function` target. Bad pipelines and arguments raise
    `InvalidPipeline` / `UsageError` before anything runs; a failing task does
    not raise: the run ends FAILED and `Run.error` says why.

    `enable_caching` None keeps each task's `set_caching_options`; True or False
    applies to every task (as on Vertex AI). `cache_max_age` (`"7d"`) ignores
    older cache entries; `cache_by_content` identifies input artifacts by their
    sha256 rather than their URI. `executor` is `"local"` (warm worker processes)
    or `"inline"` (Python components in this process, for a debugger).
    """
    choice.check(executor)
    spec = specs.load(pipeline)
    validate.check_spec(spec)
    bound = validate.bind_arguments(spec, arguments or {}, as_text=arguments_as_text)
    caching = _policy(home, enable_caching, cache_max_age, cache_by_content)
    name = spec.get("pipelineInfo", {}).get("name", "pipeline")
    run_id = f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    context = _context(home, run_id, name, parallelism, caching)
    if spec.source_dir is not None:
        context.python_path.append(spec.source_dir)
    store = home.store
    with store.held_connection():
        store.create_run(run_id, name, parameters=bound, spec=spec, spec_digest=spec.digest)
        return _execute(spec, bound, context, store, executor, listener, log)


def resume(
    run_id: str,
    *,
    home: Home,
    parallelism: int | None = None,
    enable_caching: bool | None = None,
    cache_max_age: str | timedelta | None = None,
    cache_by_content: bool = False,
    executor: str = choice.DEFAULT,
    listener: Callable[[Node], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Run:
    """Continue a failed, cancelled or killed run of `home`, re-running only what did not
    complete."""
    choice.check(executor)
    caching = _policy(home, enable_caching, cache_max_age, cache_by_content)
    store = home.store
    with store.held_connection():
        recorded = store.get_run(run_id)
        if recorded.status == RunStatus.SUCCEEDED:
            raise UsageError(f"run {run_id} already succeeded; there is nothing to resume")
        if recorded.spec is None:
            raise UsageError(f"run {run_id} has no recorded pipeline spec; it cannot be resumed")
        context = _context(home, run_id, recorded.pipeline_name, parallelism, caching)
        store.update_run(run_id, RunStatus.RUNNING)
        return _execute(
            recorded.spec,
            recorded.parameters,
            context,
            store,
            executor,
            listener,
            log,
            resuming=True,
        )


def _policy(
    home: Home, enabled: bool | None, max_age: str | timedelta | None, by_content: bool
) -> Policy:
    """The run's caching; the home's `disable_cache` setting turns it off unless the run
    turns it on."""
    if isinstance(max_age, str):
        max_age = parse_age(max_age)
    if enabled is None and home.settings.disable_cache:
        enabled = False
    return Policy(enabled=enabled, max_age=max_age, by_content=by_content)


def _context(
    home: Home, run_id: str, name: str, parallelism: int | None, caching: Policy
) -> RunContext:
    if parallelism is not None and parallelism < 1:
        raise UsageError(f"parallelism must be at least 1, got {parallelism}")
    return RunContext(
        run_id=run_id,
        pipeline_name=name,
        run_dir=home.settings.runs_dir / run_id,
        task_env=home.settings.to_env(),
        envs_dir=home.settings.envs_dir,
        artifacts=home.artifacts,
        parallelism=parallelism or os.cpu_count() or 1,
        caching=caching,
    )


def _execute(
    spec: dict[str, Any],
    arguments: dict[str, Any],
    context: RunContext,
    store: MetadataStore,
    executor: str,
    listener: Callable[[Node], None] | None,
    log: Callable[[str], None] | None,
    resuming: bool = False,
) -> Run:
    recorder = Recorder(store, context.artifacts, context.run_id, context.pipeline_name)
    completed = recorder.completed_in_run() if resuming else None
    executors = choice.make(executor, context.job, context.envs_dir, log)
    engine = Engine(spec, arguments, context, executors, recorder, listener, completed)
    status = engine.run()
    outcome = _summarize(engine, status)
    store.update_run(context.run_id, status, error=outcome.error)
    return outcome


def _summarize(engine: Engine, status: str) -> Run:
    params, arts = resolve.scope_outputs(engine.root) if engine.root.nodes else ({}, {})
    definitions = engine.spec["root"].get("outputDefinitions", {}).get("artifacts", {})
    outputs: dict[str, Any] = dict(params)
    for name, artifacts in arts.items():
        uris = [a.uri for a in artifacts]
        outputs[name] = uris if definitions.get(name, {}).get("isArtifactList") else uris[0]
    ordered = sorted(engine.nodes.values(), key=lambda n: (n.started is None, n.started, n.key))
    tasks = [
        TaskInfo(
            n.key,
            n.status,
            n.started,
            n.finished,
            n.error,
            None if n.reused else engine.files.log_path(n),
        )
        for n in ordered
    ]
    error = None
    if status == FAILED:
        error = _failure_message(engine)
    return Run(engine.context.run_id, engine.context.pipeline_name, status, outputs, tasks, error)


def _failure_message(engine: Engine) -> str:
    node = engine.first_failure
    if node is None:
        return "the run failed"
    message = f"task {node.key!r} failed: {node.error}"
    log = engine.files.log_path(node)
    if log.exists():
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        if lines:
            message += "\n" + "\n".join(lines)
    return message
