"""The scheduler as processes: `conveyor scheduler --once` fires due times as runs in
processes of their own, recorded with their origin; two schedulers at once on SQLite and on
PostgreSQL fire each time once; a scheduler killed mid-fire, or after a claim it never
started, leaves each time fired exactly once after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.automation.requests import pipeline_job
from conveyor.automation.schedule_records import FireState
from conveyor.config import Settings
from conveyor.home import open_home
from conveyor.store.metadata import RunStatus

PIPELINE = """
from kfp import dsl


@dsl.component
def greet(name: str) -> str:
    return f"Hello, {name}!"


@dsl.pipeline(name="greeting")
def greeting(name: str = "World") -> str:
    return greet(name=name).output
"""


@pytest.fixture
def settings(home, tmp_path, request) -> Settings:
    """The test's home, on SQLite, or on PostgreSQL when the test asks."""
    url = getattr(request, "param", "sqlite")
    env = dict(os.environ)
    if url == "postgresql":
        env["CONVEYOR_METADATA_URL"] = request.getfixturevalue("postgres_server").new_database()
    return Settings.from_env(home, env)


@pytest.fixture
def registered(settings, tmp_path) -> Settings:
    source = tmp_path / "greeting.py"
    source.write_text(PIPELINE)
    with open_home(settings=settings) as home:
        home.pipelines.upload("greeting", f"{source}:greeting", tags=["prod"])
    return settings


def schedule_every_minute(settings: Settings, minutes_ago: int, **fields) -> None:
    """A schedule whose last `minutes_ago` minutes are due now (catch-up on), and no more:
    it ends a second after the last (so a minute turning meanwhile adds no time)."""
    last = datetime.now(UTC).replace(second=0, microsecond=0)
    start = last - timedelta(minutes=minutes_ago)
    with open_home(settings=settings) as home:
        home.schedules.create(
            "minutely",
            "* * * * *",
            pipeline_job("greeting@prod", {"name": "Ada"}),
            start_time=start + timedelta(seconds=1),  # the times after it, up to now
            end_time=last + timedelta(seconds=1),
            catch_up=True,
            max_concurrent_run_count=20,
            **fields,
        )


def conveyor(settings: Settings, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor", *args],
        env={**os.environ, **settings.to_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    return output


def fires(settings: Settings) -> list:
    with open_home(settings=settings) as home:
        return home.schedules.fires("minutely", limit=None)


def runs(settings: Settings) -> list:
    with open_home(settings=settings) as home:
        return home.store.list_runs(pipeline="greeting")


def test_scheduler_once_fires_due_times_as_recorded_runs(registered):
    schedule_every_minute(registered, 2)
    output = finished(conveyor(registered, "scheduler", "--once"))
    assert output.count("schedule minutely: started run greeting-") == 2
    made = fires(registered)
    assert [f.state for f in made] == [FireState.SUCCEEDED] * 2
    recorded = {r.run_id: r for r in runs(registered)}
    assert set(recorded) == {f.run_id for f in made}
    for fire in made:
        run = recorded[fire.run_id]
        assert run.status == RunStatus.SUCCEEDED
        assert run.parameters == {"name": "Ada"}
        assert run.origin["pipeline_version"] == "greeting@1"
        assert run.origin["fired_by"]["source"] == "schedule"
        assert run.origin["fired_by"]["fire_id"] == fire.id
    assert finished(conveyor(registered, "scheduler", "--once")).strip() == ""  # nothing due


@pytest.mark.parametrize("settings", ["sqlite", "postgresql"], indirect=True)
def test_two_schedulers_fire_each_time_once(registered):
    schedule_every_minute(registered, 4)
    both = [conveyor(registered, "scheduler", "--once") for _ in range(2)]
    outputs = [finished(p) for p in both]
    made = fires(registered)
    assert sum(o.count("started run") for o in outputs) == 4
    assert len(made) == 4 and len({f.scheduled_time for f in made}) == 4
    assert {f.state for f in made} == {FireState.SUCCEEDED}
    assert len(runs(registered)) == 4


def test_a_scheduler_killed_mid_fire_fires_the_time_once(registered):
    """SIGKILL the scheduler once its fired process has started; the run goes on; a
    restarted scheduler starts nothing again, and the fire ends with the run."""
    schedule_every_minute(registered, 1)
    looping = conveyor(registered, "scheduler", "--poll", "0.2", start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not [f for f in fires(registered) if f.state != FireState.CLAIMED]:
            assert time.monotonic() < deadline, "the scheduler started nothing"
            time.sleep(0.05)
    finally:
        os.killpg(looping.pid, signal.SIGKILL)
        looping.communicate()
    restarted = finished(conveyor(registered, "scheduler", "--once"))
    assert "started run" not in restarted
    deadline = time.monotonic() + 120
    while fires(registered)[0].state.active:  # the first fired process ends it
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert [f.state for f in fires(registered)] == [FireState.SUCCEEDED]
    assert len(runs(registered)) == 1


def test_a_claim_whose_scheduler_died_before_starting_it_fires_once(registered):
    """A claim made and never started (its scheduler died at once): once it runs out, the
    next scheduler starts it, under the run id chosen at the claim."""
    schedule_every_minute(registered, 1)
    with open_home(settings=registered) as home:
        (claim,) = home.schedules.claim_due("gone", timedelta(seconds=-1))  # already run out
    output = finished(conveyor(registered, "scheduler", "--once"))
    assert "started run" not in output  # a take-over, not a new time
    (fire,) = fires(registered)
    assert fire.state == FireState.SUCCEEDED and fire.run_id == claim.run_id
    assert [r.run_id for r in runs(registered)] == [claim.run_id]
