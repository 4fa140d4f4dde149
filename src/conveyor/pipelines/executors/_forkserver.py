"""The fork server: the one process that forks warm workers.

Workers are forked, so a worker costs a fork rather than an interpreter start
and a kfp import. They are not forked from the engine's process itself: after
a fork, every page of the engine's memory that it writes to again costs a page
fault, and a fully cached run right after a run would pay thousands. So the
engine's process forks once, a fork server, which forks every worker on
request; each worker takes on the engine's current environment, working folder
and `sys.path` before its first job. The server ends when the engine's process
does (its end of the socket closes), and its workers follow it.

A forked child has only the thread that forked it. Threads Python started are
fine (their locks are reset after a fork), and so are native thread pools that
prepare for a fork (OpenBLAS, which numpy loads). Two runtimes are not: GNU
OpenMP (libgomp: LightGBM, XGBoost, scikit-learn, PyTorch) keeps its thread
pool's state across a fork, so the child's next parallel region waits forever
for threads that do not exist; CUDA refuses to start in a forked child; and
Apache Arrow (pyarrow) running its thread pools has aborted workers forked
after it ("error closing file": it closes again, in each forked child, files
of its own that the fork server has closed).
`fork_is_safe` says no when this process runs threads that Python did not start
(`/proc/self/task` against `threading`) and has one of those runtimes loaded
(`/proc/self/maps`): a notebook that trained a model before calling
`conveyor.run`. It says no too while this process has an SQLite database open in
WAL mode (its `-shm` file mapped): SQLite keeps each open file's locks in the
process's memory, which a fork copies while the server then closes the files
they name, so a worker opening that database (a component's `Client()`) would
lock through numbers that now name other files (`locking protocol`, at best).
`conveyor run` starts the server before it opens its home (`start_workers`).
Both are read in about a millisecond, on Linux; elsewhere a fork is taken to be
safe. Then the fork server is a fresh interpreter instead,
`python _worker.py --fork-server FD`, which imports kfp's executor first (an
interpreter's start: with `_KFP_RUNTIME`, as in kfp's containers, not the whole SDK).

    conn, process = _forkserver.spawn()   # then conn.send(job), process.wait()
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import multiprocessing
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import warnings
import weakref
from multiprocessing.connection import Connection
from pathlib import Path

from conveyor.pipelines.executors import _worker

_TASKS = Path("/proc/self/task")
_MAPS = Path("/proc/self/maps")
_UNSAFE_RUNTIMES = (b"/libgomp", b"/libcuda.", b"/libarrow.")
"""Libraries (as mapped file names) whose threads a forked child cannot do without."""
_SETTLE_SECONDS = 0.005
_READY = b"r"
"""What a fork server forked from here says once it holds none of the engine's files."""


class ForkServerError(Exception):
    """The fork server could not start a worker."""


def fork_is_safe() -> bool:
    """Whether a worker forked from this process would work (see the module docstring).

    A thread Python started but has just finished leaves `threading` a moment
    before the system forgets it: only threads still there a moment later count.
    """
    maps = _mapped()
    if _sqlite_open(maps):
        return False
    foreign = _foreign_threads()
    if not foreign or not any(name in maps for name in _UNSAFE_RUNTIMES):
        return True
    time.sleep(_SETTLE_SECONDS)
    return not foreign & (_foreign_threads() or set())


def _foreign_threads() -> set[int]:
    """Thread ids of this process that no `threading.Thread` stands for (Linux)."""
    try:
        ids = {int(name) for name in os.listdir(_TASKS)}
    except OSError:
        return set()
    return ids - {thread.native_id for thread in threading.enumerate()}


def _mapped() -> bytes:
    """The files this process maps (`/proc/self/maps`; empty where there is none)."""
    try:
        return _MAPS.read_bytes()
    except OSError:
        return b""


def _sqlite_open(maps: bytes | None = None) -> bool:
    """Whether an SQLite database in WAL mode is open here (its `-shm` file mapped)."""
    return b"-shm\n" in (_mapped() if maps is None else maps)


class ServedProcess:
    """A worker forked by the fork server: a `subprocess.Popen` look-alike.

    The pipe of its exit code closes once it has been read, or with this object.
    """

    def __init__(self, pid: int, status_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status_fd: int | None = status_fd
        self._closing = weakref.finalize(self, os.close, status_fd)

    def kill(self) -> None:
        """Stop the worker and every process its task started (its process group)."""
        if self._ended():
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # not yet its group's leader
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int | None:
        """The exit code (negative for a signal) once the worker has ended; None if
        the fork server went away first."""
        if self._status_fd is not None:
            data = b""
            while len(data) < 8:
                chunk = os.read(self._status_fd, 8 - len(data))
                if not chunk:
                    break
                data += chunk
            if len(data) == 8:
                (self.returncode,) = struct.unpack("=q", data)
            self.close()
        return self.returncode

    def close(self) -> None:
        """Stop listening for the exit code."""
        self._closing()
        self._status_fd = None

    def _ended(self) -> bool:
        """Whether the exit code is there, so the pid may already belong to another process."""
        if self._status_fd is None:
            return True
        readable, _, _ = select.select([self._status_fd], [], [], 0)
        return bool(readable)


class ForkedServer:
    """The fork server forked from this process (a `subprocess.Popen` look-alike): it
    starts at once, with kfp imported already."""

    def __init__(self, ours: socket.socket, theirs: socket.socket) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a threaded process; the child only
            # serves forks, and `fork_is_safe` has checked the threads that are not
            # Python's.
            warnings.filterwarnings(
                "ignore", message=".*multi-threaded.*fork", category=DeprecationWarning
            )
            self.pid = os.fork()
        if self.pid == 0:
            code = 0
            try:
                # The engine's objects stay as they were: none is finalized here, so
                # closing every inherited file but the socket (the engine's listening
                # sockets, its pipes, its database) cannot close a reused number later.
                gc.disable()
                keep = theirs.fileno()
                os.closerange(3, keep)
                os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
                theirs.sendall(_READY)
                _worker.fork_server(theirs)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        self.returncode: int | None = None
        if ours.recv(len(_READY)) != _READY:  # its files are closed: none of ours is held
            raise ForkServerError(f"the fork server ended as it started ({self.wait(5)})")

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: it has ended
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"fork server {self.pid}", timeout or 0)
            time.sleep(0.01)
        return code


class ForkServer:
    """The engine's end of one fork server process."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with theirs:
            if fork_is_safe():
                self.process: subprocess.Popen[bytes] | ForkedServer = ForkedServer(ours, theirs)
            else:
                self.process = subprocess.Popen(
                    [sys.executable, _worker.__file__, "--fork-server", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                )
        self.socket = ours

    def spawn(self, conn: Connection) -> ServedProcess:
        """Fork a worker that serves `conn` (the worker's end of a pipe)."""
        try:
            socket.send_fds(self.socket, [b"w"], [conn.fileno()])
            data, fds, _, _ = socket.recv_fds(self.socket, 8, 1)
            while fds and 0 < len(data) < 8:
                data += self.socket.recv(8 - len(data))
        except OSError as error:
            raise ForkServerError(f"the fork server is gone ({error})") from None
        if len(data) != 8 or not fds:
            for fd in fds:
                os.close(fd)
            raise ForkServerError(f"the fork server is gone ({self._how_it_ended()})")
        (pid,) = struct.unpack("=q", data)
        return ServedProcess(pid, fds[0])

    def alive(self) -> bool:
        return self.process.poll() is None

    def _how_it_ended(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        return f"it exited with code {code}"

    def stop(self, timeout: float) -> None:
        """Close our end; the server sees it and exits."""
        self.socket.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)

    def forget(self) -> None:
        """In a forked child of the engine's process: this server is the parent's."""
        self.socket.close()


_lock = threading.Lock()
_server: ForkServer | None = None


def at_once() -> bool:
    """Whether a worker comes without waiting: the fork server runs, or can be forked
    from here (a fresh interpreter would start and import kfp's executor first)."""
    return (_server is not None and _server.alive()) or fork_is_safe()


def server_pid() -> int | None:
    """The process id of the fork server, if one runs."""
    with _lock:
        return _server.process.pid if _server is not None and _server.alive() else None


def start() -> None:
    """Start the fork server now, if none runs, so that it imports kfp's executor meanwhile."""
    with _lock:
        _running()


def spawn() -> tuple[Connection, ServedProcess]:
    """A worker forked by the fork server, and the engine's end of its pipe.

    The worker first gets this process's environment, working folder and
    `sys.path`, as a fork from here would have given it.
    """
    with _lock:
        try:
            ours, process = _spawn_locked()
        except ForkServerError:  # it died since the last worker: start another, once
            _stop_locked()
            ours, process = _spawn_locked()
    ours.send({"environ": dict(os.environ), "cwd": os.getcwd(), "sys_path": list(sys.path)})
    return ours, process


def _spawn_locked() -> tuple[Connection, ServedProcess]:
    # The server starts before the worker's pipe exists: one forked from here must
    # not hold the pipe's ends, or the engine would not see the worker end.
    server = _running()
    ours, theirs = multiprocessing.Pipe()
    try:
        with theirs:
            return ours, server.spawn(theirs)
    except ForkServerError:
        ours.close()
        raise


def stop() -> None:
    """Stop the fork server, if one runs (at exit, and in tests)."""
    with _lock:
        _stop_locked()


def _running() -> ForkServer:
    global _server
    if _server is None or not _server.alive():
        _stop_locked()
        _server = ForkServer()
    return _server


def _stop_locked() -> None:
    global _server
    if _server is not None:
        _server.stop(timeout=1.0)
        _server = None


def _forget_in_child() -> None:
    """In a forked child of this process, the server and the lock are the parent's."""
    global _lock, _server
    _lock = threading.Lock()
    if _server is not None:
        _server.forget()
        _server = None


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(stop)
