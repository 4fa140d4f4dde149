"""Triggers with a clock the tests move: new files (local, spans, S3) fired once each and
never twice, even by a restarted or a second scheduler; monitoring alerts with their
cooldown; finished runs passing their outputs on; webhook calls checked and deduplicated
by key; pause and resume; bad input refused when the trigger is written. One test starts
the fired run in a real process, as `conveyor scheduler` does."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kfp import dsl
from race_support import race
from s3fs import S3FileSystem

from alert_support import NOW, raise_alert
from conveyor.automation.errors import (
    AutomationConflict,
    AutomationUsageError,
    PipelineNotFound,
    TriggerNotFound,
)
from conveyor.automation.fires import Fires
from conveyor.automation.launch import LOG_FOLDER, Launcher
from conveyor.automation.pipelines import PipelineRegistry
from conveyor.automation.requests import monitoring_job, pipeline_job
from conveyor.automation.schedule_records import FireState
from conveyor.automation.scheduler import FIRE_COMMAND, Scheduler
from conveyor.automation.trigger_records import TriggerKind, TriggerState
from conveyor.automation.triggers import Triggers
from conveyor.home import open_home
from conveyor.monitoring import MonitorConflict, MonitorNotFound, Monitors
from conveyor.pipelines.runner import run
from conveyor.pipelines.spec import load
from conveyor.registry import Registry
from conveyor.store.metadata import MetadataStore
from store.s3_server import running_s3

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.py"
HELLO_SPEC = dict(load(f"{HELLO}:hello_pipeline"))
TTL = timedelta(minutes=1)
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def with_hello(store: MetadataStore) -> PipelineRegistry:
    registry = PipelineRegistry(store, user="dana")
    registry.upload("hello", HELLO_SPEC, tags=["prod"])
    return registry


@pytest.fixture
def triggers(store, clock) -> Triggers:
    """Triggers on SQLite and PostgreSQL, running hello@prod."""
    made = Triggers(store, with_hello(store), user="dana", now=clock)
    made.pipelines.add_delete_guard(made.delete_guard)
    return made


@pytest.fixture
def quick(tmp_path, clock):
    """Triggers on SQLite alone, for what needs no second backend."""
    with MetadataStore.open(f"sqlite:///{tmp_path / 'quick.db'}") as store:
        made = Triggers(store, with_hello(store), user="dana", now=clock)
        made.pipelines.add_delete_guard(made.delete_guard)
        yield made


@pytest.fixture
def spans(tmp_path) -> Path:
    folder = tmp_path / "spans"
    folder.mkdir()
    return folder


def on_new_files(triggers: Triggers, folder: Path, name: str = "fresh", **event):
    return triggers.create(
        name,
        "new_data",
        {"pattern": f"{folder}/*.csv", "parameter": "name", **event},
        pipeline_job("hello@prod", {"sentence": "a new file"}),
    )


def claim(triggers: Triggers, owner: str = "test") -> list:
    return triggers.claim_due(owner, TTL)


def end(triggers: Triggers, claims, state=FireState.SUCCEEDED) -> None:
    for made in claims:
        assert Fires(triggers.store).finish(made.fire_id, state)


def states(triggers: Triggers, name: str = "fresh") -> list[tuple[str, str]]:
    """(object's file name, state) of every fire, oldest first."""
    return [(Path(f.event["object"]).name, f.state.value) for f in reversed(triggers.fires(name))]


def write(path: Path, text: str = "x,y\n1,2\n") -> Path:
    path.write_text(text)
    return path


# New data


def test_new_files_fire_once_each_in_turn(triggers, spans, clock):
    write(spans / "old.csv")
    made = on_new_files(triggers, spans)
    assert made.kind == TriggerKind.NEW_DATA and made.state == TriggerState.ACTIVE
    assert made.event == {
        "pattern": f"{spans}/*.csv",
        "parameter": "name",
        "max_concurrent_run_count": 1,
    }
    assert states(triggers) == [("old.csv", "SKIPPED")]
    assert triggers.fires("fresh")[0].error == "present when the trigger was created"
    assert claim(triggers) == []

    write(spans / "a.csv")
    write(spans / "b.csv")
    write(spans / "notes.txt")  # not the pattern's
    first = claim(triggers)
    assert [(c.source, c.source_name) for c in first] == [("trigger", "fresh")]
    assert first[0].run_id.startswith("hello-pipeline-")
    assert states(triggers) == [("old.csv", "SKIPPED"), ("a.csv", "CLAIMED"), ("b.csv", "QUEUED")]
    fire = triggers.fires("fresh")[1]
    assert fire.occurrence.startswith(f"{spans / 'a.csv'}|8|")
    assert fire.event["object"] == str(spans / "a.csv") and fire.event["size"] == 8
    assert fire.event["parameters"] == {"name": str(spans / "a.csv")}
    request = fire.event["request"]["pipeline_job"]
    assert request["pipeline"] == "hello@1"
    assert request["parameters"] == {"name": str(spans / "a.csv"), "sentence": "a new file"}
    assert fire.scheduled_time == START

    assert claim(triggers) == []  # one run at a time: b waits
    end(triggers, first)
    clock.move(minutes=1)
    second = claim(triggers)
    assert len(second) == 1 and states(triggers)[-1] == ("b.csv", "CLAIMED")
    end(triggers, second)

    restarted = Triggers(triggers.store, triggers.pipelines, now=clock)
    assert claim(restarted, "another") == []  # a restarted scheduler fires nothing again
    assert len(triggers.fires("fresh")) == 3

    write(spans / "a.csv", "x,y\n1,2\n3,4\n")  # written again: a new object
    again = claim(restarted, "another")
    assert len(again) == 1
    assert [s for _, s in states(triggers)] == ["SKIPPED", "SUCCEEDED", "SUCCEEDED", "CLAIMED"]


def test_files_that_came_while_no_scheduler_ran_fire_once(quick, spans, clock):
    on_new_files(quick, spans, max_concurrent_run_count=5)
    for name in ("a", "b", "c"):
        write(spans / f"{name}.csv")
    clock.move(hours=6)  # no scheduler ran
    restarted = Triggers(quick.store, quick.pipelines, now=clock)
    fired = claim(restarted)
    assert len(fired) == 3
    assert states(quick) == [("a.csv", "CLAIMED"), ("b.csv", "CLAIMED"), ("c.csv", "CLAIMED")]
    assert claim(restarted) == [] and claim(quick) == []


def test_a_relative_pattern_is_kept_absolute(quick, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "spans").mkdir(parents=True)
    made = quick.create(
        "spans",
        "new_data",
        {"pattern": "data/spans/span-*", "parameter": "name"},
        pipeline_job("hello@prod"),
    )
    assert made.event["pattern"] == f"{tmp_path}/data/spans/span-*"


def test_span_folders_fire_once_however_their_files_change(quick, spans):
    (spans / "span-1").mkdir()
    quick.create(
        "spans",
        "new_data",
        {"pattern": f"{spans}/span-*", "parameter": "name", "max_concurrent_run_count": 9},
        pipeline_job("hello@prod"),
    )
    (spans / "span-2").mkdir()
    write(spans / "span-2" / "part-0.csv")
    fired = claim(quick)
    assert len(fired) == 1
    write(spans / "span-2" / "part-1.csv")
    assert claim(quick) == []
    fire = quick.fires("spans")[0]
    assert fire.occurrence == str(spans / "span-2")
    assert fire.event["parameters"] == {"name": str(spans / "span-2")}
    assert fire.event["folder"] is True


def test_span_patterns_fire_each_new_span_with_its_files(quick, spans):
    (spans / "span-1").mkdir()
    write(spans / "span-1" / "a.csv")
    pattern = f"{spans}/span-{{SPAN}}/*.csv"
    quick.create(
        "spans",
        "new_data",
        {"pattern": pattern, "parameter": "name", "max_concurrent_run_count": 9},
        pipeline_job("hello@prod"),
    )
    for span in (2, 10):
        (spans / f"span-{span}").mkdir()
        write(spans / f"span-{span}" / "a.csv")
        write(spans / f"span-{span}" / "b.csv")
    assert len(claim(quick)) == 2
    fired = [(f.event["span"], f.event["parameters"]["name"]) for f in quick.fires("spans")]
    assert fired == [
        (10, f"{spans}/span-10/*.csv"),
        (2, f"{spans}/span-2/*.csv"),
        (1, f"{spans}/span-1/*.csv"),  # present at creation: skipped
    ]
    assert quick.fires("spans")[-1].state == FireState.SKIPPED


SPAN_PIPELINE = """
from kfp import dsl


@dsl.component
def read(data: str, span: int) -> str:
    return data.replace("{SPAN}", str(span))


@dsl.pipeline(name="spans")
def spans(data: str = "", span: int = -1) -> str:
    return read(data=data, span=span).output
"""


def test_a_span_parameter_receives_each_new_span_number(quick, spans, tmp_path):
    source = tmp_path / "span_pipeline.py"
    source.write_text(SPAN_PIPELINE)
    quick.pipelines.upload("by-span", f"{source}:spans")
    pattern = f"{spans}/span-{{SPAN}}/*.csv"
    quick.create(
        "spans",
        "new_data",
        {"pattern": pattern, "span_parameter": "span"},
        pipeline_job("by-span", {"data": pattern}),
    )
    (spans / "span-3").mkdir()
    write(spans / "span-3" / "a.csv")
    (made,) = claim(quick)
    request = quick.fires("spans")[0].event["request"]["pipeline_job"]
    assert request["parameters"] == {"data": pattern, "span": 3}
    with pytest.raises(AutomationUsageError, match="event.span_parameter: the pattern has no"):
        quick.create(
            "flat", "new_data", {"pattern": f"{spans}/*", "span_parameter": "span"},
            pipeline_job("by-span"),
        )  # fmt: skip
    with pytest.raises(AutomationUsageError, match="'nope'"):
        quick.create(
            "wrong", "new_data", {"pattern": pattern, "span_parameter": "nope"},
            pipeline_job("by-span"),
        )  # fmt: skip


def test_new_objects_in_an_s3_bucket(quick, monkeypatch):
    with running_s3() as s3:
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)  # where s3fs finds this server
        S3FileSystem.clear_instance_cache()  # not a client of another test's server
        bucket = s3.filesystem()
        bucket.pipe_file(f"{s3.bucket}/spans/old.csv", b"x\n1\n")
        quick.create(
            "s3-spans",
            "new_data",
            {"pattern": f"s3://{s3.bucket}/spans/*.csv", "parameter": "name"},
            pipeline_job("hello@prod"),
        )
        bucket.pipe_file(f"{s3.bucket}/spans/new.csv", b"x\n2\n")
        assert len(claim(quick)) == 1
        assert claim(quick) == []
        fires = quick.fires("s3-spans")
        assert [(f.event["object"], f.state.value) for f in fires] == [
            (f"s3://{s3.bucket}/spans/new.csv", "CLAIMED"),
            (f"s3://{s3.bucket}/spans/old.csv", "SKIPPED"),
        ]
        assert fires[0].event["etag"]  # S3 says what changed by its etag
        with pytest.raises(AutomationUsageError, match="event.pattern: the bucket 'nowhere'"):
            on_new_files(quick, "s3://nowhere/spans", name="nowhere")


# Monitoring alerts


@pytest.fixture
def watching(tmp_path, clock, monkeypatch) -> Triggers:
    """Triggers on SQLite, with model `churn` and its monitor `churn-drift`; the clock at
    the alerts' time (alert_support.NOW)."""
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    store = MetadataStore.open(f"sqlite:///{tmp_path / 'watch.db'}")
    registry = Registry(store)
    registry.upload(
        "churn", folder, framework="custom", input_schema=[{"name": "tenure", "type": "integer"}]
    )
    registry.set_alias("churn", "production", 1)
    monitors = Monitors(store, registry)
    monitors.create("churn-drift", "churn@production")
    clock.at = NOW
    made = Triggers(store, with_hello(store), monitors, now=clock)
    monitors.add_delete_guard(made.monitor_guard)
    yield made
    store.close()


def test_an_alert_fires_and_the_cooldown_skips_the_next(watching, clock):
    raise_alert(watching.store, "churn-drift", [], at=NOW - timedelta(hours=1))  # before it
    made = watching.create(
        "drift",
        "monitoring_alert",
        {"monitor": "churn-drift", "cooldown": "1h"},
        pipeline_job("hello@prod"),
    )
    assert made.event == {
        "monitor": "churn-drift",
        "objectives": [],
        "cooldown": "1h",
        "max_concurrent_run_count": 1,
    }
    assert claim(watching) == []
    first = raise_alert(watching.store, "churn-drift", [], feature="tenure", at=NOW)
    second = raise_alert(watching.store, "churn-drift", [], feature="plan", at=NOW)
    raise_alert(watching.store, "churn-drift", [], kind="recovery", at=NOW)  # not an anomaly
    fired = claim(watching)
    assert len(fired) == 1
    skipped, started = watching.fires("drift")
    assert started.occurrence == f"alert:{first}" and started.state == FireState.CLAIMED
    assert started.event["feature"] == "tenure"
    assert started.event["objective"] == "feature_drift"
    assert started.event["monitor"] == "churn-drift" and started.event["alert_id"] == first
    assert skipped.occurrence == f"alert:{second}" and skipped.state == FireState.SKIPPED
    assert (
        skipped.error == f"within the cooldown 1h of fire {started.id} (2026-06-02T12:00:00+00:00)"
    )
    end(watching, fired)

    clock.move(minutes=59)
    raise_alert(watching.store, "churn-drift", [], at=clock())
    assert claim(watching) == []
    assert watching.fires("drift")[0].state == FireState.SKIPPED
    clock.move(hours=1)
    raise_alert(watching.store, "churn-drift", [], at=clock())
    assert len(claim(watching)) == 1


def test_an_alert_trigger_follows_only_its_objectives(watching):
    watching.create(
        "skew",
        "monitoring_alert",
        {"monitor": "churn-drift", "objectives": ["feature_skew"], "cooldown": "0s"},
        pipeline_job("hello@prod"),
    )
    raise_alert(watching.store, "churn-drift", [], objective="feature_drift", at=NOW)
    skew = raise_alert(watching.store, "churn-drift", [], objective="feature_skew", at=NOW)
    claim(watching)
    assert [f.occurrence for f in watching.fires("skew")] == [f"alert:{skew}"]


def test_a_monitor_a_trigger_follows_is_not_deleted(watching):
    watching.create(
        "drift", "monitoring_alert", {"monitor": "churn-drift"}, pipeline_job("hello@prod")
    )
    with pytest.raises(MonitorConflict, match="trigger 'drift' follows its alerts"):
        watching.monitors.delete("churn-drift")
    with pytest.raises(MonitorNotFound, match="event.monitor: .*'nothing'"):
        watching.create(
            "other", "monitoring_alert", {"monitor": "nothing"}, pipeline_job("hello@prod")
        )


# Finished runs


@dsl.component
def make_word(word: str, fail: bool) -> str:
    if fail:
        raise RuntimeError("asked to fail")
    return word.upper()


@dsl.pipeline(name="producer")
def producer(word: str = "ada", fail: bool = False) -> str:
    return make_word(word=word, fail=fail).output


def test_a_finished_run_fires_with_its_outputs(tmp_path):
    with open_home() as home:
        run(producer, {"word": "before"}, home=home, executor="inline")  # before the trigger
        pipelines = with_hello(home.store)
        triggers = Triggers(home.store, pipelines)
        triggers.create(
            "next",
            "run_finished",
            {
                "pipeline": "producer",
                "parameters": {"name": "Output", "sentence": "make-word/Output"},
                "max_concurrent_run_count": 9,
            },
            pipeline_job("hello@prod"),
        )
        triggers.create(
            "on-failure",
            "run_finished",
            {"pipeline": "producer", "states": ["FAILED"], "parameters": {"name": "word"}},
            pipeline_job("hello@prod"),
        )
        assert claim(triggers) == []
        good = run(producer, {"word": "grace"}, home=home, executor="inline")
        bad = run(producer, {"word": "oops", "fail": True}, home=home, executor="inline")
        assert (good.status, bad.status) == ("SUCCEEDED", "FAILED")
        fired = claim(triggers)
        assert [c.source_name for c in fired] == ["next", "on-failure"]
        [after_good] = triggers.fires("next")
        assert after_good.occurrence == f"run:{good.run_id}"
        assert after_good.event["run_id"] == good.run_id
        assert after_good.event["state"] == "SUCCEEDED"
        parameters = after_good.event["request"]["pipeline_job"]["parameters"]
        assert parameters == {"name": "GRACE", "sentence": "GRACE"}
        [after_bad] = triggers.fires("on-failure")
        assert after_bad.event["parameters"] == {"name": "oops"}  # a parameter of the run
        assert claim(triggers) == []


def test_a_mapping_the_run_cannot_give_fails_the_fire(tmp_path):
    with open_home() as home:
        triggers = Triggers(home.store, with_hello(home.store))
        triggers.create(
            "next",
            "run_finished",
            {"pipeline": "producer", "parameters": {"name": "nothing"}},
            pipeline_job("hello@prod"),
        )
        done = run(producer, {}, home=home, executor="inline")
        assert claim(triggers) == []
        [failed] = triggers.fires("next")
        assert failed.state == FireState.FAILED
        assert failed.error == (
            f"run {done.run_id} has no output or parameter 'nothing' to map "
            "(it has: Output, fail, make-word/Output, word)"
        )


# Webhooks


def test_a_webhook_call_is_checked_and_deduplicated_by_key(triggers, clock):
    triggers.create("hook", "webhook", {"parameters": ["name"]}, pipeline_job("hello@prod"))
    made = triggers.fire("hook", {"name": "Ada"}, key="build-41")
    assert made.state == FireState.QUEUED and made.occurrence == "key:build-41"
    assert made.event == {"key": "build-41", "parameters": {"name": "Ada"}}
    assert triggers.fire("hook", {"name": "Ada"}, key="build-41") == made  # recorded once
    with pytest.raises(AutomationConflict, match="key: 'build-41' made fire .* other param"):
        triggers.fire("hook", {"name": "Bob"}, key="build-41")
    with pytest.raises(AutomationUsageError, match="parameters: 'sentence' is not one"):
        triggers.fire("hook", {"sentence": "hi"})
    with pytest.raises(AutomationUsageError, match="parameters: .*name"):
        triggers.fire("hook", {"name": 3})
    assert len(triggers.fires("hook")) == 1
    [started] = claim(triggers)
    assert started.fire_id == made.id
    fire = triggers.fires("hook")[0]
    assert fire.event["request"]["pipeline_job"]["parameters"]["name"] == "Ada"
    again = triggers.fire("hook", {"name": "Ada"}, key="build-41")
    assert (again.id, again.state) == (made.id, FireState.CLAIMED)
    other = triggers.fire("hook")
    assert other.occurrence.startswith("call:") and other.state == FireState.QUEUED


def test_a_paused_trigger_fires_nothing_of_its_pause(quick, spans):
    on_new_files(quick, spans)
    quick.create("hook", "webhook", {}, pipeline_job("hello@prod"))
    quick.fire("hook", {"sentence": "waiting"})
    assert quick.pause("hook").state == TriggerState.PAUSED
    assert quick.fires("hook")[0].state == FireState.SKIPPED  # it waited: it will not start
    assert quick.fire("hook").error == "the trigger is paused"
    quick.pause("fresh")
    write(spans / "during.csv")
    assert claim(quick) == []
    assert quick.resume("fresh").state == TriggerState.ACTIVE
    write(spans / "after.csv")
    assert len(claim(quick)) == 1
    assert states(quick) == [("during.csv", "SKIPPED"), ("after.csv", "CLAIMED")]
    assert quick.fires("fresh")[1].error == "came while the trigger was paused"


def test_only_a_webhook_trigger_is_fired_by_a_call(quick, spans):
    on_new_files(quick, spans)
    with pytest.raises(AutomationUsageError, match="fires on new_data; only a webhook"):
        quick.fire("fresh")
    with pytest.raises(TriggerNotFound, match="no trigger 'nothing'"):
        quick.fire("nothing")


# The resource


def test_a_version_a_trigger_runs_is_not_deleted(quick, spans):
    on_new_files(quick, spans)
    with pytest.raises(AutomationConflict, match="trigger 'fresh' runs hello@prod"):
        quick.pipelines.delete("hello", 1)
    quick.delete("fresh")
    assert quick.list() == []
    quick.pipelines.delete("hello")


@pytest.mark.parametrize(
    ("kind", "event", "request_", "message"),
    [
        ("cron", {}, None, "kind: 'cron' is not one of new_data"),
        ("new_data", {"pattern": "foo://x/*", "parameter": "name"}, None, "event.pattern: foo://x/\\* cannot be listed"),
        ("new_data", {"pattern": "{missing}/*.csv", "parameter": "name"}, None, "event.pattern: the folder .*missing does not exist"),
        ("new_data", {"pattern": "{spans}/*.csv", "parameter": "nope"}, None, "hello@1 has no parameter 'nope' to receive the event"),
        ("new_data", {"pattern": "{spans}/*.csv"}, None, "event.parameter: name the pipeline parameter"),
        ("new_data", {"pattern": "{spans}/*", "parameter": "name", "max_concurrent_run_count": 0}, None, "event.max_concurrent_run_count: must be a whole number"),
        ("monitoring_alert", {"monitor": "m"}, None, "event.monitor: this home has no monitors"),
        ("run_finished", {"pipeline": "a", "parameters": {"nope": "Output"}}, None, "has no parameter 'nope' to receive the event"),
        ("run_finished", {"pipeline": "a", "states": ["DONE"]}, None, "event.states: a list among SUCCEEDED"),
        ("run_finished", {"pipeline": "hello-pipeline"}, None, "event.pipeline: hello@prod runs as 'hello-pipeline' too"),
        ("webhook", {"parameters": ["nope"]}, None, "has no parameter 'nope'"),
        ("webhook", {"cron": "x"}, None, "event: a webhook trigger takes only 'parameters'"),
        ("webhook", {}, monitoring_job("m"), "request: a trigger runs a pipeline"),
        ("webhook", {}, pipeline_job("hello@prod", {"nope": 1}), "request.pipeline_job.parameters: unknown parameter 'nope'"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_when_the_trigger_is_written(
    quick, spans, tmp_path, kind, event, request_, message
):
    folders = {"spans": spans, "missing": tmp_path / "missing"}
    event = {k: v.format(**folders) if isinstance(v, str) else v for k, v in event.items()}
    with pytest.raises(AutomationUsageError, match=message):
        quick.create("bad", kind, event, request_ or pipeline_job("hello@prod"))
    assert quick.list() == []


def test_an_unknown_pipeline_or_a_taken_name_is_refused(quick):
    with pytest.raises(PipelineNotFound):
        quick.create("hook", "webhook", {}, pipeline_job("nothing@prod"))
    quick.create("hook", "webhook", {}, pipeline_job("hello@prod"))
    with pytest.raises(AutomationConflict, match="name: a trigger 'hook' already exists"):
        quick.create("hook", "webhook", {}, pipeline_job("hello@prod"))


# Schedulers


def test_two_schedulers_never_fire_one_object_twice(store_url, tmp_path, clock):
    with MetadataStore.open(store_url) as store:
        triggers = Triggers(store, with_hello(store), now=clock)
        spans = tmp_path / "race"
        spans.mkdir()
        on_new_files(triggers, spans, max_concurrent_run_count=100)
        for n in range(30):
            write(spans / f"{n:02}.csv")
        claimed = race(store_url, lambda own: Triggers(own, PipelineRegistry(own), now=clock))
        fires = triggers.fires("fresh")
        assert len(fires) == 30 and {f.state for f in fires} == {FireState.CLAIMED}
        assert len(claimed) == 30 and len({c.fire_id for c in claimed}) == 30


def test_the_scheduler_runs_a_new_file_in_a_process_of_its_own(tmp_path):
    with open_home() as home:
        home.pipelines.upload("hello", HELLO_SPEC, tags=["prod"])
        spans = tmp_path / "incoming"
        spans.mkdir()
        on_new_files(home.triggers, spans)
        launcher = Launcher(FIRE_COMMAND, home.settings.to_env(), home.settings.folder / LOG_FOLDER)
        scheduler = Scheduler(home.schedules, Fires(home.store), launcher, sources=[home.triggers])
        assert scheduler.tick().started == []
        write(spans / "span-7.csv")
        [started] = scheduler.tick().started
        scheduler.wait(timeout=120)
        ended = home.triggers.fires("fresh")[0]
        assert ended.state == FireState.SUCCEEDED, launcher.tail(started.fire_id)
        ran = home.store.get_run(started.run_id)
        assert ran.parameters["name"] == str(spans / "span-7.csv")
        fired_by = ran.origin["fired_by"]
        assert fired_by["source"] == "trigger" and fired_by["fire_id"] == started.fire_id
        assert fired_by["object"] == str(spans / "span-7.csv")
        assert os.path.exists(launcher.log_path(started.fire_id))
