"""Fixtures of the REST API tests: a saved iris classifier, the test's own home, and an
app served for real by uvicorn on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import skops.io
import uvicorn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conveyor.api import create_app
from conveyor.config import Settings
from conveyor.home import Home, open_home


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """A small iris classifier saved with skops."""
    folder = tmp_path_factory.mktemp("saved") / "model"
    folder.mkdir()
    features, target = load_iris(return_X_y=True)
    skops.io.dump(LogisticRegression(max_iter=500).fit(features, target), folder / "model.skops")
    return folder


@pytest.fixture
def settings(home) -> Settings:
    """The settings of the test's home (the root conftest's folder); dana makes the changes."""
    return dataclasses.replace(Settings.from_env(), user="dana")


@pytest.fixture
def own_home(settings) -> Iterator[Home]:
    with open_home(settings=settings) as opened:
        yield opened


@pytest.fixture
def serve(own_home) -> Iterator:
    """Start `app` (default: the control API on the test's home) under uvicorn on
    127.0.0.1; an httpx client of it."""
    running = []

    def start(app=None) -> httpx.Client:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app or create_app(own_home), log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        running.append((server, thread, sock, client))
        for _ in range(500):
            if server.started:
                return client
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting")
            threading.Event().wait(0.01)
        raise RuntimeError("the server did not start in 5 s")

    yield start
    for server, thread, sock, client in running:
        client.close()
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def api(serve):
    return serve()
