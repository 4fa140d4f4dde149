"""Schedule semantics (Vertex AI's `Schedule`), with a clock the tests move: times, counts,
end times, concurrency with and without queueing, pause and resume with and without
catch-up, time zones across a DST change, KFP's six-field cron, and bad input refused when
the schedule is written. No process is started: fires are claimed and ended by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from race_support import race

from conveyor.automation.errors import AutomationConflict, AutomationUsageError, PipelineNotFound
from conveyor.automation.fires import Fires
from conveyor.automation.pipelines import PipelineRegistry
from conveyor.automation.requests import pipeline_job
from conveyor.automation.schedule_records import FireState, ScheduleState
from conveyor.automation.schedules import Schedules
from conveyor.store.metadata import MetadataStore

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.py"
TTL = timedelta(minutes=1)
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def pipelines(store) -> PipelineRegistry:
    registry = PipelineRegistry(store, user="dana")
    registry.upload("hello", f"{HELLO}:hello_pipeline", tags=["prod"])
    return registry


@pytest.fixture
def schedules(store, pipelines, clock) -> Schedules:
    made = Schedules(store, pipelines, user="dana", now=clock)
    pipelines.add_delete_guard(made.delete_guard)
    return made


def hourly(schedules: Schedules, name: str = "nightly", **fields) -> None:
    schedules.create(name, "0 * * * *", pipeline_job("hello@prod", {"name": "Ada"}), **fields)


def claim(schedules: Schedules, owner: str = "test") -> list:
    return schedules.claim_due(owner, TTL)


def end(store: MetadataStore, claims, state=FireState.SUCCEEDED) -> None:
    for made in claims:
        assert Fires(store).finish(made.fire_id, state)


def states(schedules: Schedules, name: str = "nightly") -> list[tuple[str, str]]:
    """(scheduled time HH:MM, state) of every fire, oldest first."""
    return [
        (f"{f.scheduled_time:%d %H:%M}", f.state.value) for f in reversed(schedules.fires(name))
    ]


def test_a_schedule_fires_at_its_times_and_not_before(schedules, clock, store):
    hourly(schedules)
    made = schedules.get("nightly")
    assert made.state == ScheduleState.ACTIVE
    assert made.next_run_time == START  # a time of the cron at the start counts
    assert made.max_concurrent_run_count == 1 and made.allow_queueing is False
    first = claim(schedules)
    assert [c.source_name for c in first] == ["nightly"]
    assert first[0].run_id.startswith("hello-pipeline-")
    assert claim(schedules) == []  # nothing more is due
    after = schedules.get("nightly")
    assert after.next_run_time == START + timedelta(hours=1)
    assert after.started_run_count == 1
    assert after.last_scheduled_run_response == {
        "scheduled_run_time": START.isoformat(),
        "run_response": first[0].run_id,
    }
    fire = schedules.fires("nightly")[0]
    assert fire.state == FireState.CLAIMED
    request = fire.event["request"]["pipeline_job"]
    assert request["pipeline"] == "hello@1"  # the version the tag named at the fire
    assert request["parameters"]["name"] == "Ada"  # bound, with the defaults
    assert "sentence" in request["parameters"]
    end(store, first)
    clock.move(minutes=59, seconds=59)
    assert claim(schedules) == []
    clock.move(seconds=1)
    assert len(claim(schedules)) == 1


def test_a_schedule_completes_at_max_run_count(schedules, clock, store):
    hourly(schedules, max_run_count=2)
    end(store, claim(schedules))
    clock.move(hours=1)
    end(store, claim(schedules))
    assert schedules.get("nightly").state == ScheduleState.COMPLETED
    clock.move(hours=5)
    assert claim(schedules) == []
    assert schedules.get("nightly").started_run_count == 2
    with pytest.raises(AutomationConflict, match="completed"):
        schedules.resume("nightly")


def test_a_schedule_completes_after_its_end_time(schedules, clock, store):
    hourly(schedules, end_time=START + timedelta(hours=1, minutes=30))
    end(store, claim(schedules))
    clock.move(hours=1)
    end(store, claim(schedules))
    clock.move(hours=1)
    assert claim(schedules) == []
    assert schedules.get("nightly").state == ScheduleState.COMPLETED
    assert schedules.get("nightly").started_run_count == 2


def test_a_time_that_comes_while_a_run_is_under_way_is_skipped(schedules, clock, store):
    hourly(schedules)
    running = claim(schedules)
    clock.move(hours=1)
    assert claim(schedules) == []
    skipped = schedules.fires("nightly")[0]
    assert skipped.state == FireState.SKIPPED
    assert "max_concurrent_run_count 1" in skipped.error
    end(store, running)
    clock.move(hours=1)
    assert len(claim(schedules)) == 1
    assert states(schedules) == [
        ("01 12:00", "SUCCEEDED"),
        ("01 13:00", "SKIPPED"),
        ("01 14:00", "CLAIMED"),
    ]


def test_with_queueing_the_time_waits_for_a_free_slot(schedules, clock, store):
    hourly(schedules, allow_queueing=True, max_run_count=2)
    running = claim(schedules)
    clock.move(hours=1)
    assert claim(schedules) == []
    assert schedules.fires("nightly")[0].state == FireState.QUEUED
    clock.move(hours=1)  # the queue counts against max_run_count: nothing more queues
    assert claim(schedules) == []
    assert schedules.get("nightly").state == ScheduleState.ACTIVE
    end(store, running)
    started = claim(schedules)
    assert len(started) == 1
    assert states(schedules) == [("01 12:00", "SUCCEEDED"), ("01 13:00", "CLAIMED")]
    end(store, started)
    assert claim(schedules) == []
    assert schedules.get("nightly").state == ScheduleState.COMPLETED


def test_more_concurrent_runs_when_allowed(schedules, clock):
    hourly(schedules, max_concurrent_run_count=2)
    claim(schedules)
    clock.move(hours=1)
    assert len(claim(schedules)) == 1
    clock.move(hours=1)
    assert claim(schedules) == []
    assert [s for _, s in states(schedules)] == ["CLAIMED", "CLAIMED", "SKIPPED"]


def test_resume_without_catch_up_skips_the_paused_times(schedules, clock, store):
    hourly(schedules)
    end(store, claim(schedules))
    schedules.pause("nightly")
    assert schedules.get("nightly").state == ScheduleState.PAUSED
    clock.move(hours=3, minutes=30)
    assert claim(schedules) == []
    resumed = schedules.resume("nightly")
    assert resumed.state == ScheduleState.ACTIVE and resumed.last_resume_time == clock()
    assert resumed.next_run_time == START + timedelta(hours=4)
    assert claim(schedules) == []
    clock.move(minutes=30)
    assert len(claim(schedules)) == 1


def test_resume_with_catch_up_fires_each_paused_time_in_turn(schedules, clock, store):
    hourly(schedules, max_concurrent_run_count=5)
    end(store, claim(schedules))
    schedules.pause("nightly")
    clock.move(hours=3, minutes=30)
    assert schedules.resume("nightly", catch_up=True).catch_up is True
    caught = claim(schedules)
    assert [f"{schedules.fires('nightly')[0].scheduled_time:%H:%M}"] == ["15:00"]
    assert len(caught) == 3
    assert [t for t, _ in states(schedules)] == ["01 12:00", "01 13:00", "01 14:00", "01 15:00"]


def test_times_missed_while_no_scheduler_ran_fire_once_without_catch_up(schedules, clock, store):
    hourly(schedules)
    end(store, claim(schedules))
    clock.move(hours=5, minutes=10)  # no scheduler for five hours
    assert len(claim(schedules)) == 1
    assert states(schedules) == [
        ("01 12:00", "SUCCEEDED"),
        ("01 13:00", "SKIPPED"),
        ("01 17:00", "CLAIMED"),
    ]
    assert "catch_up is off" in schedules.fires("nightly")[1].error


def test_a_time_zone_schedule_across_the_spring_dst_change(schedules, clock, store):
    clock.at = datetime(2026, 3, 27, 12, tzinfo=UTC)
    schedules.create(
        "paris", "TZ=Europe/Paris 30 2 * * *", pipeline_job("hello@prod"), catch_up=True
    )
    fired = []
    for _ in range(4):
        clock.move(days=1)
        for made in claim(schedules):
            fired.append(schedules.fires("paris")[0].scheduled_time)
            end(store, [made])
    # 02:30 CET is 01:30 UTC; on 29 March 02:30 does not exist: 03:00 CEST (01:00 UTC)
    assert fired == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]


def test_a_time_zone_schedule_fires_once_when_clocks_go_back(schedules, clock, store):
    clock.at = datetime(2026, 10, 24, 12, tzinfo=UTC)
    schedules.create("paris", "CRON_TZ=Europe/Paris 30 2 * * *", pipeline_job("hello@prod"))
    clock.at = datetime(2026, 10, 25, 4, tzinfo=UTC)
    end(store, claim(schedules))
    assert [f.scheduled_time for f in schedules.fires("paris")] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST; 02:30 CET does not fire
    ]
    assert schedules.get("paris").next_run_time == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_a_six_field_cron_has_seconds_first(schedules, clock, store):
    schedules.create(
        "often", "30 */15 * * * *", pipeline_job("hello@prod"), max_concurrent_run_count=9
    )
    assert schedules.get("often").next_run_time == START + timedelta(seconds=30)
    clock.move(minutes=31)
    claim(schedules)
    assert schedules.get("often").next_run_time == START + timedelta(minutes=45, seconds=30)


def test_a_schedule_follows_its_tag(schedules, pipelines, clock, store):
    hourly(schedules)
    end(store, claim(schedules))
    later = pipelines.upload("hello", f"{HELLO}:hello_pipeline", description="again")
    assert later.created is False  # the same spec: still version 1
    spec = dict(pipelines.spec("hello@1"))
    spec["pipelineInfo"] = {**spec["pipelineInfo"], "description": "second"}
    second = pipelines.upload("hello", spec, tags=["prod"])
    assert second.version == 2
    clock.move(hours=1)
    claim(schedules)
    assert schedules.fires("nightly")[0].event["request"]["pipeline_job"]["pipeline"] == "hello@2"


def test_a_version_a_schedule_runs_cannot_be_deleted(schedules, pipelines):
    hourly(schedules)
    with pytest.raises(AutomationConflict, match="schedule 'nightly' runs hello@prod"):
        pipelines.delete("hello", 1)
    with pytest.raises(AutomationConflict, match="schedule 'nightly'"):
        pipelines.delete("hello")
    schedules.delete("nightly")
    pipelines.delete("hello")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "61 * * * *"}, "cron: '61 \\* \\* \\* \\*' is not a valid cron"),
        ({"cron": "TZ=Nowhere/Atlantis 0 * * * *"}, "cron: unknown time zone 'Nowhere/Atlantis'"),
        ({"cron": "* * *"}, "cron: .* has 3 fields"),
        ({"cron": "0 0 30 2 *"}, "cron: '0 0 30 2 \\*' names no date that exists"),
        (
            {"request": pipeline_job("hello@prod", {"nope": 1})},
            "request.pipeline_job.parameters: unknown parameter 'nope'",
        ),
        (
            {"request": pipeline_job("hello@prod", {"name": 3})},
            "request.pipeline_job.parameters: .*name",
        ),
        ({"request": {"pipeline_job": {}}}, "request.pipeline_job.pipeline: .*required"),
        ({"request": {"bake": {}}}, "request: 'bake' is not a request"),
        ({"max_concurrent_run_count": 0}, "max_concurrent_run_count: must be a whole number"),
        ({"max_run_count": -1}, "max_run_count: must be a whole number"),
        ({"end_time": START - timedelta(days=1)}, "end_time: must be after start_time"),
        ({"start_time": datetime(2026, 1, 1)}, "start_time: give a time zone"),
        ({"name": "1st"}, "name: '1st' is not valid"),
    ],
)
def test_bad_input_is_refused_when_the_schedule_is_written(schedules, fields, message):
    given = {
        "name": "nightly",
        "cron": "0 * * * *",
        "request": pipeline_job("hello@prod"),
        **fields,
    }
    with pytest.raises(AutomationUsageError, match=message):
        schedules.create(given.pop("name"), given.pop("cron"), given.pop("request"), **given)
    assert schedules.list() == []


def test_an_unknown_pipeline_version_is_refused(schedules):
    with pytest.raises(PipelineNotFound):
        schedules.create("nightly", "0 * * * *", pipeline_job("hello@9"))
    with pytest.raises(PipelineNotFound):
        schedules.create("nightly", "0 * * * *", pipeline_job("nothing@prod"))


def test_a_name_is_taken_once(schedules):
    hourly(schedules)
    with pytest.raises(AutomationConflict, match="already exists"):
        hourly(schedules)


def test_two_schedulers_never_claim_one_time_twice(store_url, pipelines, clock):
    """Four schedulers, each with a store of its own, race over 30 due times (catch-up on,
    room for every run): each time is claimed exactly once."""
    Schedules(pipelines.store, pipelines, now=clock).create(
        "busy",
        "* * * * *",
        pipeline_job("hello@prod"),
        catch_up=True,
        max_concurrent_run_count=100,
    )
    clock.move(minutes=29)
    claimed = race(store_url, lambda own: Schedules(own, PipelineRegistry(own), now=clock))
    times = [f.scheduled_time for f in Schedules(pipelines.store, pipelines).fires("busy")]
    assert len(times) == len(set(times)) == 30
    assert len(claimed) == 30
    assert len({c.run_id for c in claimed}) == 30


def test_a_time_fired_before_never_fires_again(schedules, clock, store):
    """The clock stepped back (NTP) and the cron written again: 12:00 comes round a second
    time, and is not fired twice."""
    hourly(schedules, start_time=START - timedelta(hours=1, minutes=30))
    end(store, claim(schedules))  # 12:00 (11:00 was the only missed time before: skipped)
    clock.move(minutes=-2)
    assert schedules.update("nightly", cron="0 * * * *").next_run_time == START
    clock.move(minutes=2)
    assert claim(schedules) == []
    assert schedules.get("nightly").next_run_time == START + timedelta(hours=1)
    assert [s for t, s in states(schedules) if t == "01 12:00"] == ["SUCCEEDED"]
