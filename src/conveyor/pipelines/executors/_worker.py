"""A warm worker: runs lightweight Python components one after another.

It starts once (forked by the fork server, see `_forkserver`, or as
`python _worker.py FD` inside a `packages_to_install` environment) and then
takes jobs over a pipe, so a task costs an `exec` of the component's source
instead of an interpreter start and a kfp import. It imports only the standard
library and kfp, because inside a cached environment Conveyor itself is not
installed.

A job is a dict: `source`, `function`, `executor_input`, `env`, `log_path`,
`module_path`. The answer is `(succeeded, error_line)`. The inline executor
calls `run` in the engine's own process.

The fork server (`python _worker.py --fork-server FD`, see `_forkserver`) is a
clean process that has imported kfp and forks a worker for each pipe end the
engine sends it. Its workers first receive what a fork from the engine would
have given them: `{"environ", "cwd", "sys_path"}`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from typing import Any, NoReturn

_PARENT_CHECK_SECONDS = 1.0
Output = Callable[[str], AbstractContextManager[object]]
"""Where a task's output goes while it runs, given its log's path."""


def serve(conn: Connection, *, configure: bool = False) -> None:
    """Answer jobs until the pipe closes or the process that started this one goes away.

    With `configure`, the first message is the engine's environment, working
    folder and `sys.path`, which a worker forked from the fork server takes on.
    """
    # Ctrl-C reaches the whole process group; the engine decides what to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if configure:
        try:
            setup = conn.recv()
        except (EOFError, OSError):
            return
        os.environ.clear()
        os.environ.update(setup["environ"])
        os.chdir(setup["cwd"])
        sys.path[:] = setup["sys_path"]
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
    """End this worker, even mid-task, when its parent is gone (the engine's process, or
    the fork server, which ends when the engine's process does)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def run(
    job: dict[str, Any], output: Output | None = None, *, interruptible: bool = False
) -> tuple[bool, str | None]:
    """Run one component with its output going to its log file: through file
    descriptors 1 and 2 (subprocesses' output too), or as `output` sends it.

    With `interruptible` (a task run in the caller's process, where Ctrl-C
    lands), a KeyboardInterrupt is not the task's failure: it goes on up.
    """
    saved_environ, saved_path = dict(os.environ), list(sys.path)
    os.environ.update(job["env"])
    sys.path[:0] = job["python_path"]
    with (output or _output_to)(job["log_path"]):
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
            if interruptible and isinstance(exc, KeyboardInterrupt):
                raise
            traceback.print_exc()
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            sys.modules.pop(_MODULE_NAME, None)
            os.environ.clear()
            os.environ.update(saved_environ)
            sys.path[:] = saved_path


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


def fork_server(control: socket.socket) -> None:
    """Fork a worker for each pipe end received on `control`, until the engine is gone.

    Each request is one byte with a worker's pipe end attached; the answer is the
    worker's pid (8 bytes) with the read end of a pipe attached, on which the
    worker's exit code (8 bytes, negative for a signal) arrives once it has ended.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Its workers run tasks with `_KFP_RUNTIME=true` (`serve`), as kfp's containers do; with
    # it, unless the engine imported kfp already, kfp's executor comes without the rest of
    # the SDK and the Kubernetes client (a twentieth of a second rather than half a second
    # before the first task of a compiled pipeline). Workers take the engine's environment.
    os.environ["_KFP_RUNTIME"] = "true"
    with contextlib.suppress(ImportError):  # else each worker imports it with the engine's path
        from kfp.dsl import executor  # noqa: F401  (what every worker needs, imported once)

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    statuses: dict[int, int] = {}  # worker pid -> write end of its exit code pipe
    while True:
        ready, _, _ = select.select([control, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(statuses)
        if control in ready:
            try:
                data, fds, _, _ = socket.recv_fds(control, 1, 1)
            except OSError:
                data, fds = b"", []
            if not data or not fds:
                return  # the engine's process closed its end: it is gone
            status_r, status_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.setpgid(0, 0)  # its own process group: a cancel stops what it started too
                control.close()
                for fd in (wake_r, wake_w, status_r, status_w, *statuses.values()):
                    os.close(fd)
                _run_forked(fds[0])
            os.close(fds[0])
            with contextlib.suppress(OSError):  # set from both sides: no race with a kill
                os.setpgid(pid, pid)
            statuses[pid] = status_w
            try:
                socket.send_fds(control, [struct.pack("=q", pid)], [status_r])
            except OSError:
                return  # the engine's process is gone
            finally:
                os.close(status_r)


def _run_forked(fd: int) -> NoReturn:
    """The life of a worker forked by the fork server; never returns."""
    gc.enable()  # a server forked from the engine runs without it
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 0
    try:
        serve(Connection(fd), configure=True)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(statuses: dict[int, int]) -> None:
    """Collect ended workers and send each one's exit code down its pipe."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = statuses.pop(pid, None)
        if fd is not None:
            with contextlib.suppress(OSError):  # the engine may have stopped listening
                os.write(fd, struct.pack("=q", os.waitstatus_to_exitcode(status)))
            os.close(fd)


if __name__ == "__main__":
    if sys.argv[1] == "--fork-server":
        fork_server(socket.socket(fileno=int(sys.argv[2])))
    else:
        serve(Connection(int(sys.argv[1])))
