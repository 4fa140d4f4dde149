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
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from conveyor.pipelines.executors import _forkserver, _worker, python_component, venvs
from conveyor.pipelines.executors.base import Done, Executor, TaskRequest, TaskResult


class WorkerDied(Exception):
    """The worker process ended in the middle of a task."""


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, python: Path | None, conn: Connection, process: Any) -> None:
        self.python = python
        """The interpreter of its package environment; None for the main environment."""
        self.conn = conn
        self.process = process
        """A `subprocess.Popen` or a `_forkserver.ServedProcess`."""

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

    def kill(self) -> None:
        self.process.kill()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()
        if isinstance(self.process, _forkserver.ServedProcess):
            self.process.close()


class PythonExecutor(Executor):
    """Runs `@dsl.component` functions; workers are reused across tasks of a run."""

    def __init__(self, log=None) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._idle: dict[Path | None, list[Worker]] = {}
        self._busy: dict[str, Worker] = {}
        self._cancelled: set[str] = set()

    def accepts(self, container: dict[str, Any]) -> bool:
        return python_component.parse(container) is not None

    def submit(self, request: TaskRequest, done: Done) -> None:
        component = python_component.parse(request.container)
        assert component is not None
        # A worker that comes at once comes here, on the engine's thread, so that
        # forking the fork server never races with a task thread's bookkeeping. One
        # that must wait (a fresh fork server, a package environment) starts on the
        # task's thread.
        needs_env = bool(component.packages) and not venvs.satisfied(component.packages)
        worker = None if needs_env else self._acquire(None, request.key, _worker_at_once)
        thread = threading.Thread(
            target=self._run,
            args=(request, component, needs_env, worker, done),
            name=f"task {request.key}",
            daemon=True,
        )
        thread.start()

    def _run(
        self,
        request: TaskRequest,
        component: python_component.PythonComponent,
        needs_env: bool,
        worker: Worker | None,
        done: Done,
    ) -> None:
        try:
            if worker is None and needs_env:
                python = venvs.ensure_env(component.packages, component.index_urls, log=self._log)
                worker = self._acquire(python, request.key, lambda: Worker.in_env(python))
            elif worker is None:
                worker = self._acquire(None, request.key, Worker.from_fork_server)
            assert worker is not None
            result = self._execute(request, component, worker)
        except Exception as exc:  # a failure of ours must still end the task
            self._forget(request.key)
            result = TaskResult(request.key, False, error=f"{type(exc).__name__}: {exc}")
        if request.key in self._cancelled:
            result = TaskResult(request.key, False, error="cancelled")
        done(result)

    def _execute(
        self, request: TaskRequest, component: python_component.PythonComponent, worker: Worker
    ) -> TaskResult:
        if request.key in self._cancelled:
            self._release(request.key, worker)
            return TaskResult(request.key, False, error="cancelled")
        job = {
            "source": component.source,
            "function": component.function,
            "executor_input": request.executor_input,
            "env": request.env,
            "log_path": str(request.log_path),
            "module_path": str(request.workdir / "ephemeral_component.py"),
        }
        try:
            succeeded, error = worker.call(job)
        except WorkerDied as died:
            self._forget(request.key)
            return TaskResult(request.key, False, error=str(died))
        self._release(request.key, worker)
        if not succeeded:
            return TaskResult(request.key, False, error=error)
        return TaskResult(request.key, True, executor_output=_read_output(request))

    def _acquire(
        self, python: Path | None, key: str, new: Callable[[], Worker | None]
    ) -> Worker | None:
        """An idle worker of that environment, else `new()`; it is busy with `key`."""
        with self._lock:
            idle = self._idle.get(python)
            worker = idle.pop() if idle else None
        if worker is None:
            worker = new()
        if worker is not None:
            with self._lock:
                self._busy[key] = worker
        return worker

    def _release(self, key: str, worker: Worker) -> None:
        with self._lock:
            self._busy.pop(key, None)
            self._idle.setdefault(worker.python, []).append(worker)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._busy.pop(key, None)

    def cancel(self, key: str) -> None:
        with self._lock:
            worker = self._busy.get(key)
            self._cancelled.add(key)
        if worker is not None:
            worker.kill()

    def close(self) -> None:
        with self._lock:
            busy = list(self._busy.values())
            idle = [w for workers in self._idle.values() for w in workers]
            self._idle.clear()
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.stop()


def _worker_at_once() -> Worker | None:
    """A main-environment worker if one comes at once (`_forkserver.at_once`), else None."""
    return Worker.from_fork_server() if _forkserver.at_once() else None


def _read_output(request: TaskRequest) -> dict[str, Any]:
    path = Path(request.executor_input["outputs"]["outputFile"])
    if not path.exists():
        return {}
    return json.loads(path.read_text())
