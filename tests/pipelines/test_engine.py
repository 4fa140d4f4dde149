"""Engine semantics: failures, retries, cancellation, crashes and parallelism."""

import doctest
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kfp import dsl

import conveyor
from conveyor.pipelines import engine


def test_the_engine_docstring_example_runs():
    # Fresh globals: the module's `from __future__ import annotations` would turn the
    # example's annotations into strings, which kfp reads as artifact types.
    failed, attempted = doctest.testmod(engine, globs={})
    assert attempted > 0 and failed == 0, "the example in engine.py's docstring fails"


@dsl.component
def sleep_then_write(seconds: float, path: str, text: str) -> str:
    import time

    time.sleep(seconds)
    with open(path, "w") as f:
        f.write(text)
    return text


@dsl.component
def fail(message: str) -> str:
    print("about to fail")
    raise ValueError(message)


@dsl.component
def echo(text: str) -> str:
    return text


@dsl.component
def report(status: dsl.PipelineTaskFinalStatus, path: str):
    import json

    with open(path, "w") as f:
        json.dump({"state": status.state, "task": status.pipeline_task_name}, f)


@dsl.pipeline
def fail_fast(slow_path: str, late_path: str, report_path: str):
    exit_task = report(path=report_path)
    with dsl.ExitHandler(exit_task):
        slow = sleep_then_write(seconds=1.0, path=slow_path, text="slow")
        broken = fail(message="bad input row 7")
        echo(text="after").after(broken)
        # Starts only after `slow`, by which time `broken` has failed: never starts.
        sleep_then_write(seconds=0.0, path=late_path, text="late").after(slow)


def test_failure_lets_running_tasks_finish_and_starts_only_exit_handlers(tmp_path):
    paths = {name: tmp_path / name for name in ("slow", "late", "report")}
    run = conveyor.run(
        fail_fast,
        {
            "slow_path": str(paths["slow"]),
            "late_path": str(paths["late"]),
            "report_path": str(paths["report"]),
        },
        parallelism=4,
    )
    assert run.status == "FAILED"
    assert run.task("exit-handler-1/fail").status == "FAILED"
    assert run.task("exit-handler-1/sleep-then-write").status == "SUCCEEDED"
    assert paths["slow"].read_text() == "slow"
    assert run.task("exit-handler-1/echo").status == "NOT_TRIGGERED"
    assert run.task("exit-handler-1/sleep-then-write-2").status == "NOT_TRIGGERED"
    assert not paths["late"].exists()
    assert run.task("report").status == "SUCCEEDED"
    assert json.loads(paths["report"].read_text()) == {"state": "FAILED", "task": "exit-handler-1"}
    assert "task 'exit-handler-1/fail' failed: ValueError: bad input row 7" in run.error
    assert "about to fail" in run.error  # the log tail


@dsl.component
def flaky(counter: str, failures: int) -> int:
    from pathlib import Path

    path = Path(counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


@dsl.pipeline
def retried(counter: str, failures: int) -> int:
    return (
        flaky(counter=counter, failures=failures)
        .set_retry(num_retries=2, backoff_duration="0s", backoff_factor=1.0)
        .output
    )


def test_retry_until_success(tmp_path):
    run = conveyor.run(retried, {"counter": str(tmp_path / "n"), "failures": 2})
    assert run.status == "SUCCEEDED"
    assert run.outputs == {"Output": 3}
    log = Path(run.task("flaky").log_path).read_text()
    assert "attempt 1 failed" in log and "attempt 2 failed" in log


def test_retry_gives_up_after_max_retries(tmp_path):
    run = conveyor.run(retried, {"counter": str(tmp_path / "n"), "failures": 5})
    assert run.status == "FAILED"
    assert (tmp_path / "n").read_text() == "3"
    assert "attempt 3 fails" in run.error


def test_backoff_follows_the_retry_policy():
    from conveyor.pipelines.engine import _backoff

    policy = {"backoffDuration": "2s", "backoffFactor": 3.0, "backoffMaxDuration": "10s"}
    assert [_backoff(policy, n) for n in (1, 2, 3)] == [2.0, 6.0, 10.0]


@dsl.component
def die(how: str) -> str:
    import os
    import signal
    import sys

    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "exit":
        sys.exit(3)
    if how == "os_exit":
        os._exit(4)
    return how


@dsl.pipeline
def dying(how: str) -> str:
    return die(how=how).output


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("kill", "killed by signal SIGKILL"),
        ("exit", "sys.exit(3)"),
        ("os_exit", "exited with code 4"),
    ],
)
def test_a_component_that_dies_fails_its_task_clearly(how, message):
    run = conveyor.run(dying, {"how": how})
    assert run.status == "FAILED"
    assert message in run.error
    # The pool replaces the dead worker: the next run is fine.
    assert conveyor.run(dying, {"how": "fine"}).outputs == {"Output": "fine"}


@dsl.component
def stamp(folder: str, index: int, seconds: float) -> int:
    import os
    import time

    start = time.time()
    time.sleep(seconds)
    with open(os.path.join(folder, f"{index}.json"), "w") as f:
        f.write(f"[{start}, {time.time()}]")
    return index


@dsl.pipeline
def fan_out(folder: str, items: list, limit_loop: bool = False) -> list:
    with dsl.ParallelFor(items) as item:
        s = stamp(folder=folder, index=item, seconds=0.3)
    return dsl.Collected(s.output)


@dsl.pipeline
def fan_out_limited(folder: str, items: list) -> list:
    with dsl.ParallelFor(items, parallelism=2) as item:
        s = stamp(folder=folder, index=item, seconds=0.3)
    return dsl.Collected(s.output)


def _max_overlap(folder: Path) -> int:
    spans = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def test_parallelism_bounds_concurrent_tasks(tmp_path):
    run = conveyor.run(fan_out, {"folder": str(tmp_path), "items": list(range(6))}, parallelism=3)
    assert run.status == "SUCCEEDED"
    assert run.outputs == {"Output": [0, 1, 2, 3, 4, 5]}
    assert _max_overlap(tmp_path) == 3


def test_loop_parallelism_limit(tmp_path):
    run = conveyor.run(
        fan_out_limited, {"folder": str(tmp_path), "items": list(range(5))}, parallelism=8
    )
    assert run.status == "SUCCEEDED"
    assert run.outputs == {"Output": [0, 1, 2, 3, 4]}
    assert _max_overlap(tmp_path) == 2


def test_empty_loop_collects_an_empty_list(tmp_path):
    run = conveyor.run(fan_out, {"folder": str(tmp_path), "items": []})
    assert run.status == "SUCCEEDED"
    assert run.outputs == {"Output": []}


@dsl.pipeline
def long_sleep(path: str):
    sleep_then_write(seconds=60.0, path=path, text="never")


@pytest.mark.parametrize("executor", ["local", "inline"])
def test_ctrl_c_cancels_the_run(tmp_path, executor):
    target = Path(__file__).resolve()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conveyor.cli.main",
            "run",
            f"{target}:long_sleep",
            "-p",
            f"path={tmp_path / 'out'}",
            "--executor",
            executor,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    logs = Path(os.environ["CONVEYOR_HOME"]) / "runs"
    deadline = time.monotonic() + 60
    while not list(logs.glob("*/tasks/sleep-then-write/log.txt")):
        assert time.monotonic() < deadline, "the task never started"
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    outcome = json.loads(out)
    assert outcome["status"] == "CANCELLED"
    assert outcome["tasks"][0]["status"] == "CANCELLED"
    assert not (tmp_path / "out").exists()
