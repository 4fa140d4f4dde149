"""Running a server: `serve()` starts uvicorn on the app that a factory makes of a home.

    serve(app="conveyor.api.server:create_app", workers=2)     # what `conveyor serve` does

The settings are read once, here: the home's (`conveyor.config.Settings`) and the
server's (`ServerSettings`, with `serve`'s options on top). They reach every worker
process inside the app factory itself, `functools.partial(factory, settings,
server_settings)`: uvicorn pickles its config, factory included, into each worker it
spawns (`uvicorn.supervisors.Multiprocess`), and the worker calls the factory, which opens
its own home. Nothing is written to the environment for Conveyor.

One variable is prometheus_client's own contract: with several workers, each writes its
metrics to the folder `PROMETHEUS_MULTIPROC_DIR` names, and `/metrics` adds them up. The
library reads it when it is first imported in a worker, before any factory runs, so it
can only be inherited: `serve` sets it to a fresh folder while the workers run (they are
spawned from this process's environment) and puts the variable back as it was, and
removes the folder, when they have stopped. One worker needs no folder and sets nothing.

uvicorn picks its fastest HTTP parser and event loop when they are installed
(`httptools`, `uvloop`). The listening socket is made with TCP_NODELAY, which its
connections inherit. uvicorn's own socket for several workers lacks it, and its HTTP/1.1
answers go out in two writes (head, then body), so on a kept-alive connection every
answer would wait for the client's delayed ACK: 40 ms a request on Linux.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from conveyor.config import Settings
from conveyor.errors import UsageError
from conveyor.serving.settings import ServerSettings

Factory = Callable[[Settings, ServerSettings], Any]
"""Makes the ASGI app of a home's settings and the server's (`conveyor.api.server`)."""


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        return nodelay(super().bind_socket())


def nodelay(sock: socket.socket) -> socket.socket:
    """`sock` (a TCP listener) with TCP_NODELAY, and known to asyncio as TCP so that it
    sets TCP_NODELAY on every connection it accepts, too."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tcp.set_inheritable(True)
    return tcp


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
) -> None:
    """Serve what `app` makes (the import path of a `Factory`) of the home `settings`
    describe (default: the environment's), until interrupted (Ctrl-C or SIGTERM)."""
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
    factory = functools.partial(_factory(app), settings or Settings.from_env(), server_settings)
    config = _Config(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    try:
        sock = config.bind_socket()
        if workers > 1:
            with _metrics_folder():
                Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass


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
