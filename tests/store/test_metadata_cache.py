"""Cache lookups, cached executions and the executions a miss is explained against."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.store.metadata import ArtifactState, ExecutionState, NotFound, StoreError


def completed(store, run_id, key="k", task_key="train", outputs=("model",), publish=True):
    """A COMPLETE execution with cache key `key` and one artifact per output name."""
    execution = store.create_execution(
        run_id,
        task_key,
        parameters={"x": 1},
        cache_key=key,
        cache_key_parts={"x": 1, "run": run_id},
    )
    artifacts = {}
    for name in outputs:
        artifacts[name] = store.create_artifact(
            f"file:///{run_id}/{task_key}/{name}", "system.Artifact", name, output_of=execution
        )
        if publish:
            store.publish_artifact(artifacts[name], sha256="0" * 64, size=1)
    store.finish_execution(execution, ExecutionState.COMPLETE, outputs={"n": run_id})
    return execution, artifacts


def test_a_hit_returns_the_latest_complete_execution_with_its_outputs(store):
    store.create_run("r1", "p")
    store.create_run("r2", "p")
    completed(store, "r1")
    newest, artifacts = completed(store, "r2")
    hit = store.find_cached("p", "k")
    assert hit.id == newest
    assert hit.output_parameters == {"n": "r2"}
    assert [a.id for a in hit.outputs["model"]] == [artifacts["model"]]
    assert store.find_cached("p", "other key") is None


def test_entries_are_shared_only_within_a_pipeline(store):
    store.create_run("r1", "p")
    completed(store, "r1")
    store.create_run("r2", "q")
    assert store.find_cached("q", "k") is None
    assert store.find_cached("p", "k") is not None


def test_outputs_that_are_not_live_are_no_hit(store):
    store.create_run("r1", "p")
    completed(store, "r1", outputs=("model", "metrics"), publish=False)
    assert store.find_cached("p", "k") is None  # both PENDING

    store.create_run("r2", "p")
    _, artifacts = completed(store, "r2", outputs=("model", "metrics"))
    assert store.find_cached("p", "k") is not None
    for state in (ArtifactState.MARKED_FOR_DELETION, ArtifactState.DELETED):
        store.set_artifact_state(artifacts["metrics"], state)
        assert store.find_cached("p", "k") is None

    store.create_run("r3", "p")
    newest, _ = completed(store, "r3")
    assert store.find_cached("p", "k").id == newest


def test_only_complete_executions_are_hits(store):
    store.create_run("r1", "p")
    running = store.create_execution("r1", "train", cache_key="k")
    assert store.find_cached("p", "k") is None
    store.finish_execution(running, ExecutionState.FAILED, error="boom")
    assert store.find_cached("p", "k") is None


def test_max_age_ignores_older_hits(store):
    store.create_run("r1", "p")
    completed(store, "r1")
    time.sleep(0.05)
    assert store.find_cached("p", "k", max_age=timedelta(milliseconds=10)) is None
    assert store.find_cached("p", "k", max_age=timedelta(hours=1)) is not None


def test_a_cached_execution_reuses_the_hit_outputs(store):
    store.create_run("r1", "p")
    source, artifacts = completed(store, "r1", outputs=("model", "metrics"))
    store.create_run("r2", "p")
    hit = store.find_cached("p", "k")
    cached = store.create_execution("r2", "train", cached_from=hit.id)
    (task,) = store.get_run("r2").executions
    assert task.id == cached
    assert task.state == ExecutionState.CACHED
    assert task.cached_from_id == source
    assert task.output_parameters == {"n": "r1"}
    assert task.started_at == task.ended_at
    assert {n: [a.id for a in arts] for n, arts in task.outputs.items()} == {
        "model": [artifacts["model"]],
        "metrics": [artifacts["metrics"]],
    }
    assert (task.input_parameters, task.cache_key) == ({"x": 1}, "k")
    assert task.cache_key_parts == {"x": 1, "run": "r1"}
    # A CACHED execution is no source itself: the hit is still the original.
    assert store.find_cached("p", "k").id == source


@pytest.mark.parametrize(
    "given",
    [
        {"parameters": {"x": 2}},
        {"cache_key": "other"},
        {"cache_key_parts": {}},
        {"type": "system.ImporterExecution"},
        {"state": ExecutionState.RUNNING},
        {"log_uri": "file:///log"},
        {"started_at": datetime.now(UTC)},
    ],
)
def test_a_cached_execution_refuses_what_it_would_take_from_the_one_it_reuses(store, given):
    store.create_run("r1", "p")
    source, _ = completed(store, "r1")
    store.create_run("r2", "p")
    (name,) = given
    with pytest.raises(ValueError, match=f"not {name}$"):
        store.create_execution("r2", "train", cached_from=source, **given)
    with pytest.raises(ValueError, match=f"not {name}:"):
        store.record_cached("r2", [{"task_key": "train", "cached_from": source, **given}])
    assert store.get_run("r2").executions == []


def test_the_nearest_earlier_execution_explains_a_miss(store):
    store.create_run("r1", "p")
    first, _ = completed(store, "r1", key="k1")
    store.create_run("other", "q")
    completed(store, "other", key="k9")
    store.create_run("r2", "p")
    second, _ = completed(store, "r2", key="k2")
    completed(store, "r2", key="k3", task_key="evaluate")

    latest = store.previous_execution("p", "train")
    assert latest.id == second
    assert latest.cache_key_parts == {"x": 1, "run": "r2"}
    assert store.previous_execution("p", "train", before=second).id == first
    assert store.previous_execution("p", "train", before=first) is None
    assert store.previous_execution("q", "evaluate") is None


def test_cache_hits_recorded_in_a_batch_match_those_recorded_one_by_one(store):
    store.create_run("r1", "p")
    train, trained = completed(store, "r1", outputs=("model", "metrics"))
    evaluate, evaluated = completed(store, "r1", key="k2", task_key="evaluate")
    store.create_run("one", "p")
    store.create_run("batch", "p")
    items = [
        {
            "task_key": "train",
            "cached_from": train,
        },
        {
            "task_key": "loop/evaluate",
            "name": "evaluate-1",
            "inputs": {"model": [trained["model"]]},
            "cached_from": evaluate,
        },
    ]
    one = [store.create_execution("one", **item) for item in items]
    batch = store.record_cached("batch", items)
    assert store.record_cached("batch", []) == []
    assert len(batch) == 2 and batch[0] < batch[1] and one[1] < batch[0]

    def view(run_id):
        return [
            {
                "task_key": e.task_key,
                "name": e.name,
                "type": e.type,
                "state": e.state,
                "input_parameters": e.input_parameters,
                "output_parameters": e.output_parameters,
                "cache_key": e.cache_key,
                "cache_key_parts": e.cache_key_parts,
                "cached_from_id": e.cached_from_id,
                "started": e.started_at == e.ended_at is not None,
                "inputs": {n: [a.id for a in arts] for n, arts in e.inputs.items()},
                "outputs": {n: [a.id for a in arts] for n, arts in e.outputs.items()},
            }
            for e in store.get_run(run_id).executions
        ]

    assert view("batch") == view("one")
    assert [e.id for e in store.get_run("batch").executions] == batch
    assert view("batch")[1]["outputs"] == {"model": [evaluated["model"]]}
    assert view("batch")[0]["state"] == ExecutionState.CACHED
    # What a hit shares with the execution it reuses comes from that execution.
    assert view("batch")[1]["cache_key"] == "k2"
    assert view("batch")[1]["input_parameters"] == {"x": 1}
    assert view("batch")[1]["cache_key_parts"] == {"x": 1, "run": "r1"}
    # Output artifacts join the run that reused them, as for any output.
    lineage = store.lineage(trained["metrics"])
    assert lineage is not None
    assert store.find_cached("p", "k").id == train


def test_a_batch_reuses_only_complete_executions(store):
    store.create_run("r1", "p")
    running = store.create_execution("r1", "train", cache_key="k")
    store.create_run("r2", "p")
    item = {"task_key": "train", "cached_from": running}
    with pytest.raises(StoreError, match="only COMPLETE"):
        store.record_cached("r2", [item])
    with pytest.raises(NotFound):
        store.record_cached("r2", [{**item, "cached_from": running + 1000}])
    assert store.get_run("r2").executions == []


def test_the_hits_of_the_last_runs_keys_come_in_one_query(store):
    store.create_run("r1", "p")
    completed(store, "r1", key="k1")
    third, _ = completed(store, "r1", key="k3", task_key="evaluate")
    completed(store, "r1", key="k4", task_key="report")  # not a key of the last run
    store.create_run("r2", "p")
    newer, _ = completed(store, "r2", key="k1")
    store.create_execution("r2", "evaluate", cached_from=third)  # CACHED rows carry keys too
    completed(store, "r2", key="k5", task_key="report", publish=False)  # PENDING output
    store.create_run("other", "q")
    completed(store, "other", key="k9")
    store.create_run("r3", "p")  # the run asking

    hits = store.find_cached_like_last_run("p", "r3")
    assert {key: hit.id for key, hit in hits.items()} == {"k1": newer, "k3": third}
    assert hits["k1"] == store.find_cached("p", "k1")
    assert store.find_cached_like_last_run("p", "r3", max_age=timedelta(microseconds=1)) == {}
    assert store.find_cached_like_last_run("q", "r4").keys() == {"k9"}
    assert store.find_cached_like_last_run("new", "r5") == {}


def test_a_batch_copies_the_events_of_its_own_hits_only(store, monkeypatch):
    """A batch's ids need not be consecutive (PostgreSQL's sequence hands ids to other
    writers in between): an execution of the run whose id falls between them keeps its
    events, and each hit gets exactly the outputs of the execution it reuses."""
    from conveyor.store.metadata import recording

    store.create_run("r1", "p")
    train, trained = completed(store, "r1", outputs=("model", "metrics"))
    evaluate, evaluated = completed(store, "r1", key="k2", task_key="evaluate")
    store.create_run("r2", "p")
    free = store.create_execution("r2", "marker") + 10  # ids from here on are unused
    given = iter([[free + 1], [free, free + 2]])
    monkeypatch.setattr(recording, "_new_execution_ids", lambda conn, count: next(given))
    (between,) = store.record_cached("r2", [{"task_key": "between", "cached_from": train}])
    batch = store.record_cached(
        "r2",
        [
            {"task_key": "evaluate", "cached_from": evaluate, "inputs": {"m": [trained["model"]]}},
            {"task_key": "train", "cached_from": train},
        ],
    )
    assert (between, batch) == (free + 1, [free, free + 2])

    def outputs(execution):
        return {n: [a.id for a in arts] for n, arts in execution.outputs.items()}

    by_id = {e.id: e for e in store.get_run("r2").executions}
    trained_ids = {name: [artifact] for name, artifact in trained.items()}
    assert outputs(by_id[between]) == trained_ids
    assert outputs(by_id[free]) == {"model": [evaluated["model"]]}
    assert outputs(by_id[free + 2]) == trained_ids
    assert {n: [a.id for a in arts] for n, arts in by_id[free].inputs.items()} == {
        "m": [trained["model"]]
    }
    assert by_id[between].inputs == by_id[free + 2].inputs == {}
