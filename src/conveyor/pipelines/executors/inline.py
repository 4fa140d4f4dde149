"""Python components run in the engine's own process, on its thread: for debugging.

`conveyor.run(pipeline, executor="inline")` (or `conveyor run --executor
inline`) runs each lightweight Python component where `conveyor.run` was
called, one task at a time, through kfp's executor as a worker would: a
`breakpoint()` in a component, or a plain debugger stepping into it, stops there.
The component's code is its source as compiled into the pipeline, loaded from
`ephemeral_component.py` in the task's folder, so that is the file a traceback
or a debugger shows. Its output goes to the task's log and to this process's
stderr, which leaves stdout to the caller (`--json`); output of the
subprocesses it starts goes only to this process's streams.

Ctrl-C stops the task and cancels the run. A component that calls `os._exit`
or crashes the interpreter ends the calling process too: the price of running
in it. Container components and importers run as they do with the local
executors; a component whose `packages_to_install` are not installed here fails,
saying so.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import IO, Any

from conveyor.errors import ConveyorError
from conveyor.pipelines.executors import _worker, python_component, venvs
from conveyor.pipelines.executors.base import Executor, Task, TaskRequest, TaskResult
from conveyor.pipelines.executors.python import read_output, worker_job


class InlineError(ConveyorError):
    """A task that the inline executor cannot run in this process."""


class InlineExecutor(Executor):
    """Runs `@dsl.component` functions inside `submit`, on the caller's thread."""

    threaded = False

    def accepts(self, spec: dict[str, Any]) -> bool:
        return "container" in spec and python_component.parse(spec["container"]) is not None

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        component = python_component.parse(request.container)
        assert component is not None
        if component.packages and not venvs.satisfied(component.packages):
            raise InlineError(
                f"its packages_to_install ({', '.join(component.packages)}) are not installed "
                "here, and the inline executor runs components in this process: install "
                "them, or use --executor local"
            )
        job = worker_job(request, component)
        succeeded, error = _worker.run(job, output=_echoed_to, interruptible=True)
        if not succeeded:
            return TaskResult(request.key, False, error=error)
        return TaskResult(request.key, True, executor_output=read_output(request))


@contextlib.contextmanager
def _echoed_to(log_path: str) -> Iterator[None]:
    """`sys.stdout` and `sys.stderr` written to the log and to `sys.stderr`."""
    out, err = sys.stdout, sys.stderr
    with open(log_path, "a", buffering=1) as log:
        sys.stdout = sys.stderr = _Tee(err, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err


class _Tee:
    """A text stream that writes to two: the one it stands for, and a log."""

    def __init__(self, stream: IO[str], log: IO[str]) -> None:
        self._stream = stream
        self._log = log

    def write(self, text: str) -> int:
        self._log.write(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._log.flush()
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding...: the stream's
        return getattr(self._stream, name)
