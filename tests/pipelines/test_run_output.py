"""What a run says about itself: task states (Vertex AI's names), display names, where a
failed task sat in loops and conditions, logs only where there are logs, and errors
that quote the latest attempt once."""

import os
import re
import signal
import threading
from pathlib import Path

from kfp import dsl

import conveyor
from conveyor.pipelines.state import (
    CACHED,
    CANCELLED,
    CANCELLING,
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    TASK_STATES,
    Node,
    Scope,
    item_text,
    of_execution,
)
from conveyor.store.metadata import ExecutionState, MetadataStore

DOCS = Path(__file__).resolve().parents[2] / "docs"


@dsl.component
def flag() -> str:
    return "yes"


@dsl.component
def work(x: int, gate: str) -> int:
    import os

    print("working on", x)
    if x == 2 and os.path.exists(gate):
        raise RuntimeError(f"cannot do {x}")
    return x


@dsl.component
def echo(text: str) -> str:
    return text


@dsl.component
def sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


@dsl.pipeline(name="output-loop")
def looping(gate: str):
    raised = flag().set_display_name("Raise the flag")
    with dsl.If(raised.output == "yes", name="when-flagged"):
        with dsl.ParallelFor([1, 2, 3], parallelism=1, name="numbers") as x:
            work(x=x, gate=gate).set_display_name("Do the work")
    with dsl.If(raised.output == "no", name="never"):
        echo(text="unreachable")


@dsl.pipeline(name="output-chain")
def chain(gate: str) -> int:
    first = work(x=1, gate=gate)
    return work(x=2, gate=gate).after(first).output


@dsl.pipeline(name="output-retried")
def retried(gate: str) -> int:
    return work(x=2, gate=gate).set_retry(num_retries=1, backoff_duration="0s").output


@dsl.pipeline(name="output-pair")
def pair() -> str:
    echo(text="a")
    return echo(text="b").output


@dsl.pipeline(name="output-sleeper")
def sleeper() -> float:
    return sleep(seconds=60.0).output


# -- a failed loop, its iterations, display names, logs -------------------------------


def test_a_failed_loop_says_which_iteration_item_and_task_and_lists_every_iteration(tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("closed")
    run = conveyor.run(looping, {"gate": str(gate)})
    assert run.status == FAILED

    headline = run.error.splitlines()[0]
    assert headline == (
        "task 'condition-1/for-loop-3[1]/work' (Do the work) failed in iteration 1 (item 2) "
        "of loop for-loop-3 (numbers), under condition condition-1 (when-flagged): "
        "RuntimeError: cannot do 2"
    )
    loop = run.task("condition-1/for-loop-3")
    assert [(i.index, i.item, i.status, i.failed_task) for i in loop.iterations] == [
        (0, "1", SUCCEEDED, None),
        (1, "2", FAILED, "condition-1/for-loop-3[1]/work"),
        (2, "3", "NOT_TRIGGERED", None),  # held back by the loop's parallelism, then the failure
    ]
    # The loop's own error (what `conveyor runs show` shows) counts every iteration.
    assert loop.error == (
        "task 'condition-1/for-loop-3[1]/work' failed in iteration 1 (item 2) of loop "
        "for-loop-3 (numbers), under condition condition-1 (when-flagged); "
        "its 3 iterations: 1 SUCCEEDED, 1 FAILED, 1 NOT_TRIGGERED"
    )
    as_json = loop.to_json()
    assert as_json["display_name"] == "numbers"
    assert [i["status"] for i in as_json["iterations"]] == [SUCCEEDED, FAILED, "NOT_TRIGGERED"]


def test_display_names_and_logs_only_where_a_task_wrote_one(tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("closed")
    run = conveyor.run(looping, {"gate": str(gate)})
    shown = {t.name: (t.status, t.display_name) for t in run.tasks}
    assert shown == {
        "flag": (SUCCEEDED, "Raise the flag"),
        "condition-1": (FAILED, "when-flagged"),
        "condition-4": ("SKIPPED", "never"),
        "condition-1/for-loop-3": (FAILED, "numbers"),
        "condition-1/for-loop-3[0]/work": (SUCCEEDED, "Do the work"),
        "condition-1/for-loop-3[1]/work": (FAILED, "Do the work"),
    }
    assert run.task("flag").label == "flag (Raise the flag)"
    assert run.task("flag").to_json()["display_name"] == "Raise the flag"
    # Groups have no output of their own: no log path, rather than one that does not exist.
    for group in ("condition-1", "condition-4", "condition-1/for-loop-3"):
        assert run.task(group).log_path is None, group
    for task in run.tasks:
        assert task.log_path is None or task.log_path.exists(), task.name
    assert run.task("condition-1/for-loop-3[1]/work").log_path.exists()
    with MetadataStore.open() as store:
        recorded = {e.task_key: e for e in store.get_run(run.run_id).executions}
    assert recorded["condition-1"].name == "when-flagged"
    assert recorded["condition-1"].log_uri is None


def test_a_long_item_is_not_quoted():
    loop = Node("for-loop-2", "for-loop-2", Scope("", {}, {}, {}), {}, {"dag": {}})
    short = Scope("for-loop-2[0]", {}, {}, {}, owner=loop, index=0, item={"a": 1})
    long = Scope("for-loop-2[1]", {}, {}, {}, owner=loop, index=1, item="x" * 60)
    assert short.describe() == 'in iteration 0 (item {"a": 1}) of loop for-loop-2'
    assert long.describe() == "in iteration 1 of loop for-loop-2"
    assert item_text("x" * 60) is None


# -- errors quote the latest attempt once ---------------------------------------------


def test_a_resumed_runs_error_quotes_its_latest_attempt_once(tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("closed")
    failed = conveyor.run(chain, {"gate": str(gate)})
    assert failed.status == FAILED
    again = conveyor.resume(failed.run_id)
    assert again.status == FAILED

    assert again.error.startswith("task 'work-2' failed: RuntimeError: cannot do 2\n")
    assert again.error.count("Traceback (most recent call last)") == 1
    assert again.error.count('raise RuntimeError(f"cannot do {x}")') == 1
    assert again.error.count("working on 2") == 1
    with MetadataStore.open() as store:
        assert store.get_run(failed.run_id).error == again.error
    log = again.task("work-2").log_path.read_text()
    assert log.count("Traceback (most recent call last)") == 2  # the log keeps both
    assert "[conveyor] the run was resumed: the task runs again" in log


def test_a_retried_tasks_error_quotes_its_last_attempt(tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("closed")
    run = conveyor.run(retried, {"gate": str(gate)})
    assert run.status == FAILED
    log = run.task("work").log_path.read_text()
    assert log.count("Traceback (most recent call last)") == 2
    assert "[conveyor] attempt 1 failed" in log
    assert run.error.count("Traceback (most recent call last)") == 1
    assert "[conveyor] attempt 1 failed" not in run.error


# -- states: Vertex AI's names, one mapping -------------------------------------------


def test_a_task_is_pending_until_it_has_a_slot_and_a_cache_hit_never_runs():
    seen: list[tuple[str, str]] = []

    def listen(node: Node) -> None:
        if not node.is_dag:
            seen.append((node.key, node.status))

    conveyor.run(pair, parallelism=1, listener=listen)
    first_running = seen.index(next(s for s in seen if s[1] == RUNNING))
    # When the first task starts, the other waits for the only slot: PENDING, not RUNNING.
    running_then = {key for key, status in seen[: first_running + 1] if status == RUNNING}
    assert len(running_then) == 1
    for key in ("echo", "echo-2"):
        assert [s for k, s in seen if k == key] == [PENDING, RUNNING, SUCCEEDED]

    seen.clear()
    conveyor.run(pair, parallelism=1, listener=listen)
    for key in ("echo", "echo-2"):
        assert [s for k, s in seen if k == key] == [PENDING, CACHED]


def test_a_cancelled_task_is_cancelling_until_its_process_ends():
    seen: list[str] = []

    def listen(node: Node) -> None:
        if node.key != "sleep":
            return
        seen.append(node.status)
        if node.status == RUNNING:  # Ctrl-C once the task runs
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()

    run = conveyor.run(sleeper, listener=listen)
    assert run.status == CANCELLED
    assert seen == [PENDING, RUNNING, CANCELLING, CANCELLED]


def test_every_recorded_execution_state_has_one_task_state():
    assert {state: of_execution(state) for state in ExecutionState} == {
        ExecutionState.NEW: PENDING,
        ExecutionState.RUNNING: RUNNING,
        ExecutionState.COMPLETE: SUCCEEDED,
        ExecutionState.CACHED: CACHED,
        ExecutionState.FAILED: FAILED,
        ExecutionState.CANCELED: CANCELLED,
    }
    assert of_execution("COMPLETE") == SUCCEEDED  # as JSON records carry it


def test_the_docs_list_every_task_state_as_vertex_names_them():
    text = (DOCS / "pipelines.md").read_text()
    section = text.split("## Task states", 1)[1].split("\n## ", 1)[0]
    assert "Vertex AI's `PipelineTaskDetail.State`" in section
    documented = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)
    assert sorted(documented) == sorted(TASK_STATES)
    assert "`CACHED` is Conveyor's own name" in section
