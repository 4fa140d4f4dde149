"""Running a server: `serve()` starts uvicorn on the app that a factory makes of a home.

    serve(app="conveyor.api.server:create_app", workers=2)     # what `conveyor serve` does

The settings are read once, here: the home's (`conveyor.config.Settings`) and the
server's (`ServerSettings`, with `serve`'s options on top). They reach every worker
process inside uvicorn's app factory itself (`Worker`: the import path of the factory and
both settings): uvicorn pickles its config, factory included, into each worker it spawns
(`uvicorn.supervisors.Multiprocess`), and the worker calls it, which imports the factory
and opens its own home. Nothing is written to the environment for Conveyor.

One variable is prometheus_client's own contract: with several workers, each writes its
metrics to the folder `PROMETHEUS_MULTIPROC_DIR` names, and `/metrics` adds them up. The
library reads it when it is first imported in a worker, before any factory runs, so it
can only be inherited: `serve` sets it to a fresh folder while the workers run (they are
spawned from this process's environment) and puts the variable back as it was, and
removes the folder, when they have stopped. One worker needs no folder and sets nothing.

uvicorn picks its fastest HTTP parser and event loop when they are installed
(`httptools`, `uvloop`). The listening socket is made here (`listening`), with
TCP_NODELAY, which its connections inherit: uvicorn's HTTP/1.1 answers go out in two
writes (head, then body), so on a kept-alive connection every answer would otherwise wait
for the client's delayed ACK: 40 ms a request on Linux. A port in use is refused here, once,
with a message that says so.

Ready means answering: `serve` calls `on_ready(url)` (`conveyor serve` prints its ready
line) only once every worker has finished its startup (opened its home, loaded its
models; each says so over a pipe, `Worker`) and a request to the server was answered,
so that users and scripts can wait for it and then send requests.

Workers never outlive the server: each watches its parent (`watch_parent`) and stops
when the parent is gone, even SIGKILLed, which would otherwise leave them holding the
port so that no new server could take it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import http.client
import importlib
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from conveyor.config import Settings
from conveyor.errors import UsageError
from conveyor.serving.settings import ServerSettings

Factory = Callable[[Settings, ServerSettings], Any]
"""Makes the ASGI app of a home's settings and the server's (`conveyor.api.server`)."""

GRACEFUL_SHUTDOWN_SECONDS = 30
"""How long a stopping worker lets requests in flight finish."""

BACKLOG = 2048
"""Connections the listening socket queues while every worker is busy (uvicorn's
default)."""

WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn's supervisor waits for a worker to answer its health check before it
kills and replaces the worker (uvicorn's 5 s default killed workers still starting on a
busy machine, over and over)."""


def nodelay(sock: socket.socket) -> socket.socket:
    """`sock` (a TCP listener) with TCP_NODELAY, and known to asyncio as TCP so that it
    sets TCP_NODELAY on every connection it accepts, too."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tcp.set_inheritable(True)
    return tcp


def listening(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port`, for the workers to listen on; a port another
    server holds is a `UsageError` that says so (not uvicorn's bare errno)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            reason = "the port is in use (stop the server on it, or choose another --port)"
        else:
            reason = error.strerror or str(error)
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    # Listening at once makes the port ours (a second server is refused here, not in its
    # workers), and connections made while the workers start wait to be answered.
    sock.listen(BACKLOG)
    return nodelay(sock)


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    app: str,
    settings: Settings | None = None,
    workers: int = 1,
    max_request_bytes: int | None = None,
    log_sample_rate: float | None = None,
    tokens_file: Path | None = None,
    access_log: bool = False,
    log_level: str = "info",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve what `app` makes (the import path of a `Factory`) of the home `settings`
    describe (default: the environment's), until interrupted (Ctrl-C or SIGTERM);
    `on_ready(url)` is called once the server answers requests."""
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if not 0 < port < 65536:
        raise UsageError(f"--port must be from 1 to 65535, not {port}")
    options = {
        "CONVEYOR_MAX_REQUEST_BYTES": max_request_bytes,
        "CONVEYOR_PREDICTION_LOG_RATE": log_sample_rate,
        "CONVEYOR_API_TOKENS_FILE": tokens_file,
    }
    given = {name: str(value) for name, value in options.items() if value is not None}
    # A bad setting fails here, once, not in every worker.
    server_settings = ServerSettings.from_env({**os.environ, **given})
    _factory(app)  # a wrong path fails here, once, not in every worker
    sock = listening(host, port)
    started, announce = multiprocessing.Pipe(duplex=False)
    worker = Worker(
        app,
        settings or Settings.from_env(),
        server_settings,
        announce,
        parent=os.getpid() if workers > 1 else None,
    )
    config = uvicorn.Config(
        worker,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    with _announcing_when_ready(started, workers, host, port, on_ready), sock, announce:
        try:
            if workers > 1:
                with _metrics_folder():
                    Multiprocess(config, sockets=[sock]).run()
            else:
                with _terminated_cleanly():
                    uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:
            pass


@dataclasses.dataclass(frozen=True)
class Worker:
    """The app factory uvicorn calls in each server process (pickled into every worker
    it spawns): makes the app of the factory at `app` (`module:name`), has it tell
    `announce` when its startup is done, and, in a worker with a `parent`, watches that
    parent.

    It holds the factory's import path, not the factory: unpickling it in a new worker
    imports only this module, so that the worker answers uvicorn's health checks at
    once, while the app's heavy imports happen when uvicorn calls it."""

    app: str
    settings: Settings
    server_settings: ServerSettings
    announce: Connection
    parent: int | None = None

    def __call__(self) -> Any:
        if self.parent is not None:
            watch_parent(self.parent, grace=GRACEFUL_SHUTDOWN_SECONDS + 10)
        made = _factory(self.app)(self.settings, self.server_settings)
        return announcing(made, self.announce)


def announcing(app: Any, announce: Connection) -> Any:
    """`app` (ASGI), sending this process's id to `announce` once its lifespan startup is
    complete (the home is open, the models are loaded) and uvicorn has logged so."""

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def sending(message: dict) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                # `send` woke uvicorn's startup, whose next step (scheduled first, run
                # first) logs "Application startup complete."; announce after it.
                asyncio.get_running_loop().call_soon(announce.send, os.getpid())

        await app(scope, receive, sending)

    return wrapped


def watch_parent(parent: int, grace: float, interval: float = 0.2) -> threading.Thread:
    """Stop this process once its parent `parent` is gone, however it died.

    A daemon thread polls `os.getppid()`: when the parent dies, even by SIGKILL, the
    worker is re-parented (to init, launchd or a subreaper), so its parent id changes.
    Then the worker sends itself SIGTERM, which uvicorn takes as a graceful shutdown
    (listening socket closed first, requests in flight finished, prediction logs
    flushed, home closed), and exits at once if that has not ended within `grace`
    seconds. Chosen over Linux's `prctl(PR_SET_PDEATHSIG)`, which needs ctypes, fires
    when the *thread* that forked the worker ends rather than its process, and exists
    neither on macOS nor anywhere else; a poll of one system call every `interval`
    seconds costs nothing and works wherever there is `getppid`."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    thread = threading.Thread(target=watch, name="conveyor-parent-watch", daemon=True)
    thread.start()
    return thread


@contextmanager
def _announcing_when_ready(
    started: Connection,
    workers: int,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None,
) -> Iterator[None]:
    """While the server runs, a thread that calls `on_ready(url)` once `workers` distinct
    processes have said, over `started`, that their startup is complete, and a request
    to the server was answered; `started` is closed once that thread has ended."""
    stop = threading.Event()
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def report() -> None:
        ready: set[int] = set()
        while len(ready) < workers:
            if stop.is_set():
                return
            if started.poll(0.1):
                ready.add(started.recv())
        if on_ready is not None and _answers(_reachable(host), port, stop):
            on_ready(url)

    thread = threading.Thread(target=report, name="conveyor-ready", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        started.close()


@contextmanager
def _terminated_cleanly() -> Iterator[None]:
    """A server stopped by SIGTERM exits 0, as after Ctrl-C and as with several workers.

    Once stopped, uvicorn raises again the SIGTERM that stopped it, for the handler that
    was there before; left at the default, that kills the process (exit 143) after a
    clean stop. While the server runs, that handler is one that takes the stop as done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda number, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _reachable(host: str) -> str:
    """The address to reach a server bound to `host` from this machine: loopback for the
    wildcard addresses."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def _answers(host: str, port: int, stop: threading.Event) -> bool:
    """Whether the server at `host`:`port` answered an HTTP request (any status: with
    tokens required, 401 is an answer too), retrying until `stop` is set."""
    while not stop.is_set():
        connection = http.client.HTTPConnection(host, port, timeout=5)
        try:
            connection.request("GET", "/v2/health/live")
            connection.getresponse().read()
            return True
        except OSError:
            stop.wait(0.05)
        finally:
            connection.close()
    return False


def _factory(path: str) -> Factory:
    """The factory at `module:name`, imported here so that a wrong path fails once."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@contextmanager
def _metrics_folder() -> Iterator[None]:
    """`PROMETHEUS_MULTIPROC_DIR` set to a fresh folder while the workers run (see the
    module docstring), then the variable as it was and the folder gone."""
    previous = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = tempfile.mkdtemp(prefix="conveyor-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)
