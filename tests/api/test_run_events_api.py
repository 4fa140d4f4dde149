"""`/api/v1/runs/{run_id}/events` and `.../log/events`: a real run's changes arrive in
order and the stream ends with the run; a task's log arrives as the task writes it; a
client that goes away frees its stream; a server with streams open stops at once on
SIGTERM or Ctrl-C; roles as any route; 404 and 400 before any stream starts."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from api_support import error_of
from kfp import dsl
from starlette.middleware import Middleware

from conveyor.api import create_app
from conveyor.client import Client
from conveyor.serving.auth import Role, TokenAuth, Tokens
from remote_support import free_port


@dsl.component
def wait_for(path: str) -> str:
    """Returns once the file at `path` exists (the test makes it)."""
    import pathlib
    import time

    while not pathlib.Path(path).exists():
        time.sleep(0.02)
    return path


@dsl.component
def chatter(gates: str) -> str:
    """Says three words, each once the test made the gate of the one before."""
    import pathlib
    import time

    for word in ("one", "two", "three"):
        print("said", word, flush=True)
        while not (pathlib.Path(gates) / word).exists():
            time.sleep(0.02)
    return "done"


@dsl.pipeline(name="gated")
def gated(first: str, second: str) -> str:
    one = wait_for(path=first)
    return wait_for(path=second).after(one).output


@dsl.pipeline(name="talker")
def talker(gates: str) -> str:
    return chatter(gates=gates).output


def events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) of each server-sent event on `lines`; comments (pings) skipped."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


@contextmanager
def running(home, pipeline, arguments, first_task: str) -> Iterator[dict]:
    """`pipeline` running in a thread of the test, once its `first_task` runs; the outcome
    (`run`) once the block ends, and the run has ended."""
    started = threading.Event()
    outcome: dict = {}

    def listen(node):
        if node.name == first_task and node.status == "RUNNING":
            started.set()

    def run():
        try:
            outcome["run"] = Client(home).run(pipeline, arguments, run_id="live-1", listener=listen)
        finally:
            started.set()  # a run that failed to start fails the test at once

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(120) and "run" not in outcome, "the first task did not start"
        yield outcome
    finally:
        thread.join(120)


def task_states(run: dict) -> dict[str, str]:
    return {e["task_key"]: e["state"] for e in run["executions"]}


def test_a_run_s_changes_arrive_in_order_and_the_stream_ends_with_it(api, own_home, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    seen: list[dict] = []
    with running(own_home, gated, {"first": str(first), "second": str(second)}, "wait-for"):
        with api.stream("GET", "/api/v1/runs/live-1/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            for name, data in events(stream.iter_lines()):
                assert name == "run"
                run = json.loads(data)
                seen.append(run)
                states = task_states(run)
                if states.get("wait-for") == "RUNNING":
                    first.write_text("go")
                if states.get("wait-for-2") == "RUNNING":
                    second.write_text("go")
    # The stream ended by itself, after the run's end.
    assert seen[0]["status"] == "RUNNING" and seen[-1]["status"] == "SUCCEEDED"
    assert all(run["status"] == "RUNNING" for run in seen[:-1])
    assert seen[-1] == api.get("/api/v1/runs/live-1").json()
    order = ["RUNNING", "COMPLETE"]
    for key in ("wait-for", "wait-for-2"):
        shown = [task_states(run).get(key) for run in seen]
        known = [order.index(state) for state in shown if state is not None]
        assert known == sorted(known) and known[-1] == 1, (key, shown)
    # wait-for-2 runs only after wait-for completed, and each change was an event.
    assert any(task_states(run).get("wait-for-2") == "RUNNING" for run in seen)
    assert len({json.dumps(run, sort_keys=True) for run in seen}) == len(seen) >= 3


def test_a_task_s_log_arrives_as_the_task_writes_it(api, own_home, tmp_path):
    gates = tmp_path / "gates"
    gates.mkdir()
    pieces: list[str] = []
    ends: list[str] = []
    with running(own_home, talker, {"gates": str(gates)}, "chatter"):
        path = "/api/v1/runs/live-1/log/events"
        with api.stream("GET", path, params={"task": "chatter"}) as stream:
            assert stream.status_code == 200
            for name, data in events(stream.iter_lines()):
                if name == "end":
                    ends.append(data)
                    continue
                assert name == "log" and not ends
                pieces.append(data)
                text = "".join(pieces)
                for word in ("one", "two", "three"):
                    if f"said {word}" in text:
                        (gates / word).touch()
    text = "".join(pieces)
    assert ends == ["COMPLETE"]  # the last event, once the task had ended

    def piece_with(word: str) -> int:
        return next(n for n, piece in enumerate(pieces) if f"said {word}" in piece)

    # Each word came in an event of its own: the next is said once the test has read it.
    assert piece_with("one") < piece_with("two") < piece_with("three")
    logged = api.get("/api/v1/runs/live-1/log", params={"task": "chatter"}).text
    assert text == logged.replace("\r\n", "\n").replace("\r", "\n")
    # An ended task's stream sends its log's tail, then ends.
    tail = api.get(path, params={"task": "chatter", "tail_bytes": 6})
    assert list(events(tail.iter_lines())) == [("log", logged[-6:]), ("end", "COMPLETE")]


def test_a_client_that_goes_away_frees_its_stream(own_home):
    """The app, called as uvicorn calls it, returns once its client has disconnected,
    though the run it streams still runs."""
    own_home.store.create_run("held-1", "held", lease="this-test")  # RUNNING, runner alive
    app = create_app(own_home)
    sent: list[dict] = []

    async def call() -> None:
        first_event = asyncio.Event()
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await first_event.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message.get("body"):
                first_event.set()

        await asyncio.wait_for(app(_scope("/api/v1/runs/held-1/events"), receive, send), 60)

    asyncio.run(call())
    assert sent[0]["status"] == 200
    assert sent[1]["body"].startswith(b"event: run")
    assert len(sent) == 2  # nothing after the disconnect


def _scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


def test_streams_need_the_read_role(serve, own_home):
    own_home.store.create_run("ended-1", "ended")
    own_home.store.update_run("ended-1", "SUCCEEDED")
    tokens = Tokens({"r-token": (Role.READ, "viewer")})
    http = serve(create_app(own_home, middleware=[Middleware(TokenAuth, tokens=tokens)]))
    path = "/api/v1/runs/ended-1/events"
    assert "needs an API token" in error_of(http.get(path), 401)["message"]
    error_of(http.get(path, headers={"Authorization": "Bearer wrong"}), 401)
    answer = http.get(path, headers={"Authorization": "Bearer r-token"})
    [(name, data)] = list(events(answer.iter_lines()))  # an ended run: one event, then the end
    assert name == "run" and json.loads(data)["status"] == "SUCCEEDED"


def test_what_is_not_there_answers_404_and_bad_input_400(api, own_home):
    own_home.store.create_run("quiet-1", "quiet")
    silent = own_home.store.create_execution("quiet-1", "silent")
    own_home.store.finish_execution(silent, "COMPLETE")
    assert "no run 'nope'" in error_of(api.get("/api/v1/runs/nope/events"), 404)["message"]
    logs = "/api/v1/runs/quiet-1/log/events"
    missing = error_of(api.get(logs, params={"task": "train"}), 404)
    assert "no task 'train'" in missing["message"]
    assert "has no log" in error_of(api.get(logs, params={"task": "silent"}), 404)["message"]
    assert "task" in error_of(api.get(logs), 400)["message"]
    assert (
        "tail_bytes"
        in error_of(api.get(logs, params={"task": "silent", "tail_bytes": 0}), 400)["message"]
    )


@contextmanager
def conveyor(command: str, folder: Path, log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`conveyor serve` or `conveyor ui` (`command`) on a free port over the home in
    `folder`: the process and its URL, once it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(CONVEYOR_HOME=str(folder), CONVEYOR_CONFIG="")
    executable = Path(sys.executable).with_name("conveyor")
    with log.open("w") as errors:
        process = subprocess.Popen(
            [str(executable), command, "--port", str(free_port()), "--log-level", "warning"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            text=True,
        )
    try:
        ready = process.stdout.readline()  # the ready line, once it answers
        assert "http://127.0.0.1:" in ready, log.read_text()
        url = "http://127.0.0.1:" + ready.split("http://127.0.0.1:")[1].split()[0].removesuffix(
            "/ui"
        )
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


@pytest.mark.parametrize("command, stop", [("serve", signal.SIGTERM), ("ui", signal.SIGINT)])
def test_a_server_with_streams_open_stops_at_once(command, stop, own_home, home, tmp_path):
    own_home.store.create_run("held-1", "held", lease="this-test")  # its stream stays open
    log = tmp_path / "server.log"
    with conveyor(command, home, log) as (process, url):
        with httpx.stream("GET", f"{url}/api/v1/runs/held-1/events", timeout=60) as stream:
            lines = stream.iter_lines()
            assert next(events(lines))[0] == "run"
            process.send_signal(stop)
            rest = list(lines)  # the server ends the stream cleanly (else this raises)
        assert process.wait(60) == 0
    assert all(line == "" or line.startswith(":") for line in rest), rest
    assert "graceful shutdown exceeded" not in log.read_text()
