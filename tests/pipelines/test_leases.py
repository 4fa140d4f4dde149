"""Run leases: a run whose runner died is seen as such, a live run is never run twice, and
another process can cancel it."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from kfp import dsl

from conveyor.client import Client
from conveyor.store.metadata import ExecutionState, RunBusy, RunEnded, RunStatus
from conveyor.store.metadata.leases import TIMEOUT, Renewal
from conveyor.store.metadata.models import RunLease

POLL = 0.05


@dsl.component
def hold(folder: str) -> str:
    """Writes its pid, then waits while the folder's gate file says 'wait'."""
    import os
    import time

    with open(os.path.join(folder, "pids"), "a") as f:
        f.write(f"{os.getpid()}\n")
    while open(os.path.join(folder, "gate")).read() == "wait":
        time.sleep(0.05)
    return "released"


@dsl.pipeline(name="held")
def held(folder: str) -> str:
    return hold(folder=folder).output


def conveyor(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def until(condition, what: str, process: subprocess.Popen | None = None, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process is None or process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(POLL)


def started(folder: Path, count: int = 1):
    pids = folder / "pids"
    return lambda: pids.exists() and len(pids.read_text().split()) >= count


def start_held_run(folder: Path) -> tuple[subprocess.Popen, str]:
    """A `conveyor run` in another process whose task waits at the gate; and its run id."""
    (folder / "gate").write_text("wait")
    runner = conveyor("run", f"{Path(__file__).resolve()}:held", "-p", f"folder={folder}", "--json")
    until(started(folder), "the task's start", runner)
    with Client() as client:
        (run,) = client.list_runs(pipeline="held")
    return runner, run.run_id


def shown_by_cli(run_id: str) -> str:
    command = [sys.executable, "-m", "conveyor.cli.main", "runs", "show", run_id]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_live_run_shows_its_runner_and_a_killed_one_shows_it_lost(tmp_path):
    runner, run_id = start_held_run(tmp_path)
    with Client() as client:
        run = client.get_run(run_id)
    assert run.status == RunStatus.RUNNING
    assert run.runner is not None and run.runner.alive
    assert run.runner.pid == runner.pid
    assert not run.runner_lost
    assert f"running in process {runner.pid} on " in shown_by_cli(run_id)

    runner.send_signal(signal.SIGKILL)
    runner.wait()
    with Client() as client:
        (listed,) = client.list_runs()
        shown = client.get_run(run_id)
    assert listed.status == shown.status == RunStatus.RUNNING  # nobody was left to say otherwise
    assert listed.runner_lost and shown.runner_lost
    assert not shown.runner.alive
    assert shown.to_json()["runner"]["alive"] is False
    assert shown.to_json()["runner_lost"] is True
    assert "RUNNING (runner lost)" in shown_by_cli(run_id)
    assert f"`conveyor runs resume {run_id}` continues it" in shown_by_cli(run_id)
    listing = subprocess.run(
        [sys.executable, "-m", "conveyor.cli.main", "runs", "list"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "RUNNING (runner lost)" in listing

    (tmp_path / "gate").write_text("go")
    resumed = conveyor("runs", "resume", run_id, "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    with Client() as client:
        run = client.get_run(run_id)
    assert run.status == RunStatus.SUCCEEDED and run.runner is None
    killed, again = [e for e in run.executions if e.task_key == "hold"]
    assert killed.state == ExecutionState.CANCELED  # closed by the resume, not left RUNNING
    assert "runner stopped" in killed.error
    assert again.state == ExecutionState.COMPLETE


def test_resume_is_refused_while_the_runner_lives(tmp_path):
    runner, run_id = start_held_run(tmp_path)
    refused = conveyor("runs", "resume", run_id)
    _, err = refused.communicate(timeout=120)
    assert refused.returncode == 2
    assert f"run {run_id} is running in process {runner.pid}" in err
    assert f"conveyor runs cancel {run_id}" in err
    (tmp_path / "gate").write_text("go")
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err
    assert json.loads(out)["status"] == "SUCCEEDED"
    assert len((tmp_path / "pids").read_text().split()) == 1  # the task ran once


def test_of_two_resumes_at_once_exactly_one_proceeds(tmp_path):
    runner, run_id = start_held_run(tmp_path)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    resumes = [conveyor("runs", "resume", run_id, "--json") for _ in range(2)]
    until(lambda: any(r.poll() is not None for r in resumes), "a refusal", seconds=120)
    (refused,) = [r for r in resumes if r.poll() is not None]
    (proceeding,) = [r for r in resumes if r is not refused]
    assert refused.returncode == 2, refused.communicate()
    assert "is running in process" in refused.communicate()[1]
    (tmp_path / "gate").write_text("go")
    out, err = proceeding.communicate(timeout=120)
    assert proceeding.returncode == 0, err
    assert json.loads(out)["status"] == "SUCCEEDED"
    assert len((tmp_path / "pids").read_text().split()) == 2  # the killed run's, and one more


def test_runs_cancel_stops_a_run_in_another_process(tmp_path):
    runner, run_id = start_held_run(tmp_path)
    task = int((tmp_path / "pids").read_text())
    cancel = conveyor("runs", "cancel", run_id)
    out, err = cancel.communicate(timeout=120)
    assert cancel.returncode == 0, err
    assert out.strip() == f"run {run_id}: CANCELLED"
    assert f"asked process {runner.pid}" in err
    out, _ = runner.communicate(timeout=60)
    assert runner.returncode == 1
    outcome = json.loads(out)
    assert outcome["status"] == "CANCELLED"
    assert "conveyor runs cancel" in outcome["error"]
    until(lambda: not alive(task), "the task process's end", seconds=30)
    with Client() as client:
        run = client.get_run(run_id)
    assert run.status == RunStatus.CANCELLED and run.runner is None
    assert [e.state for e in run.executions] == [ExecutionState.CANCELED]


def test_cancel_closes_a_run_whose_runner_died(tmp_path):
    runner, run_id = start_held_run(tmp_path)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    with Client() as client:
        assert client.cancel(run_id) == RunStatus.CANCELLED
        run = client.get_run(run_id)
    assert run.status == RunStatus.CANCELLED
    assert "runner was gone" in run.error
    assert [e.state for e in run.executions] == [ExecutionState.CANCELED]


def test_cancel_of_an_ended_run_is_refused(tmp_path):
    (tmp_path / "gate").write_text("go")
    with Client() as client:
        run = client.run(held, {"folder": str(tmp_path)})
        with pytest.raises(RunEnded, match=f"run {run.run_id} is SUCCEEDED already"):
            client.cancel(run.run_id)
    cancel = conveyor("runs", "cancel", run.run_id)
    _, err = cancel.communicate(timeout=60)
    assert cancel.returncode == 2
    assert "nothing to cancel" in err


def _lease_elsewhere(store, run_id: str, heartbeat: datetime) -> None:
    """Make the run's lease one held by a process on another host, last heard at `heartbeat`."""
    with store.transaction(write=True) as conn:
        context = conn.execute(
            RunLease.__table__.select().with_only_columns(RunLease.context_id)
        ).scalar_one()
        conn.execute(
            RunLease.__table__.update()
            .where(RunLease.context_id == context)
            .values(host="elsewhere.example", pid=1, heartbeat_at=heartbeat)
        )


def test_a_lease_on_another_host_lives_by_its_heartbeat(store):
    store.create_run("r-1", "p", lease="token-1")
    _lease_elsewhere(store, "r-1", datetime.now(UTC))
    run = store.get_run("r-1")
    assert run.runner.alive and run.runner.host == "elsewhere.example"
    with pytest.raises(RunBusy, match="on elsewhere.example"):
        store.resume_run("r-1", "token-2")

    _lease_elsewhere(store, "r-1", datetime.now(UTC) - TIMEOUT - timedelta(seconds=1))
    (listed,) = store.list_runs()
    assert listed.runner_lost
    store.resume_run("r-1", "token-2")  # a dead lease is taken over
    assert store.get_run("r-1").runner.alive


def test_a_runner_that_lost_its_lease_records_nothing(store):
    store.create_run("r-1", "p", lease="first")
    _lease_elsewhere(store, "r-1", datetime.now(UTC) - TIMEOUT - timedelta(seconds=1))
    store.resume_run("r-1", "second")
    assert store.renew_lease("r-1", "first") == Renewal.LOST
    assert store.renew_lease("r-1", "second") == Renewal.HELD
    assert not store.end_run("r-1", "first", RunStatus.FAILED, "late news")
    assert store.get_run("r-1").status == RunStatus.RUNNING
    assert store.end_run("r-1", "second", RunStatus.SUCCEEDED, None)
    run = store.get_run("r-1")
    assert run.status == RunStatus.SUCCEEDED and run.runner is None


def test_a_cancel_request_reaches_the_runner_through_its_renewal(store):
    store.create_run("r-1", "p", lease="mine")
    assert store.renew_lease("r-1", "mine") == Renewal.HELD
    asked = store.cancel_run("r-1")
    assert asked is not None and asked.pid == os.getpid() and asked.cancel_requested
    assert store.renew_lease("r-1", "mine") == Renewal.CANCEL_REQUESTED
    assert store.get_run("r-1").runner.cancel_requested
