"""Exit handlers with the final status, ignore_upstream_failure, retries with backoff."""

import json

import pytest
from kfp import dsl


@dsl.component
def work(number: int, fail: bool) -> int:
    if fail:
        raise ValueError(f"refusing to work on {number}")
    return number + 1


@dsl.component
def log_line(folder: str, line: str):
    import os

    with open(os.path.join(folder, "log"), "a") as f:
        f.write(line + "\n")


@dsl.component
def log_number(folder: str, number: int):
    import os

    with open(os.path.join(folder, "log"), "a") as f:
        f.write(f"second gave {number}\n")


@dsl.component
def report_status(folder: str, status: dsl.PipelineTaskFinalStatus):
    import json
    import os

    with open(os.path.join(folder, "final-status.json"), "w") as f:
        json.dump(
            {
                "state": status.state,
                "task": status.pipeline_task_name,
                "has_error": bool(status.error_code or status.error_message),
            },
            f,
        )


@dsl.pipeline
def guarded_work(folder: str, fail: bool = False):
    """An exit handler around a chain; a cleanup task that runs even if its upstream fails."""
    final = report_status(folder=folder)
    with dsl.ExitHandler(final):
        first = work(number=1, fail=fail)
        second = work(number=first.output, fail=False)
        log_number(folder=folder, number=second.output)
        log_line(folder=folder, line="cleanup").after(first).ignore_upstream_failure()


def _folders(tmp_path):
    def arguments_for(runner):
        folder = tmp_path / runner
        folder.mkdir()
        return {"folder": str(folder)}

    return arguments_for


def _written(folder):
    return {
        "log": sorted((folder / "log").read_text().splitlines()),
        "final": json.loads((folder / "final-status.json").read_text()),
    }


def test_exit_handler_sees_success(run_pipeline, tmp_path):
    result = run_pipeline(guarded_work, _folders(tmp_path), outputs={})
    for runner in result.runners:
        assert _written(tmp_path / runner) == {
            "log": ["cleanup", "second gave 3"],
            "final": {"state": "SUCCEEDED", "task": "exit-handler-1", "has_error": False},
        }, runner
    assert result.states(
        "exit-handler-1",
        "exit-handler-1/work",
        "exit-handler-1/work-2",
        "exit-handler-1/log-number",
        "exit-handler-1/log-line",
        "report-status",
    ) == {
        "exit-handler-1": "SUCCEEDED",
        "exit-handler-1/work": "SUCCEEDED",
        "exit-handler-1/work-2": "SUCCEEDED",
        "exit-handler-1/log-number": "SUCCEEDED",
        "exit-handler-1/log-line": "SUCCEEDED",
        "report-status": "SUCCEEDED",
    }
    assert result.run.error is None


def test_exit_handler_sees_failure_and_cleanup_still_runs(run_pipeline, tmp_path):
    def arguments(runner):
        return {**_folders(tmp_path)(runner), "fail": True}

    result = run_pipeline(guarded_work, arguments, status="FAILED", failed_task="work")
    for runner in result.runners:
        assert _written(tmp_path / runner) == {
            "log": ["cleanup"],
            "final": {"state": "FAILED", "task": "exit-handler-1", "has_error": True},
        }, runner
    assert result.states(
        "exit-handler-1",
        "exit-handler-1/work",
        "exit-handler-1/work-2",
        "exit-handler-1/log-number",
        "exit-handler-1/log-line",
        "report-status",
    ) == {
        "exit-handler-1": "FAILED",
        "exit-handler-1/work": "FAILED",
        "exit-handler-1/work-2": "NOT_TRIGGERED",
        "exit-handler-1/log-number": "NOT_TRIGGERED",
        "exit-handler-1/log-line": "SUCCEEDED",
        "report-status": "SUCCEEDED",
    }
    # The error names the task and carries the end of its log: the exception.
    assert "exit-handler-1/work" in result.run.error
    assert "ValueError: refusing to work on 1" in result.run.error


@dsl.component
def flaky(attempts_file: str, failures: int) -> int:
    """Fails its first `failures` attempts; records the time of every attempt."""
    import os
    import time

    attempts = []
    if os.path.exists(attempts_file):
        with open(attempts_file) as f:
            attempts = f.read().split()
    attempts.append(str(time.time()))
    with open(attempts_file, "w") as f:
        f.write("\n".join(attempts))
    if len(attempts) <= failures:
        raise RuntimeError(f"attempt {len(attempts)} fails on purpose")
    return len(attempts)


@dsl.pipeline
def retried(recovers_file: str, gives_up_file: str):
    """One task recovers on its third attempt after backoff; one runs out of retries."""
    recovers = flaky(attempts_file=recovers_file, failures=2)
    recovers.set_retry(
        num_retries=3, backoff_duration="1s", backoff_factor=2.0, backoff_max_duration="60s"
    )
    gives_up = flaky(attempts_file=gives_up_file, failures=5).after(recovers)
    gives_up.set_retry(num_retries=1)


def test_retries_with_backoff_then_give_up(run_pipeline, tmp_path):
    def arguments(runner):
        return {
            "recovers_file": str(tmp_path / f"{runner}-recovers"),
            "gives_up_file": str(tmp_path / f"{runner}-gives-up"),
        }

    result = run_pipeline(retried, arguments, status="FAILED", failed_task="flaky-2")
    for runner in result.runners:
        recovers = [float(t) for t in (tmp_path / f"{runner}-recovers").read_text().split()]
        gives_up = (tmp_path / f"{runner}-gives-up").read_text().split()
        assert (len(recovers), len(gives_up)) == (3, 2), runner
        # Backoff: 1 s before the second attempt, 2 s before the third (a lower bound:
        # waiting is the behaviour; how fast the rest goes is not asserted).
        gaps = [later - earlier for earlier, later in zip(recovers, recovers[1:])]
        assert gaps[0] >= 0.95 and gaps[1] >= 1.95, (runner, gaps)
    assert result.states("flaky", "flaky-2") == {"flaky": "SUCCEEDED", "flaky-2": "FAILED"}
    assert "attempt 2 fails on purpose" in result.run.error


@dsl.pipeline
def chain_with_cleanup(folder: str, fail: bool) -> int:
    """No exit handler: the task after a failure is not triggered, the cleanup runs."""
    first = work(number=10, fail=fail)
    log_line(folder=folder, line="cleanup").after(first).ignore_upstream_failure()
    return work(number=first.output, fail=False).output


@pytest.mark.parametrize("fail", [False, True])
def test_ignore_upstream_failure_outside_an_exit_handler(run_pipeline, tmp_path, fail):
    def arguments(runner):
        return {**_folders(tmp_path)(runner), "fail": fail}

    result = run_pipeline(
        chain_with_cleanup,
        arguments,
        status="FAILED" if fail else "SUCCEEDED",
        outputs=None if fail else {"Output": 12},
        failed_task="work" if fail else None,
    )
    for runner in result.runners:
        assert (tmp_path / runner / "log").read_text() == "cleanup\n", runner
    assert result.states("work", "log-line", "work-2") == {
        "work": "FAILED" if fail else "SUCCEEDED",
        "log-line": "SUCCEEDED",
        "work-2": "NOT_TRIGGERED" if fail else "SUCCEEDED",
    }
