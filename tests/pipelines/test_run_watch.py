"""`conveyor.pipelines.watch` over SQLite and PostgreSQL: a run is read again after each
kind of change its page shows and not otherwise, and its watch ends with it; a task's log
is read from its tail, then as it grows, whole characters, until the task has ended."""

import pytest

from conveyor.pipelines.watch import LogWatch, RunWatch
from conveyor.store.metadata import ExecutionState, NotFound, RunStatus


def test_a_run_is_read_again_only_when_it_changed(store):
    store.create_run("run-1", "train", lease="runner")
    watch = RunWatch(store, "run-1")
    assert watch.poll().status == RunStatus.RUNNING and not watch.ended
    assert watch.poll() is None  # nothing changed

    def changed() -> list:
        run = watch.poll()
        assert run is not None and watch.poll() is None
        return run.executions

    task = store.create_execution("run-1", "train")
    assert [e.state for e in changed()] == [ExecutionState.RUNNING]
    model = store.create_artifact("file:///m", "system.Model", "model", output_of=task)
    assert [a.state for a in changed()[0].outputs["model"]] == ["PENDING"]
    store.publish_artifact(model, sha256="a" * 64, size=1)
    assert [a.state for a in changed()[0].outputs["model"]] == ["LIVE"]
    store.finish_execution(task, ExecutionState.COMPLETE, outputs={"n": 1})
    assert [e.state for e in changed()] == [ExecutionState.COMPLETE]
    assert store.execution_state(task) == ExecutionState.COMPLETE
    assert not watch.ended
    store.end_run("run-1", "runner", RunStatus.SUCCEEDED, None)
    assert watch.poll().status == RunStatus.SUCCEEDED and watch.ended


def test_a_run_whose_runner_is_lost_changes(store):
    store.create_run("run-1", "train")  # no lease: no runner
    store.create_run("run-2", "train", lease="runner")
    assert store.run_marker("run-1") != store.run_marker("run-2")
    assert RunWatch(store, "run-1").poll().runner_lost


def test_what_is_not_there_is_not_found(store):
    with pytest.raises(NotFound, match="no run 'nope'"):
        RunWatch(store, "nope").poll()
    with pytest.raises(NotFound, match="no execution 404"):
        store.execution_state(404)


def test_a_log_is_read_from_its_tail_as_it_grows_until_its_task_ends(store, tmp_path):
    store.create_run("run-1", "train")
    task = store.create_execution("run-1", "train")
    path = tmp_path / "train.log"

    def find():
        if not path.exists():
            raise NotFound("no log yet")
        return path

    watch = LogWatch(store, task, find, tail_bytes=4)
    assert watch.poll() == "" and not watch.ended  # no log yet: the task may open it
    path.write_bytes(b"old lines\n")
    assert watch.poll() == "nes\n"
    with path.open("ab") as log:
        log.write("caf\u00e9 ".encode()[:4])  # the é cut in half
        log.flush()
        assert watch.poll() == "caf"
        log.write("caf\u00e9 ".encode()[4:] + b"done\n")
    assert watch.poll() == "\u00e9 done\n" and not watch.ended
    store.finish_execution(task, ExecutionState.COMPLETE)
    with path.open("ab") as log:
        log.write(b"last\n")  # written before its end was recorded
    assert watch.poll() == "last\n" and watch.ended


def test_an_ended_task_without_a_log_ends_its_watch(store):
    store.create_run("run-1", "train")
    task = store.create_execution("run-1", "train")
    store.finish_execution(task, ExecutionState.FAILED, error="boom")

    def find():
        raise NotFound("no log")

    watch = LogWatch(store, task, find, tail_bytes=10)
    assert watch.poll() == "" and watch.ended
