"""Running the prediction server: `serve()` starts uvicorn on the app of `app.py`.

Settings reach every worker process through the environment (`settings.py`), so `serve`
writes its options there before uvicorn starts the workers. With several workers, the
Prometheus metrics of each are kept in a fresh folder (`PROMETHEUS_MULTIPROC_DIR`) and
added up at `/metrics`. uvicorn picks its fastest HTTP parser and event loop when they
are installed (`httptools`, `uvloop`).

The listening socket is made with TCP_NODELAY, which its connections inherit. uvicorn's
own socket for several workers lacks it, and its HTTP/1.1 answers go out in two writes
(head, then body), so on a kept-alive connection every answer would wait for the client's
delayed ACK: 40 ms a request on Linux.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from conveyor.errors import UsageError
from conveyor.serving.settings import ServerSettings

APP = "conveyor.serving.app:create_app"


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
    workers: int = 1,
    max_request_bytes: int | None = None,
    log_sample_rate: float | None = None,
    tokens_file: Path | None = None,
    access_log: bool = False,
    log_level: str = "info",
    app: str = APP,
) -> None:
    """Serve `app` (an ASGI app factory's import path; the prediction server by default)
    until interrupted (Ctrl-C or SIGTERM)."""
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
    # A bad setting fails here, once, not in every worker, and leaves the environment as it was.
    ServerSettings.from_env({**os.environ, **given})
    os.environ.update(given)  # the app factory (in each worker) reads its settings from here
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="conveyor-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    config = _Config(
        app,
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
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
