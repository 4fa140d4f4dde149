"""`conveyor.run`: load a pipeline, check it, run it, and say what happened."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import UsageError
from conveyor.pipelines import lease, resolve, validate
from conveyor.pipelines import spec as specs
from conveyor.pipelines.cache import Policy, parse_age
from conveyor.pipelines.engine import Engine, RunContext
from conveyor.pipelines.executors import choice
from conveyor.pipelines.recorder import Recorder
from conveyor.pipelines.state import FAILED, Node, item_text, label
from conveyor.store.artifacts import naming
from conveyor.store.metadata import MetadataStore, RunBusy, RunConflict, RunDetail, RunStatus
from conveyor.store.metadata.leases import Renewal, busy_message

if TYPE_CHECKING:
    from conveyor.config import Settings
    from conveyor.home import Home

LOG_TAIL_LINES = 20
RUN_ID_NAME_LENGTH = 64
"""The most characters of a pipeline's name a run id starts with."""


@dataclass
class IterationInfo:
    """One iteration of a loop (`dsl.ParallelFor`) as the faces show it."""

    index: int
    item: str | None
    """The item as JSON, None when longer than messages quote."""
    status: str
    failed_task: str | None = None
    """The key of the first task that failed in it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "item": self.item,
            "status": self.status,
            "failed_task": self.failed_task,
        }


@dataclass
class TaskInfo:
    """One task of a run as the faces show it."""

    name: str
    """Its key: `for-loop-2[3]/train`."""
    status: str
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    log_path: Path | None = None
    """Where its output went in this run; None if it reused earlier results or is a
    group (a loop, a condition, a sub-pipeline), which has no output of its own."""
    display_name: str | None = None
    """Its `set_display_name`, or the `name=` of its `dsl.If` or `dsl.ParallelFor`,
    when it has one other than its name."""
    iterations: list[IterationInfo] | None = None
    """A loop's iterations, in item order (None for other tasks)."""

    @property
    def label(self) -> str:
        """How faces name it: `train (Train the model)`."""
        return label(self.name, self.display_name)

    def to_json(self) -> dict[str, Any]:
        shown = {
            "name": self.name,
            "display_name": self.display_name,
            "status": self.status,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
        }
        if self.iterations is not None:
            shown["iterations"] = [i.to_json() for i in self.iterations]
        return shown


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
    executor: str | None = None,
    ray_address: str | None = None,
    listener: Callable[[Node], None] | None = None,
    log: Callable[[str], None] | None = None,
    run_id: str | None = None,
    origin: dict[str, Any] | None = None,
    run_name: str | None = None,
    labels: dict[str, str] | None = None,
    experiment: str | None = None,
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
    or `"inline"` (Python components in this process, for a debugger) or `"ray"` (tasks
    of the Ray cluster at `ray_address`, default the home's `ray_address`); None takes the
    home's setting (`executor` of its environment, `"local"` by default).

    `run_id` (default: the pipeline's name, the time and a random suffix) lets a caller
    that must know it beforehand (the scheduler) choose it: a second run with the same id
    is refused. `origin` is recorded with the run: the pipeline version and what fired it.
    `run_name` and `labels` name and label the run; with `experiment`, the run joins that
    experiment (made if new) as its run `run_name` (default: the run id), with the
    pipeline's parameters as its params and its tasks' `Metrics` as its metrics.
    """
    executor = executor or home.settings.executor
    choice.check(executor)
    spec = specs.load(pipeline)
    validate.check_spec(spec)
    choice.prepare(
        executor,
        spec,
        home.artifacts,
        ray_address or home.settings.ray_address,
        envs_dir=home.settings.envs_dir,
        log=log,
    )
    bound = validate.bind_arguments(spec, arguments or {}, as_text=arguments_as_text)
    caching = _policy(home, enable_caching, cache_max_age, cache_by_content)
    name = spec.get("pipelineInfo", {}).get("name", "pipeline")
    run_id = run_id or new_run_id(name)
    context = _context(home, run_id, name, parallelism, caching)
    if spec.source_dir is not None:
        context.python_path.append(spec.source_dir)
    store = home.store
    token = lease.new_token()
    with store.held_connection():
        store.create_run(
            run_id,
            name,
            parameters=bound,
            spec=spec,
            spec_digest=spec.digest,
            lease=token,
            origin=origin,
            display_name=run_name,
            labels=labels,
            experiment=experiment,
        )
        return _execute(spec, bound, context, store, token, executor, listener, log)


def resume(
    run_id: str,
    *,
    home: Home,
    parallelism: int | None = None,
    enable_caching: bool | None = None,
    cache_max_age: str | timedelta | None = None,
    cache_by_content: bool = False,
    executor: str | None = None,
    ray_address: str | None = None,
    listener: Callable[[Node], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Run:
    """Continue a failed, cancelled or killed run of `home`, re-running only what did not
    complete. Refused (`RunBusy`) while a live process runs it: of two resumes at once,
    exactly one proceeds."""
    executor = executor or home.settings.executor
    choice.check(executor)
    caching = _policy(home, enable_caching, cache_max_age, cache_by_content)
    store = home.store
    with store.held_connection():
        recorded = store.get_run(run_id)
        check_resumable(recorded)
        address = ray_address or home.settings.ray_address
        envs_dir = home.settings.envs_dir
        choice.prepare(executor, recorded.spec, home.artifacts, address, envs_dir, log)
        context = _context(home, run_id, recorded.pipeline_name, parallelism, caching)
        token = lease.new_token()
        store.resume_run(run_id, token)
        return _execute(
            recorded.spec,
            recorded.parameters,
            context,
            store,
            token,
            executor,
            listener,
            log,
            resuming=True,
        )


def check_resumable(run: RunDetail) -> None:
    """Refuse a run that `resume` cannot continue: one that succeeded (`RunConflict`), one
    a live process runs (`RunBusy`), one without its pipeline spec (`UsageError`). Faces
    that start a resume elsewhere (`conveyor.automation.resumes`) ask first."""
    if run.status == RunStatus.SUCCEEDED:
        raise RunConflict(f"run {run.run_id} already succeeded; there is nothing to resume")
    if run.status == RunStatus.RUNNING and not run.runner_lost and run.runner is not None:
        raise RunBusy(busy_message(run.run_id, run.runner, datetime.now(UTC)))
    if run.spec is None:
        raise UsageError(f"run {run.run_id} has no recorded pipeline spec; it cannot be resumed")


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


def new_run_id(pipeline_name: str) -> str:
    """A fresh run id: the pipeline's name, the time (UTC) and a random suffix."""
    return f"{_slug(pipeline_name)}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _slug(name: str) -> str:
    """A pipeline's name as the start of a run id, which commands take and paths hold:
    letters, digits, `.`, `_` and `-`, other runs of characters made one `-`."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:RUN_ID_NAME_LENGTH]
    return slug or "pipeline"


def _context(
    home: Home, run_id: str, name: str, parallelism: int | None, caching: Policy
) -> RunContext:
    if parallelism is not None and parallelism < 1:
        raise UsageError(f"parallelism must be at least 1, got {parallelism}")
    return RunContext(
        run_id=run_id,
        pipeline_name=name,
        run_dir=run_folder(home.settings, run_id),
        task_env=home.settings.to_env(),
        envs_dir=home.settings.envs_dir,
        artifacts=home.artifacts,
        parallelism=parallelism or os.cpu_count() or 1,
        caching=caching,
        import_roots=_import_roots(home.settings),
    )


def run_folder(settings: Settings, run_id: str) -> Path:
    """The folder of a run's working files: its tasks' inputs, outputs and logs."""
    return settings.runs_dir / naming.segment(run_id)


def _import_roots(settings: Settings) -> tuple[Path, ...]:
    """Where importers may find local artifacts: anywhere unless the home names allowed
    folders; then those and its artifact root, as for registry uploads."""
    if not settings.allowed_artifact_roots:
        return ()
    return naming.readable_folders(settings.allowed_artifact_roots, settings.artifact_root)


def _execute(
    spec: dict[str, Any],
    arguments: dict[str, Any],
    context: RunContext,
    store: MetadataStore,
    token: str,
    executor: str,
    listener: Callable[[Node], None] | None,
    log: Callable[[str], None] | None,
    resuming: bool = False,
) -> Run:
    """Run the engine while keeping the run's lease (`token`); record how it ended."""
    recorder = Recorder(store, context.artifacts, context.run_id, context.pipeline_name)
    completed = recorder.completed_in_run() if resuming else None
    executors = choice.make(
        executor, context.job, context.envs_dir, log, context.import_roots, context.artifacts
    )
    engine = Engine(spec, arguments, context, executors, recorder, listener, completed)
    with lease.LeaseKeeper(store, context.run_id, token, engine.stop_soon) as keeper:
        status = engine.run()
    outcome = _summarize(engine, status)
    if keeper.heard == Renewal.CANCEL_REQUESTED:
        outcome.error = "cancelled from another process (`conveyor runs cancel`)"
    if not store.end_run(context.run_id, token, status, outcome.error):
        outcome.error = "another process took this run over; it records how the run ends"
    return outcome


def _summarize(engine: Engine, status: str) -> Run:
    params, arts = resolve.scope_outputs(engine.root) if engine.root.nodes else ({}, {})
    definitions = engine.spec["root"].get("outputDefinitions", {}).get("artifacts", {})
    outputs: dict[str, Any] = dict(params)
    for name, artifacts in arts.items():
        uris = [a.uri for a in artifacts]
        outputs[name] = uris if definitions.get(name, {}).get("isArtifactList") else uris[0]
    tasks = [_task_info(engine, n) for n in sorted(engine.nodes.values(), key=_decided)]
    error = None
    if status == FAILED:
        error = _failure_message(engine)
    return Run(engine.context.run_id, engine.context.pipeline_name, status, outputs, tasks, error)


def _decided(node: Node) -> tuple[bool, datetime | None, str]:
    """Tasks in the order they started, or finished without starting (a cache hit)."""
    moment = node.started or node.finished
    return (moment is None, moment, node.key)


def _task_info(engine: Engine, node: Node) -> TaskInfo:
    """A node as faces show it; only a task that ran in this run has a log to point at."""
    log = engine.files.log_path(node)
    ran = not (node.reused or node.is_dag) and log.exists()
    return TaskInfo(
        node.key,
        node.status,
        node.started,
        node.finished,
        node.error,
        log if ran else None,
        display_name=node.display_name if node.display_name != node.name else None,
        iterations=_iterations(node) if node.is_loop else None,
    )


def _iterations(loop: Node) -> list[IterationInfo]:
    """Every iteration of a loop, opened or held back, with its state."""
    shown = []
    for position, scope in enumerate(loop.children):
        failed = scope.first_failure()
        shown.append(
            IterationInfo(
                position,
                item_text(scope.item),
                scope.status,
                failed.key if failed else None,
            )
        )
    return shown


def _failure_message(engine: Engine) -> str:
    """The first failed task, where it sat (loop iteration and item, condition), why it
    failed, and the end of its latest attempt's log (not of earlier ones: a resumed or
    retried task's log holds every attempt)."""
    node = engine.first_failure
    if node is None:
        return "the run failed"
    display = f" ({node.display_name})" if node.display_name != node.name else ""
    where = node.scope.describe()
    message = f"task {node.key!r}{display} failed{' ' + where if where else ''}: {node.error}"
    log = engine.files.log_path(node)
    if log.exists():
        with open(log, "rb") as text:
            text.seek(node.log_start)
            latest = text.read().decode(errors="replace")
        lines = latest.splitlines()[-LOG_TAIL_LINES:]
        if lines:
            message += "\n" + "\n".join(lines)
    return message
