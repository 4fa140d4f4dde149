"""`conveyor lineage` stays readable: the pipeline author's names rather than KFP's
internal ones, cache hits of later runs on one line, whole paths at any width, and `--json`
naming components by digest."""

import json

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

import conveyor
from conveyor.store.metadata import spec_digest


@dsl.component
def make(n: int) -> Dataset:
    data = Dataset(uri=dsl.get_uri())
    with open(data.path, "w") as f:
        f.write(str(n))
    return data


@dsl.component
def train(data: Input[Dataset], model: Output[Model]):
    with open(data.path) as f, open(model.path, "w") as out:
        out.write(f"model of {f.read()}")


@dsl.pipeline(name="cli-readable-lineage")
def looped(n: int):
    made = make(n=n)
    train(data=made.output)
    with dsl.ParallelFor([1, 2]):
        train(data=made.output)


@pytest.fixture
def runs():
    """The pipeline run five times: the first runs each task, the others hit the cache."""
    done = [conveyor.run(looped, {"n": 3}) for _ in range(5)]
    assert {r.status for r in done} == {"SUCCEEDED"}
    return [r.run_id for r in done]


@pytest.fixture
def made(cli, runs):
    """The artifact the first run's `make` returned, as `--json` lists it."""
    graph = json.loads(cli("runs", "show", runs[0], "--json").out)
    (execution,) = [e for e in graph["executions"] if e["task_key"] == "make"]
    return execution["outputs"]["Output"][0]


def test_names_are_the_pipeline_author_s(cli, runs, made):
    shown = cli("lineage", str(made["id"]))
    assert shown.code == 0, shown.err
    first = runs[0]
    lines = shown.out.splitlines()
    writer = next(line for line in lines if "written by make  SUCCEEDED" in line)
    assert writer.endswith(f", run {first}, as its return value")
    group = next(line for line in lines if "read by for-loop-2  SUCCEEDED" in line)
    assert group.endswith(", as the return value of make")
    assert "pipelinechannel--" not in shown.out
    assert "'Output'" not in shown.out

    # --json keeps the names KFP records.
    graph = json.loads(cli("lineage", str(made["id"]), "--json").out)
    assert {e["name"] for e in graph["edges"] if e["artifact_id"] == made["id"]} == {
        "Output",
        "pipelinechannel--make-Output",
        "data",
    }


def test_cache_hits_of_later_runs_share_a_line(cli, runs, made):
    lines = [line.lstrip("│├└─ ") for line in cli("lineage", str(made["id"])).out.splitlines()]
    later = f"in 4 runs: {runs[1]} … {runs[4]}"
    assert f"written by make  CACHED  {later}, as its return value" in lines
    assert f"read by train  CACHED  {later}, as input 'data'" in lines
    assert f"read by for-loop-2[1]/train-2  CACHED  {later}, as input 'data'" in lines
    assert (
        f"read by for-loop-2  SUCCEEDED  in 5 runs: {runs[0]} … {runs[4]}, "
        "as the return value of make"
    ) in lines
    # One line per task of the first run, one per task hit in later runs, and the group.
    assert len([line for line in lines if line.startswith("read by ")]) == 7

    graph = json.loads(cli("lineage", str(made["id"]), "--json").out)
    readers = [e for e in graph["edges"] if e["type"] == "INPUT" and e["name"] == "data"]
    assert len(readers) == 3 * 5  # --json keeps every execution


def test_paths_stay_whole_in_a_narrow_terminal(cli, runs, made, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    lines = cli("lineage", str(made["id"])).out.splitlines()
    assert lines[0] == f"artifact {made['id']} system.Dataset  {made['uri']}"
    first = json.loads(cli("runs", "show", runs[0], "--json").out)
    models = {
        e["outputs"]["model"][0]["uri"] for e in first["executions"] if "model" in e["outputs"]
    }
    assert len(models) == 3
    wrote = [line.split("system.Model  ")[1] for line in lines if "wrote 'model'" in line]
    assert {uri.removesuffix(" (shown above)") for uri in wrote} == models


def test_json_names_components_by_digest(cli, runs, made):
    graph = json.loads(cli("lineage", str(made["id"]), "--json").out)
    tasks = [e for e in graph["executions"].values() if e["type"] != "system.DAGExecution"]
    assert all("container" not in (e["cache_key_parts"] or {}) for e in tasks)
    assert {len(e["component_digest"] or "") for e in tasks} == {64}

    whole = json.loads(cli("lineage", str(made["id"]), "--json", "--with-spec").out)
    for execution in whole["executions"].values():
        if execution["type"] != "system.DAGExecution" and execution["cache_key_parts"]:
            container = execution["cache_key_parts"]["container"]
            assert spec_digest(container) == execution["component_digest"]
