"""What the server tests share (their fixtures are in conftest.py): the training data of
the tiny churn models, and an app served for real with uvicorn on a free loopback port,
in a thread of the test process.

The fixtures train two versions of one model whose answers differ: v2 learns the opposite
labels, so for any row it predicts the other class.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import skops.io
import uvicorn

from conveyor.home import Home
from conveyor.serving.server import nodelay

FEATURES = ["tenure", "charges", "calls"]
SCHEMA = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "float"},
    {"name": "calls", "type": "integer"},
]
ROW = {"tenure": 3, "charges": 80.5, "calls": 6}
"""A customer both versions are sure about: v1 says churn (1), v2 says stay (0)."""


def training_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, size=n),
            "charges": rng.normal(60, 20, size=n),
            "calls": rng.integers(0, 10, size=n),
        }
    )
    churn = (frame["calls"] * 0.6 + frame["charges"] * 0.05 - frame["tenure"] * 0.1) > 2
    return frame, churn.astype(int).to_numpy()


def local_predictions(folder: Path, rows: list[dict]) -> list[int]:
    """What the saved model itself answers, to compare with the server."""
    model = skops.io.load(
        folder / "model.skops", trusted=skops.io.get_untrusted_types(file=folder / "model.skops")
    )
    return model.predict(pd.DataFrame(rows, columns=FEATURES)).tolist()


@dataclass
class Running:
    """A server running in this process: its URL, an HTTP client, the app, and the home
    it serves when it is the server's own (closed when it stops)."""

    url: str
    client: httpx.Client
    app: object
    server: uvicorn.Server
    thread: threading.Thread
    home: Home | None

    @property
    def service(self):
        return self.app.state.service

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.should_exit = True
            self.thread.join(30)
        self.client.close()
        if self.home is not None:
            self.home.close()
            self.home = None


def start_server(app, home: Home | None = None) -> Running:
    """Serve `app`; `home`, the server's own, is closed once the server stops."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock = nodelay(sock)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the prediction server did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    return Running(url, client(url), app, server, thread, home)


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30)


def wait_for(condition, what: str, timeout: float = 30.0):
    """Poll `condition()` until it is truthy (its value), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)
