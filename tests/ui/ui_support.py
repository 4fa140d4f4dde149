"""What the console's browser tests share: Debian's Chromium driven by Playwright, a real
`conveyor serve` or `conveyor ui` on a loopback port, and pipelines whose runs show the
console's cases (a sub-DAG, a condition not taken, a loop, metrics, a failure, a cache
hit, a task that waits for the test). No `from __future__ import annotations` here: kfp
reads the components' annotations as types."""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from kfp import dsl
from playwright.sync_api import Browser, Page

from conveyor.config import Settings
from conveyor.home import Home, open_home
from conveyor.serving.server import listening
from conveyor.ui.console import STATIC

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
"""Where a test saves the README's pictures, when CONVEYOR_SCREENSHOTS=1 asks it to."""
TAKE_SCREENSHOTS = os.environ.get("CONVEYOR_SCREENSHOTS") == "1"
"""Read once, here: every test runs without the CONVEYOR_ variables (tests/conftest.py)."""


def needs_browser_and_build() -> None:
    """Skip (fail on CI) unless Chromium is installed and the console is built."""
    problems = []
    if not Path(CHROMIUM).exists():
        problems.append("Chromium is not installed (`make system-deps` installs it)")
    if not (STATIC / "index.html").is_file():
        problems.append("the console is not built (`make env` builds it)")
    if shutil.which("conveyor", path=str(Path(sys.executable).parent)) is None:
        problems.append("the `conveyor` command is not installed (`make env`)")
    if problems:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))


def home_at(folder: Path) -> Home:
    """The home in `folder`, whatever the environment says."""
    return open_home(settings=Settings.from_env(folder, environ={}))


@contextmanager
def conveyor_server(
    command: str, folder: Path, log: Path, tokens: Path | None = None
) -> Iterator[str]:
    """`conveyor serve` or `conveyor ui` (`command`) on a free loopback port over the home
    in `folder`, with the tokens file `tokens` if given; its URL once it answers (the
    ready line it prints), until the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(CONVEYOR_HOME=str(folder), CONVEYOR_CONFIG="")
    port = _free_port()
    options = ["--port", str(port), "--log-level", "warning"]
    if tokens is not None:
        options += ["--tokens", str(tokens)]
    conveyor = Path(sys.executable).with_name("conveyor")
    with log.open("w") as errors:
        process = subprocess.Popen(
            [str(conveyor), command, *options],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            text=True,
        )
        try:
            ready = process.stdout.readline()  # the ready line, once it answers
            if f"http://127.0.0.1:{port}" not in ready:
                process.kill()
                raise RuntimeError(f"conveyor {command} did not start:\n{log.read_text()}")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


@contextmanager
def served(app) -> Iterator[httpx.Client]:
    """`app` served by uvicorn in a thread until the block ends; an httpx client of it.
    The socket listens before the server starts, so requests wait for it to answer."""
    sock = listening("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dsl.component
def make(n: int) -> int:
    print("making", n)
    return n * 2


@dsl.component
def add(a: int, b: int) -> int:
    return a + b


@dsl.component
def report(x: int, metrics: dsl.Output[dsl.Metrics]):
    print("reporting", x)
    metrics.log_metric("accuracy", 0.9)
    metrics.log_metric("x", x)


@dsl.component
def explode(n: int) -> int:
    print("working on", n)
    raise ValueError(f"cannot handle {n}")


@dsl.component
def wait_for(path: str) -> str:
    """Returns once the file at `path` exists (the test makes it)."""
    import pathlib
    import time

    while not pathlib.Path(path).exists():
        time.sleep(0.02)
    print("found", path)
    return pathlib.Path(path).read_text()


@dsl.pipeline(name="inner")
def inner(m: int) -> int:
    return add(a=m, b=1).output


@dsl.pipeline(name="shapes")
def shapes(n: int = 3) -> int:
    """A sub-DAG, a condition not taken, a loop of two, and metrics."""
    first = make(n=n)
    sub = inner(m=first.output)
    with dsl.If(first.output > 100):
        make(n=1000)
    with dsl.ParallelFor([1, 2]) as item:
        add(a=item, b=first.output)
    report(x=sub.output)
    return sub.output


@dsl.pipeline(name="exploder")
def exploder(n: int = 2) -> int:
    return explode(n=make(n=n).output).output


@dsl.pipeline(name="waiter")
def waiter(path: str) -> str:
    first = make(n=1)
    return wait_for(path=path).after(first).output


SCREENSHOTS = Path(__file__).parents[2] / "test-results" / "screenshots"
"""Where the page of a browser test that failed is saved (git ignores it; CI keeps it)."""
TIMEOUT_MS = 20_000
"""How long an expectation waits for the page (pages that poll read every 3 s)."""


@contextmanager
def watched_page(
    browser: Browser,
    request: pytest.FixtureRequest,
    *,
    expected: tuple[str, ...] = (),
    bypass_csp: bool = False,
) -> Iterator[Page]:
    """A page of its own context (storage, session); the test fails on an uncaught error
    or an error logged to the console, but an HTTP error answer (some are expected) and
    messages starting with one of `expected`. The page of a failed test is saved."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, bypass_csp=bypass_csp)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    opened.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith(("Failed to load resource", *expected))
            and problems.append(f"console: {message.text}")
        ),
    )
    yield opened
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-200:]
        opened.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    context.close()
    assert problems == []
