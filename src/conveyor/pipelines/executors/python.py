"""Lightweight Python components, run in warm worker processes.

Workers are forked by a fork server (`_forkserver`), itself forked once from
the engine's process, which has kfp imported already: a new worker costs a fork
rather than an interpreter start, and the engine's own memory is forked once
per process, not once per run. Each worker then runs task after task. When the
engine's process runs native threads that a fork would break (an OpenMP pool
left by a model trained in a notebook), the fork server is a fresh interpreter
instead. Components with `packages_to_install` that are not importable here get
workers started from their cached virtual environment.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from conveyor.pipelines.executors import _forkserver, _worker, python_component, venvs
from conveyor.pipelines.executors.base import (
    CANCELLED,
    Done,
    Executor,
    ProcessHandle,
    Task,
    TaskRequest,
    TaskResult,
)


def start_workers() -> None:
    """Start the process that forks Python components' workers now, forked from this
    process if that is safe. Call it before opening an SQLite store: once one is open,
    workers come from a fresh interpreter instead (see `_forkserver`)."""
    if _forkserver.at_once():
        _forkserver.start()


class WorkerDied(Exception):
    """The worker process ended in the middle of a task."""


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, python: Path | None, conn: Connection, process: ProcessHandle) -> None:
        self.python = python
        """The interpreter of its package environment; None for the main environment."""
        self.conn = conn
        self.process = process

    @classmethod
    def from_fork_server(cls) -> Worker:
        """A worker for the main environment, forked by the fork server."""
        conn, process = _forkserver.spawn()
        return cls(None, conn, process)

    @classmethod
    def in_env(cls, python: Path) -> Worker:
        """A worker started by the interpreter of a package environment."""
        ours, theirs = multiprocessing.Pipe()
        process = subprocess.Popen(
            [str(python), _worker.__file__, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "_KFP_RUNTIME": "true"},
        )
        theirs.close()
        return cls(python, ours, process)

    def call(self, job: dict[str, Any]) -> tuple[bool, str | None]:
        try:
            self.conn.send(job)
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise WorkerDied(self._how_it_ended()) from None

    def _how_it_ended(self) -> str:
        code = self.process.wait()
        if code is None:
            return "the worker process ended, and so did the fork server it came from"
        if code < 0:
            return f"the worker process was killed by signal {signal.Signals(-code).name}"
        return f"the worker process exited with code {code}"

    def stop(self) -> None:
        """Ask an idle worker to end; it exits once it reads the request."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()


class PythonExecutor(Executor):
    """Runs `@dsl.component` functions; workers are reused across tasks of a run.
    Environments for `packages_to_install` are built under `envs_dir`."""

    def __init__(self, envs_dir: Path, log=None) -> None:
        super().__init__()
        self.envs_dir = envs_dir
        self._log = log
        self._idle_lock = threading.Lock()
        self._idle: dict[Path | None, list[Worker]] = {}

    def accepts(self, spec: dict[str, Any]) -> bool:
        return "container" in spec and python_component.parse(spec["container"]) is not None

    def submit(self, request: TaskRequest, done: Done) -> None:
        # A fork server forked from this process is forked here, on the engine's
        # thread, never from a task's thread in the middle of its bookkeeping. A
        # fresh interpreter starts on the task's thread instead.
        if _forkserver.at_once():
            _forkserver.start()
        super().submit(request, done)

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        component = python_component.parse(request.container)
        assert component is not None
        python = None
        if component.packages and not venvs.satisfied(component.packages):
            python = venvs.ensure_env(
                component.packages, component.index_urls, root=self.envs_dir, log=self._log
            )
        worker = self._take_idle(python)
        if worker is None:
            worker = Worker.in_env(python) if python else Worker.from_fork_server()
        if task.cancelled:
            self._put_idle(worker)
            return TaskResult(request.key, False, error=CANCELLED)
        try:
            with self.holding(task, worker.process):
                succeeded, error = worker.call(worker_job(request, component))
        except WorkerDied as died:
            return TaskResult(request.key, False, error=str(died))
        if task.cancelled:  # it may have been killed as it finished: not reused
            worker.process.kill()
            return TaskResult(request.key, False, error=CANCELLED)
        self._put_idle(worker)
        if not succeeded:
            return TaskResult(request.key, False, error=error)
        return TaskResult(request.key, True, executor_output=read_output(request))

    def _take_idle(self, python: Path | None) -> Worker | None:
        with self._idle_lock:
            idle = self._idle.get(python)
            return idle.pop() if idle else None

    def _put_idle(self, worker: Worker) -> None:
        with self._idle_lock:
            self._idle.setdefault(worker.python, []).append(worker)

    def release(self) -> None:
        with self._idle_lock:
            idle = [w for workers in self._idle.values() for w in workers]
            self._idle.clear()
        for worker in idle:
            worker.stop()


def worker_job(request: TaskRequest, component: python_component.PythonComponent) -> dict[str, Any]:
    """What `_worker.run` takes to run one task of a Python component."""
    return {
        "source": component.source,
        "function": component.function,
        "executor_input": request.executor_input,
        "env": request.env,
        "python_path": request.python_path,
        "log_path": str(request.log_path),
        "module_path": str(request.workdir / "ephemeral_component.py"),
    }


def read_output(request: TaskRequest) -> dict[str, Any]:
    """The ExecutorOutput kfp's executor wrote, if it wrote one."""
    path = Path(request.executor_input["outputs"]["outputFile"])
    if not path.exists():
        return {}
    return json.loads(path.read_text())
