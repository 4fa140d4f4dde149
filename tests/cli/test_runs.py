"""`conveyor runs list | show | resume | explain-cache`: output, exit codes and messages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from kfp import dsl
from kfp.dsl import Dataset, Input, Output

import conveyor
from conveyor.cli import main as cli_main
from conveyor.store.metadata import MetadataStore


@dsl.component
def make(n: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(n))


@dsl.component
def double(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return 2 * int(f.read())


@dsl.component
def add_one(value: int) -> int:
    return value + 1


@dsl.component
def check(gate: str, value: int) -> int:
    """Fails while the file `gate` exists."""
    import os

    if os.path.exists(gate):
        raise RuntimeError("the gate is closed")
    return value * 10


@dsl.pipeline(name="cli-pair")
def pair(n: int) -> int:
    made = make(n=n)
    return double(data=made.outputs["data"]).output


@dsl.pipeline(name="cli-gated")
def gated(gate: str) -> int:
    first = add_one(value=1)
    second = check(gate=gate, value=first.output)
    return add_one(value=second.output).output


@pytest.fixture
def closed_gate(tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("closed")
    return gate


@pytest.fixture
def failed_run(closed_gate):
    run = conveyor.run(gated, {"gate": str(closed_gate)})
    assert run.status == "FAILED"
    return run


def run_ids(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[1:] if line.strip()]


# -- runs list ----------------------------------------------------------------------------


def test_list_with_each_filter(cli, failed_run):
    first = conveyor.run(pair, {"n": 3})
    second = conveyor.run(pair, {"n": 4})

    every = cli("runs", "list")
    assert every.code == 0, every.err
    assert every.out.split("\n")[0].split() == [
        "run",
        "pipeline",
        "status",
        "started",
        "(UTC)",
        "duration",
    ]
    assert run_ids(every.out) == [second.run_id, first.run_id, failed_run.run_id]
    row = every.out.splitlines()[3].split()
    assert row[:3] == [failed_run.run_id, "cli-gated", "FAILED"]

    assert run_ids(cli("runs", "list", "--pipeline", "cli-gated").out) == [failed_run.run_id]
    assert run_ids(cli("runs", "list", "--status", "FAILED").out) == [failed_run.run_id]
    assert run_ids(cli("runs", "list", "--status", "succeeded").out) == [
        second.run_id,
        first.run_id,
    ]
    assert len(run_ids(cli("runs", "list", "--since", "1d").out)) == 3
    assert cli("runs", "list", "--since", "2999-01-01").out == "no runs match\n"

    newest = cli("runs", "list", "--limit", "1")
    assert newest.out.splitlines()[1].split()[0] == second.run_id
    assert newest.out.splitlines()[-1] == "the 1 newest runs; --limit shows more"

    as_json = cli("runs", "list", "--pipeline", "cli-pair", "--json")
    runs = json.loads(as_json.out)["runs"]
    assert [(r["run_id"], r["status"], r["parameters"]) for r in runs] == [
        (second.run_id, "SUCCEEDED", {"n": 4}),
        (first.run_id, "SUCCEEDED", {"n": 3}),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "yesterday"],
            "since 'yesterday' is neither a duration (30m, 12h, 7d) nor an ISO date (2026-11-01)",
        ),
        (
            ["--since", "0d"],
            "since '0d' must be a positive duration (30m, 12h, 7d) or an ISO date (2026-11-01)",
        ),
        (
            ["--status", "DONE"],
            "unknown run status 'DONE'; use one of RUNNING, SUCCEEDED, FAILED, CANCELLED",
        ),
        (["--limit", "0"], "limit must be at least 1, got 0"),
    ],
)
def test_list_refuses_bad_filters(cli, args, message):
    outcome = cli("runs", "list", *args)
    assert (outcome.code, outcome.out, outcome.err) == (2, "", f"error: {message}\n")


def test_a_corrupt_database_exits_2_naming_it(home):
    # End to end, through the installed entry point.
    home.mkdir(parents=True)
    database = home / "metadata.db"
    database.write_bytes(b"this is not a database, not at all" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "conveyor.cli.main", "runs", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: {database} is not a SQLite database (file is not a database); "
        "move the file away or point Conveyor at another store\n"
    )


# -- runs show ----------------------------------------------------------------------------


def test_show_a_failed_run_names_the_failed_task(cli, failed_run, closed_gate):
    shown = cli("runs", "show", failed_run.run_id)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0] == f"run {failed_run.run_id}: FAILED"
    assert lines[1].startswith("  pipeline cli-gated, started ")
    assert lines[2] == f"  gate = {closed_gate}"
    assert lines[3] == "task 'check' failed: RuntimeError: the gate is closed"
    tree = lines[lines.index("tasks") :]
    logs = failed_run.task("check").log_path
    assert tree[1].startswith("├── add-one  SUCCEEDED  ")
    assert tree[2:5] == [
        "│   ├── parameters: value=1",
        "│   ├── output Output = 2",
        f"│   └── log: {failed_run.task('add-one').log_path}",
    ]
    assert tree[5].startswith("├── check  FAILED  ")
    # Values longer than 60 characters are cut in the tree (whole in the header and --json).
    assert tree[6].startswith("│   ├── parameters: gate=/") and tree[6].endswith("..., value=2")
    assert tree[7:9] == [
        "│   ├── error: RuntimeError: the gate is closed",
        f"│   └── log: {logs}",
    ]
    assert tree[9] == "└── add-one-2  not started"


def test_show_json_and_artifacts(cli):
    run = conveyor.run(pair, {"n": 3})
    shown = cli("runs", "show", run.run_id)
    (artifact_line,) = [line for line in shown.out.splitlines() if "artifact data:" in line]
    with MetadataStore.open() as store:
        (made,) = [e for e in store.get_run(run.run_id).executions if e.task_key == "make"]
    data = made.outputs["data"][0]
    assert artifact_line.endswith(f"artifact data: {data.uri}  (system.Dataset, id {data.id})")

    record = json.loads(cli("runs", "show", run.run_id, "--json").out)
    assert "spec" not in record
    assert (record["run_id"], record["status"], record["parameters"]) == (
        run.run_id,
        "SUCCEEDED",
        {"n": 3},
    )
    assert [(e["task_key"], e["state"]) for e in record["executions"]] == [
        ("make", "SUCCEEDED"),  # task states, as every face names them (not COMPLETE)
        ("double", "SUCCEEDED"),
    ]
    assert record["executions"][0]["outputs"]["data"][0]["uri"] == data.uri


def test_show_an_unknown_run(cli):
    outcome = cli("runs", "show", "no-such-run")
    assert (outcome.code, outcome.out) == (2, "")
    assert outcome.err == (
        "error: no run 'no-such-run' in the metadata store; `conveyor runs list` shows runs\n"
    )


# -- runs resume --------------------------------------------------------------------------


def test_resume_reruns_only_the_failed_task(cli, failed_run, closed_gate):
    again = cli("runs", "resume", failed_run.run_id)
    assert again.code == 1  # the gate is still closed
    assert f"run {failed_run.run_id}: FAILED" in again.out

    closed_gate.unlink()
    resumed = cli("runs", "resume", failed_run.run_id, "--parallelism", "1")
    assert resumed.code == 0, resumed.err
    lines = resumed.out.splitlines()
    # Without a terminal, a line as each task starts and ends: `12:01:05 check SUCCEEDED 0.0s`.
    progress = [line.split()[1:3] for line in lines[:-1]]
    assert all(len(clock) == 8 and clock[2] == ":" for clock in (line[:8] for line in lines[:-1]))
    assert progress == [
        ["add-one", "CACHED"],
        ["check", "RUNNING"],
        ["check", "SUCCEEDED"],
        ["add-one-2", "RUNNING"],
        ["add-one-2", "SUCCEEDED"],
    ]
    assert lines[-1] == f"run {failed_run.run_id}: SUCCEEDED"

    shown = cli("runs", "show", failed_run.run_id).out
    assert shown.splitlines()[0] == f"run {failed_run.run_id}: SUCCEEDED"
    assert "── check  SUCCEEDED  " in shown
    assert "(earlier in this run: FAILED, FAILED)" in shown

    done = cli("runs", "resume", failed_run.run_id)
    assert (done.code, done.err) == (
        2,
        f"error: run {failed_run.run_id} already succeeded; there is nothing to resume\n",
    )


def test_resume_json(cli, failed_run, closed_gate):
    closed_gate.unlink()
    outcome = cli("runs", "resume", failed_run.run_id, "--json")
    assert outcome.code == 0, outcome.err
    result = json.loads(outcome.out)
    assert result["status"] == "SUCCEEDED"
    assert result["outputs"] == {"Output": 21}
    assert {t["name"]: t["status"] for t in result["tasks"]} == {
        "add-one": "CACHED",
        "check": "SUCCEEDED",
        "add-one-2": "SUCCEEDED",
    }


def test_resume_an_unknown_run(cli):
    outcome = cli("runs", "resume", "no-such-run")
    assert outcome.code == 2
    assert outcome.err == (
        "error: no run 'no-such-run' in the metadata store; `conveyor runs list` shows runs\n"
    )


# -- runs explain-cache -------------------------------------------------------------------


def test_explain_a_first_run_a_hit_and_a_changed_parameter(cli):
    first = conveyor.run(pair, {"n": 3})
    hit = conveyor.run(pair, {"n": 3})
    changed = conveyor.run(pair, {"n": 4})

    outcome = cli("runs", "explain-cache", first.run_id, "make")
    assert (outcome.code, outcome.out) == (
        0,
        f"task 'make' of run {first.run_id}: cache miss: no earlier execution of this task "
        "in pipeline 'cli-pair'\n"
        "  cache entries are shared only between runs of the same pipeline name\n",
    )

    lines = cli("runs", "explain-cache", hit.run_id, "make").out.splitlines()
    assert lines[0] == f"task 'make' of run {hit.run_id}: cache hit"
    assert lines[1].startswith("  it reused the results of execution ")
    assert f" of run {first.run_id} (task 'make', SUCCEEDED, ended " in lines[1]

    lines = cli("runs", "explain-cache", changed.run_id, "make").out.splitlines()
    assert lines[0] == (
        f"task 'make' of run {changed.run_id}: cache miss: its key differs from the nearest "
        "earlier execution"
    )
    assert lines[1].startswith("  compared with execution ")
    assert f" of run {hit.run_id} (task 'make', CACHED, ended " in lines[1]
    assert lines[2:] == ["  what differs:", "    parameters.n: 3 -> 4"]

    as_json = json.loads(cli("runs", "explain-cache", changed.run_id, "make", "--json").out)
    assert (as_json["hit"], as_json["reason"], as_json["differences"]) == (
        False,
        "key-changed",
        ["parameters.n: 3 -> 4"],
    )
    assert as_json["compared_with"]["run_id"] == hit.run_id


def test_explain_caching_off(cli):
    conveyor.run(pair, {"n": 3})
    run = conveyor.run(pair, {"n": 3}, enable_caching=False)
    lines = cli("runs", "explain-cache", run.run_id, "double").out.splitlines()
    assert lines[:3] == [
        f"task 'double' of run {run.run_id}: cache miss: caching was off for this task",
        "  the run turned it off (--no-cache, or CONVEYOR_DISABLE_CACHE=1)",
        "  caching is turned off by:",
    ]


def test_explain_an_unknown_task_lists_the_tasks(cli):
    run = conveyor.run(pair, {"n": 3})
    outcome = cli("runs", "explain-cache", run.run_id, "train")
    assert (outcome.code, outcome.out) == (2, "")
    assert outcome.err == f"error: run {run.run_id} has no task 'train'; its tasks: make, double\n"


def test_explain_a_task_that_never_started(cli, failed_run):
    outcome = cli("runs", "explain-cache", failed_run.run_id, "add-one-2")
    assert (outcome.code, outcome.err) == (
        2,
        f"error: task 'add-one-2' of run {failed_run.run_id} never started (skipped, not "
        "triggered, or not reached), so it has no cache outcome\n",
    )


def test_every_command_and_option_is_documented():
    doc = (Path(__file__).parents[2] / "docs" / "runs.md").read_text()
    group = typer.main.get_command(cli_main.app).get_command(None, "runs")
    for name, command in group.commands.items():
        assert f"## conveyor runs {name}\n" in doc, name
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in doc, f"conveyor runs {name} {option}"


def test_every_command_has_an_example_in_its_help(cli):
    for command in ("list", "show", "resume", "explain-cache"):
        shown = cli("runs", command, "--help")
        assert shown.code == 0
        assert "Example: conveyor runs " + command in " ".join(shown.out.split())
