"""Why a task hit or missed the cache, said against the nearest earlier execution."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Output

import conveyor
from conveyor.errors import UsageError
from conveyor.pipelines import explain
from conveyor.pipelines.cache import key_of
from conveyor.pipelines.explain import explain_cache
from conveyor.store.metadata import MetadataStore, NotFound


@dsl.component
def make(n: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(n))


@dsl.component
def double(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return 2 * int(f.read())


@dsl.component
def gate(path: str, value: int) -> int:
    import os

    if os.path.exists(path):
        raise RuntimeError("the gate is closed")
    return value


@dsl.pipeline(name="explain-pair")
def pair(n: int) -> int:
    made = make(n=n)
    return double(data=made.outputs["data"]).output


@dsl.pipeline(name="explain-uncached")
def uncached(n: int) -> int:
    made = make(n=n).set_caching_options(enable_caching=False)
    return double(data=made.outputs["data"]).output


@dsl.pipeline(name="explain-nested")
def nested(n: int):
    with dsl.If(n > 0):
        make(n=n)


@dsl.pipeline(name="explain-twins")
def twins(n: int):
    make(n=n)
    make(n=n)


@dsl.pipeline(name="explain-gated")
def gated(path: str) -> int:
    return gate(path=path, value=1).output


def why(run_id, task):
    with MetadataStore.open() as store:
        return explain_cache(store, run_id, task)


def test_first_run():
    run = conveyor.run(pair, {"n": 3})
    explanation = why(run.run_id, "make")
    assert (explanation.hit, explanation.reason) == (False, explain.FIRST_EXECUTION)
    assert explanation.lines() == [
        f"task 'make' of run {run.run_id}: cache miss: no earlier execution of this task "
        "in pipeline 'explain-pair'",
        "  cache entries are shared only between runs of the same pipeline name",
    ]


def test_a_hit_names_the_execution_it_reused():
    first = conveyor.run(pair, {"n": 3})
    second = conveyor.run(pair, {"n": 3})
    explanation = why(second.run_id, "double")
    assert (explanation.hit, explanation.reason, explanation.state) == (True, "hit", "CACHED")
    assert explanation.reused.run_id == first.run_id
    assert explanation.reused.task_key == "double"
    assert explanation.lines()[0] == f"task 'double' of run {second.run_id}: cache hit"
    assert re.fullmatch(
        rf"  it reused the results of execution {explanation.reused.execution_id} of run "
        rf"{first.run_id} \(task 'double', SUCCEEDED, ended \d{{4}}-.* UTC\)",
        explanation.lines()[1],
    )
    assert explanation.to_json()["reused"]["run_id"] == first.run_id


def test_a_changed_parameter_is_named_and_so_is_the_changed_input_downstream():
    first = conveyor.run(pair, {"n": 3})
    second = conveyor.run(pair, {"n": 4})

    made = why(second.run_id, "make")
    assert made.reason == explain.KEY_CHANGED
    assert made.differences == ["parameters.n: 3 -> 4"]
    assert made.compared_with.run_id == first.run_id
    lines = made.lines()
    assert lines[0] == (
        f"task 'make' of run {second.run_id}: cache miss: its key differs from the nearest "
        "earlier execution"
    )
    assert lines[1].startswith(f"  compared with execution {made.compared_with.execution_id} ")
    assert lines[2:] == ["  what differs:", "    parameters.n: 3 -> 4"]

    doubled = why(second.run_id, "double")
    assert doubled.reason == explain.KEY_CHANGED
    assert [d.split(":")[0] for d in doubled.differences] == ["artifacts.data"]
    was, now = _output_uri(first.run_id, "make"), _output_uri(second.run_id, "make")
    assert doubled.notes == [
        f"artifacts.data[0]: uri:{was} -> uri:{now}",
        "input artifact 'data' is another artifact than before (an upstream task ran again); "
        "`conveyor run --cache-by-content` keys inputs by their sha256 instead, so identical "
        "content still hits",
    ]


def test_a_hit_may_reuse_another_task_with_the_same_key():
    conveyor.run(twins, {"n": 3})
    run = conveyor.run(twins, {"n": 3})
    hits = [why(run.run_id, task) for task in ("make", "make-2")]
    assert [h.hit for h in hits] == [True, True]
    # Both reuse the latest entry of that key: one of them another task's.
    assert hits[0].reused == hits[1].reused
    assert hits[0].reused.task_key in {"make", "make-2"}


def test_a_changed_line_of_a_long_text_is_shown():
    # A Python component's source is one long element of its container command.
    def parts(source):
        container = {"image": "python:3.11", "command": ["sh", "-c", source], "args": []}
        return {"container": {**container, "env": {}}, "parameters": {"n": 1}, "artifacts": {}}

    before = "import kfp\n\ndef step(n: int) -> int:\n    return n + 1\n" + "# padding\n" * 9
    after = before.replace("n + 1", "n + 2")
    with MetadataStore.open() as store:
        for run_id, source in (("code-1", before), ("code-2", after)):
            store.create_run(run_id, "code")
            execution = store.create_execution(
                run_id, "step", cache_key=key_of(parts(source)), cache_key_parts=parts(source)
            )
            store.finish_execution(execution, "COMPLETE")
        explanation = explain_cache(store, "code-2", "step")
    assert explanation.reason == explain.KEY_CHANGED
    (difference,) = explanation.differences
    assert difference.startswith('container.command: ["sh", "-c", "import kfp')
    assert difference.endswith("...")  # cut short: the note says where
    assert explanation.notes == ["container.command[2], line 4: 'return n + 1' -> 'return n + 2'"]


def test_caching_off_by_the_task():
    conveyor.run(uncached, {"n": 3})
    run = conveyor.run(uncached, {"n": 3})
    explanation = why(run.run_id, "make")
    assert explanation.reason == explain.CACHING_OFF
    assert explanation.lines() == [
        f"task 'make' of run {run.run_id}: cache miss: caching was off for this task",
        "  the task sets set_caching_options(enable_caching=False)",
        "  caching is turned off by:",
        "  - set_caching_options(enable_caching=False) on the task in the pipeline",
        "  - --no-cache on `conveyor run` (enable_caching=False in Python), for every task "
        "of the run",
        "  - CONVEYOR_DISABLE_CACHE=1 in the environment, for every run that does not turn it on",
    ]


def test_caching_off_by_the_run():
    conveyor.run(pair, {"n": 3})
    run = conveyor.run(pair, {"n": 3}, enable_caching=False)
    explanation = why(run.run_id, "make")
    assert explanation.reason == explain.CACHING_OFF
    assert explanation.notes[0] == "the run turned it off (--no-cache, or CONVEYOR_DISABLE_CACHE=1)"


def test_equal_key_but_the_output_is_gone(home):
    first = conveyor.run(pair, {"n": 3})
    uri = Path(_output_uri(first.run_id, "make"))
    uri.unlink()
    second = conveyor.run(pair, {"n": 3})
    assert second.task("make").status == "SUCCEEDED"
    explanation = why(second.run_id, "make")
    assert explanation.reason == explain.ENTRY_UNUSABLE
    assert explanation.differences == []
    assert explanation.lines()[0] == (
        f"task 'make' of run {second.run_id}: cache miss: the nearest earlier execution has "
        "the same key but could not be reused"
    )
    (note,) = explanation.notes
    assert re.fullmatch(
        rf"its output 'data' \(artifact \d+, {re.escape(str(uri))}\) is DELETED, no longer "
        r"LIVE: a hit needs every output LIVE",
        note,
    )


def test_equal_key_but_older_than_the_max_age():
    first = conveyor.run(pair, {"n": 3})
    second = conveyor.run(pair, {"n": 3}, cache_max_age=timedelta(microseconds=1))
    explanation = why(second.run_id, "make")
    assert explanation.reason == explain.ENTRY_UNUSABLE
    assert explanation.compared_with.run_id == first.run_id
    (note,) = explanation.notes
    assert re.fullmatch(
        r"execution \d+ ended \d+s before this task started: older than the cache max age "
        r"the run was given \(--cache-max-age\)",
        note,
    )


def test_equal_key_but_the_earlier_attempt_failed(tmp_path):
    closed = tmp_path / "closed"
    closed.write_text("")
    failed = conveyor.run(gated, {"path": str(closed)})
    assert failed.status == "FAILED"
    closed.unlink()
    resumed = conveyor.resume(failed.run_id)
    assert resumed.status == "SUCCEEDED"
    explanation = why(failed.run_id, "gate")
    assert explanation.reason == explain.ENTRY_UNUSABLE
    assert explanation.compared_with.run_id == failed.run_id
    assert explanation.compared_with.state == "FAILED"
    assert explanation.notes == [
        f"execution {explanation.compared_with.execution_id} had not completed (FAILED): "
        "only executions that SUCCEEDED are cache entries"
    ]


def test_groups_are_not_cached_and_a_task_may_be_named_by_its_last_part():
    run = conveyor.run(nested, {"n": 1})
    (group,) = [t.name for t in run.tasks if t.name != "condition-1/make"]
    assert why(run.run_id, group).lines() == [
        f"task '{group}' of run {run.run_id}: not cached",
        "  it is a group of tasks (a sub-pipeline, condition, loop or exit handler); only "
        "the container tasks inside it are cached, each on its own",
    ]
    assert why(run.run_id, "make").task == "condition-1/make"


def test_unknown_run_and_task():
    run = conveyor.run(pair, {"n": 3})
    with pytest.raises(NotFound) as missing:
        why("no-such-run", "make")
    assert str(missing.value) == (
        "no run 'no-such-run' in the metadata store; `conveyor runs list` shows runs"
    )
    with pytest.raises(UsageError) as unknown:
        why(run.run_id, "train")
    assert str(unknown.value) == f"run {run.run_id} has no task 'train'; its tasks: make, double"


def _output_uri(run_id, task):
    with MetadataStore.open() as store:
        (execution,) = [e for e in store.get_run(run_id).executions if e.task_key == task]
    return execution.outputs["data"][0].uri
