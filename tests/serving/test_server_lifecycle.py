"""`conveyor serve` starting and stopping as users and scripts see it, in real processes:
the ready line comes once every worker answers, a port in use is refused clearly, and
the workers never outlive the server's main process, even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serving_support import wait_for

CONVEYOR = Path(sys.executable).with_name("conveyor")
READY = "Conveyor is serving at "
STARTUP = 120.0
"""Seconds a server may take to start on a busy machine (a bound, not a measure)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """`conveyor serve` in a process group of its own (so that the test can always stop
    everything it started), its output collected line by line as it comes."""

    def __init__(self, folder: Path, port: int, workers: int) -> None:
        self.process = subprocess.Popen(
            [str(CONVEYOR), "serve", "--port", str(port), "--workers", str(workers)],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready_line(self) -> str:
        """The ready line, once printed; fails with the output if the server stopped."""
        deadline = time.monotonic() + STARTUP
        while True:
            for line in list(self.lines):
                if line.startswith(READY):
                    return line
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(self.lines)
                raise AssertionError(f"no ready line from conveyor serve; it printed:\n{output}")
            time.sleep(0.02)

    def kill_group(self) -> None:
        """SIGKILL whatever of this server's process group is left."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(30)


@pytest.fixture
def serve(tmp_path):
    """`serve(port, workers)`: a running `conveyor serve`, its group killed at the end."""
    started: list[Served] = []

    def start(port: int, workers: int = 2) -> Served:
        started.append(Served(tmp_path, port, workers))
        return started[-1]

    yield start
    for served in started:
        served.kill_group()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (pgrep: Linux and macOS)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def running(pid: int) -> bool:
    """Whether `pid` runs (an exited process waiting to be reaped, a zombie, does not)."""
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return bool(state.stdout.strip()) and not state.stdout.strip().startswith("Z")


def test_the_ready_line_comes_once_every_worker_answers(serve):
    port = free_port()
    server = serve(port, workers=2)
    line = server.ready_line()
    url = f"http://127.0.0.1:{port}"
    assert line == f"Conveyor is serving at {url} (docs at /docs)"
    # The line is a promise: a request made right after it is answered, without a retry.
    assert httpx.get(f"{url}/v2/health/live", timeout=30).status_code == 200
    before = server.lines[: server.lines.index(line)]
    assert sum("Application startup complete." in text for text in before) == 2, before

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(60) == 0


def test_a_port_in_use_is_refused_clearly(serve):
    port = free_port()
    first = serve(port, workers=1)
    first.ready_line()
    second = subprocess.run(
        [str(CONVEYOR), "serve", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=STARTUP,
    )
    assert second.returncode == 2, second.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}: the port is in use" in second.stderr

    # One worker, stopped by SIGTERM: a clean stop, exit 0 (as with several workers).
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(60) == 0


def test_workers_stop_with_a_killed_server_and_free_its_port(serve):
    port = free_port()
    first = serve(port, workers=2)
    first.ready_line()
    workers = children(first.pid)
    assert len(workers) >= 2, workers

    os.kill(first.pid, signal.SIGKILL)
    first.process.wait(30)
    wait_for(
        lambda: not any(running(pid) for pid in workers),
        "the workers of the SIGKILLed server to exit",
        timeout=STARTUP,
    )

    second = serve(port, workers=2)
    second.ready_line()
    answer = httpx.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=30)
    assert answer.status_code == 200
