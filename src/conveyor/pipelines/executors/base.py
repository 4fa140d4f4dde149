"""The contract between the engine and the ways a task can be executed.

The engine resolves a task into a `TaskRequest`: the KFP `ExecutorInput` JSON
(inputs with their values and artifacts, outputs with their local paths and the
`outputFile` where the executor output goes) plus the task's executor spec from
the pipeline's `deploymentSpec` (a `container` or an `importer`). The first
executor that `accepts` the spec runs it and reports a `TaskResult` through the
callback it was given; the engine never knows how.

`Executor` holds what every executor shares: each task on a thread of its own
(or on the caller's), which tasks run, which were cancelled, and `done` called
exactly once per task. An executor only says which tasks it takes (`accepts`)
and how to run one (`execute`); while a task's process runs inside `holding`,
`cancel` stops it through its `ProcessHandle`.
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from conveyor.errors import ConveyorError

CANCELLED = "cancelled"
"""The error of a task that `cancel` stopped."""


@dataclass
class TaskRequest:
    """One task, resolved and ready to run."""

    key: str
    """Unique within the run, e.g. `root/for-loop-2[3]/train`."""
    executor_input: dict[str, Any]
    """KFP ExecutorInput as JSON (`inputs`, `outputs`, `outputs.outputFile`)."""
    executor_spec: dict[str, Any]
    """The task's executor in the `deploymentSpec`: `{"container": ...}` or `{"importer": ...}`."""
    log_path: Path
    """Where the task's stdout and stderr go."""
    workdir: Path
    """A private folder for the task's scratch files."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables (`set_env_variable`, and `env` of the spec)."""
    output_parameter_types: dict[str, str] = field(default_factory=dict)
    python_path: list[str] = field(default_factory=list)
    """Folders put first on a Python component's `sys.path`: the pipeline file's own, for
    a `file.py:function` target, so components import its sibling modules."""
    """Declared type of each output parameter (`STRING`, `NUMBER_INTEGER`, ...)."""

    @property
    def container(self) -> dict[str, Any]:
        """The PipelineContainerSpec of a container task: `image`, `command`, `args`, `env`."""
        return self.executor_spec.get("container", {})


@dataclass
class TaskResult:
    """What an executor reports when a task ends."""

    key: str
    succeeded: bool
    executor_output: dict[str, Any] = field(default_factory=dict)
    """KFP ExecutorOutput as JSON (`parameterValues`, `artifacts`), if any."""
    error: str | None = None
    """One line on why the task failed (exception, exit code, signal)."""


Done = Callable[[TaskResult], None]


class ProcessHandle(Protocol):
    """What an executor holds for a task's running process: a `subprocess.Popen`, a
    worker forked by the fork server, a container's process group."""

    def wait(self) -> int | None:
        """Its exit code once it has ended (negative: the signal that killed it)."""
        ...

    def kill(self) -> None:
        """Stop it: at once, or after a grace period in which it may clean up."""
        ...


@dataclass
class Task:
    """A submitted task, from `submit` until its `done` is called."""

    key: str
    cancelled: bool = False
    process: ProcessHandle | None = None
    """What `cancel` stops, while the executor is `holding` it."""
    thread: threading.Thread | None = None


class Executor(abc.ABC):
    """Runs resolved tasks, several at once; each one's end is reported exactly once."""

    threaded: ClassVar[bool] = True
    """False runs each task inside `submit`, on the caller's thread."""
    reusable: ClassVar[bool] = True
    """Whether a task may take the results of an earlier execution (a cache hit, or
    resume) instead of running. An importer's may not: KFP records it on every run."""
    fetches_inputs: ClassVar[bool] = False
    """Whether the executor reads remote input artifacts at their URIs itself (on another
    machine); else they are fetched here first and the task reads local copies."""
    close_seconds: float = 5.0
    """How long `close` waits for each cancelled task to end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}

    @abc.abstractmethod
    def accepts(self, spec: dict[str, Any]) -> bool:
        """Whether this executor runs tasks of this executor spec (`TaskRequest.executor_spec`)."""

    @abc.abstractmethod
    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        """Run one task to its end. An exception fails the task with a one-line error."""

    def pre_cache_check(self, spec: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        """What a task's cache key covers besides its inputs, computed before the cache is
        consulted (Vertex AI's `lifecycle.preCacheCheck`): e.g. a fingerprint of the files a
        TFX ExampleGen reads. Most executors add nothing."""
        return {}

    def release(self) -> None:  # noqa: B027 (most executors keep nothing between tasks)
        """Free what is kept between tasks (idle workers); `close` calls it."""

    def submit(self, request: TaskRequest, done: Done) -> None:
        """Start the task; `done` is called exactly once, from any thread, when it ends."""
        task = Task(request.key)
        with self._lock:
            self._tasks[task.key] = task
        if not self.threaded:
            self._run(request, task, done)
            return
        task.thread = threading.Thread(
            target=self._run, args=(request, task, done), name=f"task {task.key}", daemon=True
        )
        task.thread.start()

    def cancel(self, key: str) -> None:
        """Stop a running task; its `done` is still called, as failed with "cancelled".
        A task that is not running is left alone."""
        with self._lock:
            task = self._tasks.get(key)
            if task is None or task.cancelled:
                return
            task.cancelled = True
            process = task.process
        if process is not None:
            process.kill()

    def close(self) -> None:
        """Cancel what still runs and release the rest; called once at the end of a run."""
        with self._lock:
            tasks = list(self._tasks.values())
        for task in tasks:
            self.cancel(task.key)
        self.release()
        for task in tasks:
            if task.thread is not None:
                task.thread.join(timeout=self.close_seconds)

    @contextlib.contextmanager
    def holding(self, task: Task, process: ProcessHandle) -> Iterator[None]:
        """While the block runs, `cancel` stops `process`; if the task was cancelled
        already, it is stopped at once. Either way the block runs to its end."""
        with self._lock:
            task.process = process
            cancelled = task.cancelled
        if cancelled:
            process.kill()
        try:
            yield
        finally:
            with self._lock:
                task.process = None

    def _run(self, request: TaskRequest, task: Task, done: Done) -> None:
        result = None
        try:
            result = self._outcome(request, task)
        finally:
            # No result: Ctrl-C interrupted a task on the caller's thread; it ends cancelled.
            with self._lock:
                self._tasks.pop(task.key, None)
                cancelled = task.cancelled or result is None
            done(TaskResult(task.key, False, error=CANCELLED) if cancelled else result)

    def _outcome(self, request: TaskRequest, task: Task) -> TaskResult:
        try:
            return self.execute(request, task)
        except ConveyorError as exc:  # says what went wrong in its own words
            return TaskResult(request.key, False, error=str(exc))
        except Exception as exc:  # a failure of ours must still end the task
            return TaskResult(request.key, False, error=f"{type(exc).__name__}: {exc}")
