"""A running pipeline in Chromium over a real `conveyor ui`: its run page follows the run
by server-sent events (its states change without a reload, and without the page asking
for the run again; a dropped stream is opened again), and the inspector's log grows as the task prints, kept at its end
while the reader is there. No `from __future__ import annotations` here: kfp reads the
components' annotations as types."""

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from kfp import dsl
from playwright.sync_api import expect
from ui_support import conveyor_server, home_at, needs_browser_and_build, wait_for

from conveyor.client import Client

LINES = 60
"""Lines the chatter prints at each step: more than its log box shows at once."""


@dsl.component
def chatter(gates: str, lines: int) -> str:
    """Prints `lines` lines, then waits for the test's gate `more`; prints as many again,
    waits for `last`; prints as many again and returns."""
    import pathlib
    import time

    for step in ("first", "more", "last"):
        if step != "first":
            while not (pathlib.Path(gates) / step).exists():
                time.sleep(0.02)
        for n in range(lines):
            print(step, n, flush=True)
    return "done"


@dsl.pipeline(name="live")
def live(go: str, gates: str, lines: int) -> str:
    first = wait_for(path=go)
    return chatter(gates=gates, lines=lines).after(first).output


@dataclass(frozen=True)
class Served:
    url: str
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("live")
    folder = root / "home"
    home_at(folder).close()  # made before the server opens it
    with conveyor_server("ui", folder, root / "ui.log") as url:
        yield Served(url, folder)


AT_END = (
    "() => { const box = document.querySelector('.inspector .log-text');"
    " return box.scrollTop + box.clientHeight >= box.scrollHeight - 2; }"
)
"""True once the inspector's log box is scrolled to its end."""
SCROLLED = "box.dispatchEvent(new Event('scroll'));"
"""The scroll event, at once: the browser's own comes at its next frame."""


def test_a_running_run_and_its_log_follow_the_run_by_events(served, page, tmp_path):
    go, gates = tmp_path / "go", tmp_path / "gates"
    gates.mkdir()
    waiting = threading.Event()
    outcome = {}

    def listen(node):
        if node.name == "wait-for" and node.status == "RUNNING":
            waiting.set()

    def run():
        try:
            with home_at(served.folder) as home:
                arguments = {"go": str(go), "gates": str(gates), "lines": LINES}
                outcome["run"] = Client(home).run(live, arguments, run_id="live-2", listener=listen)
        finally:
            waiting.set()  # a run that failed to start fails the test at once

    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.split("/api/v1", 1)[-1]))
    dropped: list[str] = []

    def drop_the_first(route):
        """The run's first stream fails: the page opens it again."""
        if dropped:
            route.continue_()
        else:
            dropped.append(route.request.url)
            route.abort()

    page.route("**/api/v1/runs/live-2/events", drop_the_first)
    runner = threading.Thread(target=run)
    runner.start()
    try:
        assert waiting.wait(120) and "run" not in outcome, "the waiting task did not start"
        page.goto(f"{served.url}/ui/runs/live-2")
        expect(page.locator('[data-task="wait-for"]')).to_have_class("node state-RUNNING")
        expect(page.locator('[data-task="chatter"]')).to_have_class("node state-NOT_RUN")
        go.write_text("go")
        expect(page.locator('[data-task="wait-for"]')).to_have_class("node state-COMPLETE")
        expect(page.locator('[data-task="chatter"]')).to_have_class("node state-RUNNING")
        page.locator('[data-task="chatter"]').click()
        log = page.locator(".inspector .log-text")
        expect(log).to_contain_text(f"first {LINES - 1}")
        page.wait_for_function(AT_END)
        log.evaluate(f"box => {{ box.scrollTop = 0; {SCROLLED} }}")  # the reader goes back up
        (gates / "more").touch()
        expect(log).to_contain_text(f"more {LINES - 1}")
        assert log.evaluate("box => box.scrollTop") == 0  # left where the reader is
        log.evaluate(f"box => {{ box.scrollTop = box.scrollHeight; {SCROLLED} }}")  # to the end
        while_running = list(asked)
        (gates / "last").touch()
        expect(log).to_contain_text(f"last {LINES - 1}")
        page.wait_for_function(AT_END)
    finally:
        go.write_text("go")
        for gate in ("more", "last"):
            (gates / gate).touch()
        runner.join(120)
    expect(page.locator(".run-header .status")).to_have_text("SUCCEEDED")
    expect(page.locator('[data-task="chatter"]')).to_contain_class("state-COMPLETE")
    assert outcome["run"].status == "SUCCEEDED"
    # The page read the run once, then only its streams: no polling.
    assert [a for a in while_running if a.startswith("/runs/live-2?")] == ["/runs/live-2?view=full"]
    assert dropped and while_running.count("/runs/live-2/events") == 2
    assert "/runs/live-2/log/events?task=chatter" in while_running
    assert not [a for a in while_running if a.startswith("/runs/live-2/log?")]
