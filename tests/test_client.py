"""The public Python client, in embedded mode: runs, their records, lineage, cache explanations."""

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Output

from conveyor.client import Client, parse_since
from conveyor.errors import UsageError
from conveyor.pipelines.explain import CacheExplanation
from conveyor.store.metadata import Direction, Lineage, NotFound, RunDetail


@dsl.component
def make(n: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(n))


@dsl.component
def double(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        n = int(f.read())
    if n < 0:
        raise ValueError("n must not be negative")
    return 2 * n


@dsl.pipeline(name="client-pair")
def pair(n: int) -> int:
    made = make(n=n)
    return double(data=made.outputs["data"]).output


@dsl.pipeline(name="client-other")
def other(n: int) -> int:
    return double(data=make(n=n).outputs["data"]).output


def test_run_list_and_get(home):
    client = Client()
    assert client.home.settings.folder == home
    ok = client.run(pair, {"n": 3})
    bad = client.run(pair, {"n": -1})
    elsewhere = client.run(other, {"n": 3})
    assert (ok.status, ok.outputs, bad.status) == ("SUCCEEDED", {"Output": 6}, "FAILED")

    assert [r.run_id for r in client.list_runs()] == [elsewhere.run_id, bad.run_id, ok.run_id]
    assert [r.run_id for r in client.list_runs(pipeline="client-pair")] == [bad.run_id, ok.run_id]
    assert [r.run_id for r in client.list_runs(status="failed")] == [bad.run_id]
    assert [r.run_id for r in client.list_runs(since="1h", limit=1)] == [elsewhere.run_id]
    assert client.list_runs(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(client.list_runs(since=timedelta(days=1))) == 3

    detail = client.get_run(bad.run_id)
    assert isinstance(detail, RunDetail)
    assert detail.error.startswith("task 'double' failed: ValueError: n must not be negative")
    assert [(e.task_key, e.state) for e in detail.executions] == [
        ("make", "COMPLETE"),
        ("double", "FAILED"),
    ]
    assert json.loads(json.dumps(detail.to_json()))["run_id"] == bad.run_id


def test_resume(tmp_path):
    client = Client()
    failed = client.run(pair, {"n": -1})
    with pytest.raises(UsageError, match="already succeeded"):
        client.resume(client.run(pair, {"n": 3}).run_id)
    again = client.resume(failed.run_id, parallelism=1)
    assert (again.run_id, again.status) == (failed.run_id, "FAILED")
    assert {t.name: t.status for t in again.tasks} == {"make": "CACHED", "double": "FAILED"}


def test_lineage_by_id_text_id_and_uri():
    client = Client()
    run = client.run(pair, {"n": 3})
    (made,) = [e for e in client.get_run(run.run_id).executions if e.task_key == "make"]
    data = made.outputs["data"][0]
    by_id = client.lineage(data.id)
    assert isinstance(by_id, Lineage)
    assert by_id.roots == [data.id]
    assert client.lineage(str(data.id)) == by_id
    assert client.lineage(data.uri) == by_id
    assert client.lineage(f"file://{data.uri}") == by_id
    (read,) = by_id.edges_from(Direction.DOWNSTREAM, data.id, artifact=True)
    assert by_id.executions[read.execution_id].task_key == "double"
    assert client.lineage(data.id, depth=0).edges == []
    with pytest.raises(NotFound, match="no artifact 4242 in the metadata store"):
        client.lineage(4242)
    with pytest.raises(UsageError, match="lineage depth must be 0 or more, got -2"):
        client.lineage(data.id, depth=-2)


def test_execution_lineage_by_id_and_text_id():
    client = Client()
    run = client.run(pair, {"n": 3})
    (doubled,) = [e for e in client.get_run(run.run_id).executions if e.task_key == "double"]
    graph = client.execution_lineage(doubled.id)
    assert isinstance(graph, Lineage)
    assert (graph.execution, graph.roots) == (doubled.id, [])
    assert {e.task_key for e in graph.executions.values()} == {"make", "double"}
    assert client.execution_lineage(str(doubled.id)) == graph
    alone = client.execution_lineage(doubled.id, depth=0)
    assert (set(alone.executions), alone.truncated) == ({doubled.id}, True)
    with pytest.raises(NotFound, match="no execution 4242 in the metadata store"):
        client.execution_lineage(4242)
    with pytest.raises(UsageError, match="by its id \\(a number\\), got 'train'"):
        client.execution_lineage("train")
    with pytest.raises(UsageError, match="lineage depth must be 0 or more, got -1"):
        client.execution_lineage(doubled.id, depth=-1)


def test_explain_cache():
    client = Client()
    first = client.run(pair, {"n": 3})
    second = client.run(pair, {"n": 3})
    explanation = client.explain_cache(second.run_id, "make")
    assert isinstance(explanation, CacheExplanation)
    assert (explanation.hit, explanation.reused.run_id) == (True, first.run_id)
    assert explanation.to_json()["reason"] == "hit"


def test_an_explicit_home_is_used_for_the_call_only(tmp_path, home):
    elsewhere = tmp_path / "elsewhere"
    client = Client(str(elsewhere))
    run = client.run(pair, {"n": 3})
    assert (elsewhere / "metadata.db").exists()
    assert not (home / "metadata.db").exists()
    assert os.environ["CONVEYOR_HOME"] == str(home)
    assert [r.run_id for r in client.list_runs()] == [run.run_id]
    assert Client().list_runs() == []


def test_bad_filters():
    client = Client()
    with pytest.raises(UsageError) as status:
        client.list_runs(status="DONE")
    assert str(status.value) == (
        "unknown run status 'DONE'; use one of RUNNING, SUCCEEDED, FAILED, CANCELLED"
    )
    with pytest.raises(UsageError) as since:
        client.list_runs(since="last week")
    assert str(since.value) == (
        "since 'last week' is neither a duration (30m, 12h, 7d) nor an ISO date (2026-11-01)"
    )
    with pytest.raises(UsageError, match="limit must be at least 1, got 0"):
        client.list_runs(limit=0)
    with pytest.raises(NotFound, match="no run 'nope' in the metadata store"):
        client.get_run("nope")


def test_parse_since():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since(timedelta(hours=2), now) == now - timedelta(hours=2)
    assert parse_since("2026-11-01T08:00+02:00", now) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    local = datetime(2026, 11, 1).astimezone()  # a date without a zone is local midnight
    assert parse_since("2026-11-01", now) == local.astimezone(UTC)
    plus_one = timezone(timedelta(hours=1))
    assert parse_since(datetime(2026, 11, 1, tzinfo=plus_one), now).tzinfo == UTC
