"""Monitors on a schedule: `conveyor scheduler --once` runs one job of a scheduled monitor,
for the latest time due (the times missed are not caught up one by one), over the window
ending its offset before that time, and sends its alerts; `conveyor serve --scheduler` fires
a due schedule beside the server; a monitor that a schedule runs is not deleted."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conveyor.automation.requests import monitoring_job
from conveyor.automation.schedule_records import FireState
from conveyor.home import open_home
from conveyor.monitoring import MonitorConflict

sys.path.insert(0, str(Path(__file__).parents[1] / "monitoring"))
from jobs_support import SCHEMA, frame, log_traffic, training_run  # noqa: E402

HOUR = timedelta(hours=1)


@pytest.fixture
def home(home: Path, tmp_path, monkeypatch):
    """A home with `churn` trained from a Dataset (lineage gives the baseline), and a skew
    monitor of `churn@production` over an hour ending 30 minutes before its time."""
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
        opened.monitors.create(
            "drift", "churn@production", tabular_objective={"feature_skew_spec": {}},
            window="1h", offset="30m",
        )  # fmt: skip
        yield opened


def hourly(home, hours_missed: int) -> datetime:
    """A schedule of the monitor's jobs at each hour, due at the last hour and the
    `hours_missed` before it, and ending there (so an hour turning meanwhile adds no time);
    that last hour."""
    last = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    home.schedules.create(
        "hourly", "0 * * * *", monitoring_job("drift"),
        start_time=last - hours_missed * HOUR, end_time=last + timedelta(seconds=1),
    )  # fmt: skip
    return last


def conveyor(home, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor", *args],
        env={**os.environ, **home.settings.to_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    return output


def test_the_scheduler_runs_one_job_for_the_latest_time_and_sends_its_alerts(home):
    last = hourly(home, hours_missed=5)
    end = last - timedelta(minutes=30)
    moved = frame(1000, seed=4, tenure_shift=25)
    log_traffic(home.store, home.artifacts, moved, start=end - HOUR, span=timedelta(minutes=50))

    output = finished(conveyor(home, "scheduler", "--once"))
    assert output.count("schedule hourly: started monitoring job") == 1, output
    (job,) = home.monitors.jobs("drift")
    assert (job.window_start, job.window_end) == (end - HOUR, end)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    tenure = next(m for m in home.monitors.job_metrics(job.id) if m.feature == "tenure")
    assert tenure.anomaly and tenure.target_count == 1000

    fired, missed = home.schedules.fires("hourly")
    assert (fired.state, fired.scheduled_time, fired.event["job_id"]) == (
        FireState.SUCCEEDED, last, job.id,
    )  # fmt: skip
    assert missed.state == FireState.SKIPPED and "catch_up is off" in missed.error
    (alert,) = home.monitors.search_alerts("drift")
    assert [d.state.value for d in home.monitors.deliveries(alert.id)] == ["DELIVERED"]
    logged = (home.settings.folder / "monitoring" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(logged[0])["feature"] == "tenure"

    assert finished(conveyor(home, "scheduler", "--once")).strip() == ""  # nothing due
    assert len(home.monitors.jobs("drift")) == 1


def test_serve_with_the_scheduler_fires_a_due_schedule(home, tmp_path):
    last = hourly(home, hours_missed=0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    output = tmp_path / "serve.log"
    with output.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "conveyor", "serve", "--scheduler", "--port", str(port),
             "--log-level", "warning"],
            env={**os.environ, **home.settings.to_env()}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (
            [f for f in home.schedules.fires("hourly") if not f.state.active]
            and "Conveyor is serving" in output.read_text()
        ):
            assert server.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        (fire,) = home.schedules.fires("hourly")
        assert (fire.state, fire.scheduled_time) == (FireState.SUCCEEDED, last), fire.error
        (job,) = home.monitors.jobs("drift")
        assert job.window_end == last - timedelta(minutes=30)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, output.read_text()
    assert "schedule hourly: started monitoring job" in output.read_text()


def test_a_monitor_a_schedule_runs_stays_until_the_schedule_goes(home):
    hourly(home, hours_missed=0)
    with pytest.raises(MonitorConflict, match="monitor 'drift' is in use: schedule 'hourly'"):
        home.monitors.delete("drift")
    with pytest.raises(MonitorConflict):
        home.monitors.acting_as("bob").delete("drift")  # the guard goes with the monitors
    home.schedules.delete("hourly")
    assert home.monitors.delete("drift") == 0
