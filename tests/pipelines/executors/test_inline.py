"""The inline executor: Python components on the caller's thread, for a plain debugger."""

import os
import sys
import threading
from pathlib import Path

from kfp import dsl

import conveyor


@dsl.component
def where() -> str:
    import os
    import threading

    breakpoint()
    return f"{os.getpid()} {threading.get_ident()}"


@dsl.pipeline
def located() -> str:
    return where().output


def test_a_component_runs_on_the_calling_thread_and_breakpoint_stops_in_it(monkeypatch):
    stops = []
    monkeypatch.setattr(sys, "breakpointhook", lambda: stops.append(sys._getframe(1).f_code))

    run = conveyor.run(located, executor="inline")

    assert run.outputs == {"Output": f"{os.getpid()} {threading.get_ident()}"}
    assert [(code.co_name, Path(code.co_filename).name) for code in stops] == [
        ("where", "ephemeral_component.py")
    ]


@dsl.component
def chatty(text: str) -> str:
    import os
    import sys

    print(f"out: {text}")
    print(f"err: {text}", file=sys.stderr)
    return os.environ["GREETING"]


@dsl.pipeline
def chatter(text: str) -> str:
    return chatty(text=text).set_env_variable(name="GREETING", value="hello").output


def test_output_goes_to_the_log_and_stderr_and_env_stays_with_the_task(capsys):
    run = conveyor.run(chatter, {"text": "hi"}, executor="inline")

    assert run.outputs == {"Output": "hello"}
    assert "GREETING" not in os.environ
    assert run.task("chatty").log_path.read_text().splitlines() == ["out: hi", "err: hi"]
    captured = capsys.readouterr()
    assert (captured.out, captured.err.splitlines()) == ("", ["out: hi", "err: hi"])


@dsl.component(packages_to_install=["conveyor-surely-not-installed==1.0"])
def needs_packages() -> str:
    return "never"


@dsl.pipeline
def with_packages() -> str:
    return needs_packages().output


def test_packages_not_installed_here_are_refused():
    run = conveyor.run(with_packages, executor="inline")

    assert run.status == "FAILED"
    assert run.error.splitlines()[0] == (
        "task 'needs-packages' failed: its packages_to_install "
        "(conveyor-surely-not-installed==1.0) are not installed here, and the inline "
        "executor runs components in this process: install them, or use --executor local"
    )


@dsl.component
def interrupted() -> str:
    raise KeyboardInterrupt  # what Ctrl-C raises in the thread that runs the task


@dsl.component
def after(text: str) -> str:
    return text


@dsl.pipeline
def stopped() -> str:
    return after(text=interrupted().output).output


def test_ctrl_c_in_a_task_cancels_the_run():
    run = conveyor.run(stopped, executor="inline")

    assert run.status == "CANCELLED"
    assert {t.name: t.status for t in run.tasks} == {
        "interrupted": "CANCELLED",
        "after": "CANCELLED",
    }
