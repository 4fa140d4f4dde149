"""What the REST API tests share beyond their fixtures (conftest.py): the error body, and
an app served for real by uvicorn on a free loopback port, in a thread of the test
process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from conveyor.serving.server import nodelay


def error_of(answer, code):
    """The error of `answer`, checked to be Google's error body with status `code`."""
    assert answer.status_code == code, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "status"}
    assert body["error"]["code"] == code
    return body["error"]


@contextmanager
def served(app) -> Iterator[httpx.Client]:
    """`app` served on 127.0.0.1 until the block ends; an httpx client of it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock = nodelay(sock)  # else each answer waits for the client's delayed ACK (40 ms)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(500):
                if server.started:
                    break
                if not thread.is_alive():
                    raise RuntimeError("the server stopped while starting")
                threading.Event().wait(0.01)
            else:
                raise RuntimeError("the server did not start in 5 s")
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
