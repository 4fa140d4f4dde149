"""What `conveyor run` and `conveyor runs show` print about tasks: one set of state names
(Vertex AI's) in the line output, the tree and `--json`, display names, a failed loop's
iterations, and no log line for groups."""

import io
import json
import re
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from conveyor.cli.following import report
from conveyor.pipelines.runner import IterationInfo, Run, TaskInfo
from conveyor.pipelines.state import TASK_STATES

PIPELINE = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component
    def flag() -> str:
        return "yes"

    @dsl.component
    def work(x: int, gate: str) -> int:
        import os

        if x == 2 and os.path.exists(gate):
            raise RuntimeError(f"cannot do {x}")
        return x

    @dsl.pipeline(name="cli-output-loop")
    def looping(gate: str):
        raised = flag().set_display_name("Raise the flag")
        with dsl.If(raised.output == "yes", name="when-flagged"):
            with dsl.ParallelFor([1, 2, 3], parallelism=1, name="numbers") as x:
                work(x=x, gate=gate).set_display_name("Do the work")
    """
)
WORK = "condition-1/for-loop-3[{}]/work"
CLOCK = re.compile(r"^\d\d:\d\d:\d\d ")


@pytest.fixture
def pipeline_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "looping.py").write_text(PIPELINE)
    gate = tmp_path / "gate"
    gate.write_text("closed")
    return f"gate={gate}"


def test_without_a_terminal_a_line_as_each_task_starts_and_ends(cli, pipeline_file):
    outcome = cli("run", "looping.py:looping", "-p", pipeline_file, "--parallelism", "1")
    assert outcome.code == 1
    lines = outcome.out.splitlines()
    end = lines.index(next(line for line in lines if line.startswith("run ")))
    progress = lines[:end]
    assert all(CLOCK.match(line) for line in progress), progress  # `12:01:05 ...`, never asserted
    assert [line.split(" ", 1)[1] for line in progress] == [
        "flag (Raise the flag) RUNNING",
        f"flag (Raise the flag) SUCCEEDED {_seconds(progress[1])}",
        f"{WORK.format(0)} (Do the work) RUNNING",
        f"{WORK.format(0)} (Do the work) SUCCEEDED {_seconds(progress[3])}",
        f"{WORK.format(1)} (Do the work) RUNNING",
        f"{WORK.format(1)} (Do the work) FAILED {_seconds(progress[5])}",
        f"condition-1/for-loop-3 (numbers) FAILED {_seconds(progress[6])}",
        f"condition-1 (when-flagged) FAILED {_seconds(progress[7])}",
    ]
    assert lines[end + 1].startswith(
        f"task '{WORK.format(1)}' (Do the work) failed in iteration 1 (item 2) of loop "
        "for-loop-3 (numbers), under condition condition-1 (when-flagged): "
        "RuntimeError: cannot do 2"
    )
    heading = "loop condition-1/for-loop-3 (numbers): FAILED, 1 of 3 iterations failed"
    table = lines[lines.index(heading) :]
    assert [line.split() for line in table[1:4]] == [
        ["[0]", "item", "1", "SUCCEEDED"],
        ["[1]", "item", "2", "FAILED", WORK.format(1)],
        ["[2]", "item", "3", "NOT_TRIGGERED"],
    ]


def test_runs_show_and_json_name_states_and_tasks_as_conveyor_run_does(cli, pipeline_file):
    ran = cli("run", "looping.py:looping", "-p", pipeline_file, "--parallelism", "1", "--json")
    assert ran.code == 1
    outcome = json.loads(ran.out)
    tasks = {t["name"]: t for t in outcome["tasks"]}
    assert {t["status"] for t in tasks.values()} <= set(TASK_STATES)
    assert tasks["flag"]["display_name"] == "Raise the flag"
    assert tasks["condition-1"]["display_name"] == "when-flagged"
    assert [i["status"] for i in tasks["condition-1/for-loop-3"]["iterations"]] == [
        "SUCCEEDED",
        "FAILED",
        "NOT_TRIGGERED",
    ]
    run_id = outcome["run_id"]

    shown = cli("runs", "show", run_id)
    assert shown.code == 0, shown.err
    tree = shown.out.splitlines()
    tree = tree[tree.index("tasks") :]
    assert "COMPLETE" not in shown.out
    assert tree[1].startswith("├── flag (Raise the flag)  SUCCEEDED  ")
    assert "── condition-1 (when-flagged)  FAILED  " in shown.out
    loop = _line(tree, "── for-loop-3 (numbers)  FAILED  ")
    assert tree[loop + 1].endswith("; its 3 iterations: 1 SUCCEEDED, 1 FAILED, 1 NOT_TRIGGERED")
    assert "── for-loop-3[0]  SUCCEEDED\n" in shown.out
    assert "── for-loop-3[1]  FAILED\n" in shown.out
    assert "── work (Do the work)  FAILED  " in shown.out
    # Only tasks that ran have a log line, and it names a file that exists.
    logs = [line.split("log: ", 1)[1] for line in tree if "── log: " in line]
    assert len(logs) == 3 and all(Path(log).exists() for log in logs)

    record = json.loads(cli("runs", "show", run_id, "--json").out)
    states = {e["task_key"]: (e["state"], e["name"]) for e in record["executions"]}
    assert states == {
        "flag": ("SUCCEEDED", "Raise the flag"),
        "condition-1": ("FAILED", "when-flagged"),
        "condition-1/for-loop-3": ("FAILED", "numbers"),
        WORK.format(0): ("SUCCEEDED", "Do the work"),
        WORK.format(1): ("FAILED", "Do the work"),
    }
    groups = [e for e in record["executions"] if e["task_key"].startswith("condition-1")]
    assert [e["log_uri"] for e in groups if not e["task_key"].endswith("/work")] == [None, None]


def test_the_report_lists_every_iteration_of_a_loop_that_did_not_succeed():
    loop = TaskInfo(
        "for-loop-2",
        "FAILED",
        display_name="rows",
        iterations=[
            IterationInfo(0, '"a"', "SUCCEEDED"),
            IterationInfo(1, None, "FAILED", "for-loop-2[1]/parse"),
            IterationInfo(2, '"c"', "NOT_TRIGGERED"),
        ],
    )
    fine = TaskInfo("for-loop-3", "SUCCEEDED", iterations=[IterationInfo(0, "1", "SUCCEEDED")])
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    report(console, Run("r-1", "p", "FAILED", tasks=[loop, fine], error="task failed"))
    assert out.getvalue().splitlines() == [
        "run r-1: FAILED",
        "task failed",
        "loop for-loop-2 (rows): FAILED, 1 of 3 iterations failed",
        '  [0]  item "a"  SUCCEEDED',
        "  [1]            FAILED         for-loop-2[1]/parse",
        '  [2]  item "c"  NOT_TRIGGERED',
    ]


def _seconds(line: str) -> str:
    """The duration a progress line ends with (`0.1s`): its value is the clock's."""
    duration = line.rsplit(" ", 1)[1]
    assert re.fullmatch(r"\d+\.\ds|\d+m\d\ds", duration), line
    return duration


def _line(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line)
