"""A warm worker: runs lightweight Python components one after another.

It starts once (forked from the engine, or as `python _worker.py FD` inside a
`packages_to_install` environment) and then takes jobs over a pipe, so a task
costs an `exec` of the component's source instead of an interpreter start and
a kfp import. It imports only the standard library and kfp, because inside a
cached environment Conveyor itself is not installed.

A job is a dict: `source`, `function`, `executor_input`, `env`, `log_path`,
`module_path`. The answer is `(succeeded, error_line)`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

_PARENT_CHECK_SECONDS = 1.0


def serve(conn: Connection) -> None:
    """Answer jobs until the pipe closes or the engine process goes away."""
    # Ctrl-C reaches the whole process group; the engine decides what to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["_KFP_RUNTIME"] = "true"
    # A forked worker inherits whatever the engine's process had as sys.stdout (a
    # test runner's capture, a notebook stream, a live display): write to the
    # real file descriptors instead, which each task points at its log file.
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    _exit_with(os.getppid())
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(run(job))


def _exit_with(parent: int) -> None:
    """End this worker, even mid-task, when the engine's process is gone (killed)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def run(job: dict[str, Any]) -> tuple[bool, str | None]:
    """Run one component with its output going to its log file."""
    saved_environ = dict(os.environ)
    os.environ.update(job["env"])
    with _output_to(job["log_path"]):
        try:
            module = _load(job["module_path"], job["source"])
            from kfp.dsl import executor

            function = getattr(module, job["function"])
            executor.Executor(
                executor_input=job["executor_input"], function_to_execute=function
            ).execute()
            return True, None
        except SystemExit as exc:
            if exc.code in (None, 0):
                return True, None
            return False, f"the component called sys.exit({exc.code!r})"
        except BaseException as exc:
            traceback.print_exc()
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            sys.modules.pop(_MODULE_NAME, None)
            os.environ.clear()
            os.environ.update(saved_environ)


_MODULE_NAME = "ephemeral_component"


def _load(path: str, source: str) -> Any:
    """Import the component's source as a fresh module, so tracebacks show its lines."""
    with open(path, "w") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _output_to(log_path: str):
    """Send file descriptors 1 and 2 (and so subprocesses' output too) to the log."""
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = os.dup(1), os.dup(2)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, log):
            os.close(fd)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
