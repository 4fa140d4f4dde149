"""Monitors on their cron: `Watcher` (what `conveyor monitors watch` and `conveyor serve
--monitor` run) runs one job for the latest time a schedule passed, sends its alerts, never
catches missed times up one by one, and stands by while another watcher holds the home."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jobs_support import SCHEMA, frame, log_traffic, training_run
from sqlalchemy import update
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.home import open_home
from conveyor.monitoring.watch import Watcher, last_fire
from conveyor.store.metadata.monitoring_models import ModelMonitor

UTC_NOON = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "since", "now", "expected"),
    [
        ("0 * * * *", UTC_NOON, UTC_NOON + timedelta(minutes=59), None),
        ("0 * * * *", UTC_NOON, UTC_NOON + timedelta(hours=1), UTC_NOON + timedelta(hours=1)),
        # Five hours missed: one job, for the latest.
        ("0 * * * *", UTC_NOON, UTC_NOON + timedelta(hours=5, minutes=3),
         UTC_NOON + timedelta(hours=5)),
        ("* * * * *", UTC_NOON - timedelta(days=400), UTC_NOON + timedelta(seconds=30), UTC_NOON),
        ("@daily", UTC_NOON, UTC_NOON + timedelta(hours=11), None),
        ("@daily", UTC_NOON, UTC_NOON + timedelta(hours=12), UTC_NOON + timedelta(hours=12)),
    ],
)  # fmt: skip
def test_the_latest_time_a_schedule_passed(cron, since, now, expected):
    assert last_fire(cron, since, now) == expected


@pytest.fixture
def home(home: Path, tmp_path, monkeypatch):
    """A home with `churn` trained from a Dataset (lineage gives the baseline)."""
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    with open_home() as opened:
        execution, _ = training_run(opened.store, tmp_path / "data", frame(3000, seed=1))
        model = tmp_path / "model"
        model.mkdir()
        (model / "predictor.py").write_text("class Predictor:\n    pass\n")
        opened.registry.upload(
            "churn", model, framework="custom", input_schema=SCHEMA, execution_id=execution,
            aliases=["production"],
        )  # fmt: skip
        yield opened


def scheduled(home, name: str, cron: str | None, *, created_hours_ago: float = 5.0):
    """A skew monitor of churn@production on `cron`, made as if created some hours ago."""
    home.monitors.create(
        name, "churn@production", tabular_objective={"feature_skew_spec": {}},
        window="1h", cron=cron,
    )  # fmt: skip
    table = ModelMonitor.__table__
    with home.store.transaction(write=True) as conn:
        conn.execute(
            update(table)
            .where(table.c.name == name)
            .values(created_at=datetime.now(UTC) - timedelta(hours=created_hours_ago))
        )


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def test_a_due_monitor_gets_one_job_for_its_window_and_its_alerts_are_sent(home):
    scheduled(home, "hourly", "0 * * * *")
    scheduled(home, "on-demand", None)
    fire = this_hour()
    moved = frame(1000, seed=4, tenure_shift=25)
    log_traffic(home.store, home.artifacts, moved, start=fire - timedelta(hours=1),
                span=timedelta(minutes=50))  # fmt: skip
    watcher = Watcher(home.monitors)

    assert [(m.name, at) for m, at in watcher.due()] == [("hourly", fire)]
    done = watcher.run_due()
    (job,) = done.jobs
    assert (job.monitor, job.state.value) == ("hourly", "JOB_STATE_SUCCEEDED")
    assert (job.window_start, job.window_end) == (fire - timedelta(hours=1), fire)
    tenure = next(m for m in home.monitors.job_metrics(job.id) if m.feature == "tenure")
    assert tenure.anomaly and tenure.target_count == 1000
    assert [d.state.value for d in done.deliveries] == ["DELIVERED"]  # the alert log
    logged = (home.settings.folder / "monitoring" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(logged[0])["feature"] == "tenure"

    assert watcher.due() == []  # its job started after the time it was for
    assert watcher.run_due().jobs == []


def test_an_offset_ends_the_window_that_long_before_the_scheduled_time(home):
    scheduled(home, "late", "0 * * * *")
    home.monitors.update("late", offset="30m")
    watcher = Watcher(home.monitors, home.settings.folder / "watcher.lock")
    (job,) = watcher.run_due().jobs
    end = this_hour() - timedelta(minutes=30)
    assert (job.window_start, job.window_end) == (end - timedelta(hours=1), end)
    assert job.state.value == "JOB_STATE_SUCCEEDED"  # no traffic: insufficient data


def test_a_second_watcher_stands_by_while_the_first_runs(home):
    lock = home.settings.folder / "monitoring" / "watcher.lock"
    first, second = Watcher(home.monitors, lock), Watcher(home.monitors, lock)
    stop = threading.Event()
    rounds, standing_by = threading.Event(), threading.Event()
    running = threading.Thread(
        target=first.watch, args=(stop,),
        kwargs={"poll_seconds": 0.05, "on_round": lambda _: rounds.set()},
    )  # fmt: skip
    running.start()
    try:
        assert rounds.wait(30)
        waiting = threading.Thread(
            target=second.watch, args=(stop,),
            kwargs={"poll_seconds": 0.05, "on_round": pytest.fail,
                    "on_standby": standing_by.set},
        )  # fmt: skip
        waiting.start()
        assert standing_by.wait(30)
    finally:
        stop.set()
        running.join(30)
    waiting.join(30)
    assert not running.is_alive() and not waiting.is_alive()


def test_the_command_runs_what_is_due_once(home):
    scheduled(home, "hourly", "0 * * * *")
    shown = CliRunner().invoke(app, ["monitors", "watch", "--once"])
    assert shown.exit_code == 0, shown.output
    assert "hourly  job 1  SUCCEEDED  0 anomalies" in shown.output
    again = CliRunner().invoke(app, ["monitors", "watch", "--once"])
    assert again.exit_code == 0 and "job" not in again.output


def test_serve_runs_the_watcher_beside_the_server(home, tmp_path):
    scheduled(home, "hourly", "0 * * * *")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conveyor = Path(sys.executable).with_name("conveyor")
    output = tmp_path / "serve.log"
    with output.open("w") as log:
        server = subprocess.Popen(
            [str(conveyor), "serve", "--monitor", "--port", str(port), "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (home.monitors.jobs("hourly") and "Conveyor is serving" in output.read_text()):
            assert server.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        (job,) = home.monitors.jobs("hourly")
        assert job.window_end == this_hour()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, output.read_text()
    assert "hourly  job 1" in output.read_text()
