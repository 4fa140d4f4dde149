"""Recording runs, executions, artifacts and events, and reading them back (SQLite and PostgreSQL)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from conveyor.store.metadata import (
    DAG_EXECUTION,
    ArtifactState,
    EventType,
    ExecutionState,
    NotFound,
    RunStatus,
    StoreError,
    spec_digest,
)
from conveyor.store.metadata.models import PipelineSpec


def record_task(store, run_id, task_key="train", *, inputs=None, cache_key="key"):
    """One task as the engine records it: execution, two outputs written then published."""
    execution = store.create_execution(
        run_id,
        task_key,
        parameters={"lr": 0.1},
        inputs=inputs or {},
        cache_key=cache_key,
        cache_key_parts={"parameters": {"lr": 0.1}},
        log_uri="file:///logs/train.log",
    )
    model = store.create_artifact(
        f"file:///a/{run_id}/{task_key}/model", "system.Model", "model", output_of=execution
    )
    metrics = store.create_artifact(
        f"file:///a/{run_id}/{task_key}/metrics", "system.Metrics", "metrics", output_of=execution
    )
    store.publish_artifact(model, sha256="a" * 64, size=10)
    store.publish_artifact(metrics, sha256="b" * 64, size=2, metadata={"accuracy": 0.9})
    store.finish_execution(execution, ExecutionState.COMPLETE, outputs={"epochs": 3})
    return execution, model, metrics


def test_a_run_is_recorded_with_its_tasks_parameters_and_artifacts(store):
    store.create_run("run-1", "training", parameters={"lr": 0.1}, spec={"root": {"dag": {}}})
    data = store.create_artifact("file:///data.csv", "system.Dataset", "data")
    store.publish_artifact(data, sha256="c" * 64, size=100)
    execution, model, metrics = record_task(store, "run-1", inputs={"data": [data]})
    store.update_run("run-1", RunStatus.SUCCEEDED)

    run = store.get_run("run-1")
    assert (run.run_id, run.pipeline_name, run.status) == ("run-1", "training", "SUCCEEDED")
    assert run.parameters == {"lr": 0.1}
    assert run.spec == {"root": {"dag": {}}}
    assert run.ended_at is not None and run.ended_at >= run.created_at
    (task,) = run.executions
    assert task.id == execution
    assert (task.run_id, task.task_key, task.name) == ("run-1", "train", "train")
    assert task.type == "system.ContainerExecution"
    assert task.state == ExecutionState.COMPLETE
    assert task.input_parameters == {"lr": 0.1}
    assert task.output_parameters == {"epochs": 3}
    assert task.cache_key == "key"
    assert task.cache_key_parts == {"parameters": {"lr": 0.1}}
    assert task.log_uri == "file:///logs/train.log"
    assert task.started_at <= task.ended_at
    assert [a.id for a in task.inputs["data"]] == [data]
    assert [a.id for a in task.outputs["model"]] == [model]
    (recorded,) = task.outputs["metrics"]
    assert recorded.state == ArtifactState.LIVE
    assert (recorded.type, recorded.sha256, recorded.size) == ("system.Metrics", "b" * 64, 2)
    assert recorded.metadata == {"accuracy": 0.9}
    assert recorded.created_at.tzinfo is not None


def test_artifacts_start_pending_and_become_live_once(store):
    store.create_run("run-1", "training")
    artifact = store.create_artifact("file:///m", "system.Model", "model")
    assert store.get_artifact(artifact).state == ArtifactState.PENDING
    assert store.get_artifact(artifact).sha256 is None
    store.publish_artifact(artifact, sha256="d" * 64, size=5)
    assert store.get_artifact(artifact).state == ArtifactState.LIVE
    with pytest.raises(StoreError, match="is LIVE; it can become LIVE only from PENDING"):
        store.publish_artifact(artifact, sha256="e" * 64, size=6)
    store.set_artifact_state(artifact, ArtifactState.MARKED_FOR_DELETION)
    store.set_artifact_state(artifact, ArtifactState.DELETED)
    assert store.get_artifact(artifact).state == ArtifactState.DELETED
    with pytest.raises(ValueError, match="publish_artifact"):
        store.set_artifact_state(artifact, ArtifactState.LIVE)


def test_artifact_lists_keep_their_order(store):
    store.create_run("run-1", "training")
    producer = store.create_execution("run-1", "split")
    parts = [
        store.create_artifact(
            f"file:///part-{i}", "system.Dataset", "parts", output_of=producer, position=i
        )
        for i in (1, 0, 2)
    ]
    consumer = store.create_execution("run-1", "merge", inputs={"parts": [parts[2], parts[0]]})
    run = store.get_run("run-1")
    by_key = {e.task_key: e for e in run.executions}
    assert [a.uri for a in by_key["split"].outputs["parts"]] == [
        "file:///part-0",
        "file:///part-1",
        "file:///part-2",
    ]
    assert [a.id for a in by_key["merge"].inputs["parts"]] == [parts[2], parts[0]]
    assert consumer == by_key["merge"].id


def test_record_events_links_existing_artifacts(store):
    store.create_run("run-1", "training")
    execution = store.create_execution("run-1", "evaluate", type=DAG_EXECUTION)
    model = store.create_artifact("file:///m", "system.Model", "model")
    report = store.create_artifact("file:///r", "system.HTML", "report")
    store.record_events(execution, EventType.INPUT, {"model": [model]})
    store.record_events(execution, "OUTPUT", {"report": [report]})
    (task,) = store.get_run("run-1").executions
    assert task.type == DAG_EXECUTION
    assert [a.id for a in task.inputs["model"]] == [model]
    assert [a.id for a in task.outputs["report"]] == [report]


def test_executions_start_new_or_running_and_finish_once(store):
    store.create_run("run-1", "training")
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    waiting = store.create_execution("run-1", "a", state=ExecutionState.NEW)
    running = store.create_execution("run-1", "b", started_at=started)
    with pytest.raises(ValueError, match="starts NEW or RUNNING"):
        store.create_execution("run-1", "c", state=ExecutionState.COMPLETE)
    with pytest.raises(ValueError, match="finishes COMPLETE, FAILED or CANCELED"):
        store.finish_execution(running, ExecutionState.RUNNING)
    store.finish_execution(running, ExecutionState.FAILED, error="exit code 1")
    store.finish_execution(waiting, "CANCELED")
    with pytest.raises(StoreError, match="already FAILED"):
        store.finish_execution(running, ExecutionState.COMPLETE)
    a, b = store.get_run("run-1").executions
    assert (a.state, a.started_at) == (ExecutionState.CANCELED, None)
    assert (b.state, b.error, b.started_at) == (ExecutionState.FAILED, "exit code 1", started)


def test_unknown_ids_are_named(store):
    store.create_run("run-1", "training")
    with pytest.raises(NotFound, match="no run 'nope'.*conveyor runs list"):
        store.create_execution("nope", "train")
    with pytest.raises(NotFound, match="no run 'nope'"):
        store.get_run("nope")
    with pytest.raises(NotFound, match="no run 'nope'"):
        store.update_run("nope", RunStatus.FAILED)
    with pytest.raises(NotFound, match="no execution 404"):
        store.finish_execution(404, ExecutionState.COMPLETE)
    with pytest.raises(NotFound, match="no execution 404"):
        store.create_artifact("file:///x", "system.Model", "model", output_of=404)
    with pytest.raises(NotFound, match="no artifact 404"):
        store.publish_artifact(404, sha256="f" * 64, size=1)
    with pytest.raises(StoreError, match="refused the write"):
        store.create_execution("run-1", "train", inputs={"data": [404]})
    assert store.get_run("run-1").executions == []
    assert NotFound.exit_code == 2


def test_a_run_id_is_recorded_once(store):
    store.create_run("run-1", "training")
    with pytest.raises(StoreError, match="already recorded"):
        store.create_run("run-1", "training")


def test_a_spec_is_stored_once_for_all_the_runs_that_use_it(store):
    spec = {"pipelineInfo": {"name": "training"}, "root": {"dag": {"tasks": {}}}}
    store.create_run("run-1", "training", spec=spec)
    store.create_run("run-2", "training", spec=spec, spec_digest=spec_digest(spec))
    store.create_run("run-3", "training")
    assert store.get_run("run-1").spec == store.get_run("run-2").spec == spec
    assert store.get_run("run-3").spec is None
    with store._read() as conn:
        assert conn.execute(select(func.count()).select_from(PipelineSpec)).scalar() == 1


def test_run_status_updates_and_resume(store):
    store.create_run("run-1", "training")
    store.update_run("run-1", "FAILED", error="task 'train' failed")
    failed = store.get_run("run-1")
    assert (failed.status, failed.error) == (RunStatus.FAILED, "task 'train' failed")
    assert failed.ended_at is not None
    store.update_run("run-1", RunStatus.RUNNING)
    resumed = store.get_run("run-1")
    assert (resumed.status, resumed.error, resumed.ended_at) == (RunStatus.RUNNING, None, None)
    with pytest.raises(ValueError):
        store.update_run("run-1", "DONE")


def test_list_runs_filters_by_pipeline_status_and_time(store):
    store.create_run("a-1", "alpha", parameters={"n": 1}, spec={"big": "x" * 1000})
    store.create_run("b-1", "beta")
    store.create_run("a-2", "alpha")
    store.update_run("a-1", RunStatus.SUCCEEDED)
    store.update_run("b-1", RunStatus.FAILED, error="boom")

    assert [r.run_id for r in store.list_runs()] == ["a-2", "b-1", "a-1"]
    assert [r.run_id for r in store.list_runs(pipeline="alpha")] == ["a-2", "a-1"]
    assert [r.run_id for r in store.list_runs(status="FAILED")] == ["b-1"]
    assert [r.run_id for r in store.list_runs(pipeline="alpha", status=RunStatus.RUNNING)] == [
        "a-2"
    ]
    assert [r.run_id for r in store.list_runs(limit=1)] == ["a-2"]
    assert store.list_runs(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(store.list_runs(since=datetime.now(UTC) - timedelta(minutes=1))) == 3
    first = store.list_runs(pipeline="alpha")[-1]
    assert (first.parameters, first.status, first.pipeline_name) == ({"n": 1}, "SUCCEEDED", "alpha")
    assert store.list_runs(pipeline="gamma") == []


def test_records_turn_into_json(store):
    import json

    store.create_run("run-1", "training", parameters={"lr": 0.1})
    record_task(store, "run-1")
    data = json.loads(json.dumps(store.get_run("run-1").to_json()))
    assert data["status"] == "RUNNING"
    assert data["executions"][0]["state"] == "COMPLETE"
    assert data["executions"][0]["outputs"]["model"][0]["state"] == "LIVE"
    assert data["created_at"].endswith("+00:00")
