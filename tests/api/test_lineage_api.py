"""`/api/v1/artifacts/{id}/lineage` and `/api/v1/executions/{id}/lineage`: the graph as
nodes and edges in the direction data flows, depth and truncation, 404 and 400."""

import pytest
from api_support import error_of
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from conveyor.client import Client


@dsl.component
def ingest(rows: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(rows))


@dsl.component
def train(data: Input[Dataset], model: Output[Model]):
    with open(data.path) as f, open(model.path, "w") as out:
        out.write(f.read())


@dsl.component
def evaluate(model: Input[Model], data: Input[Dataset], metrics: Output[Metrics]):
    metrics.log_metric("accuracy", 0.9)


@dsl.pipeline(name="lineage-chain")
def chain(rows: int = 3):
    data = ingest(rows=rows).outputs["data"]
    model = train(data=data).outputs["model"]
    evaluate(model=model, data=data)


@pytest.fixture
def run(own_home):
    """The chain's run: its executions and artifacts by task and by output name."""
    client = Client(own_home)
    run = client.run(chain, {"rows": 3})
    detail = client.get_run(run.run_id)
    tasks = {e.task_key: e for e in detail.executions}
    artifacts = {n: a[0] for e in detail.executions for n, a in e.outputs.items()}
    return run.run_id, tasks, artifacts


def by_key(answer):
    return {node["key"]: node for node in answer["nodes"]}


def flows(answer):
    """Each edge as (from name, to name, type)."""
    nodes = by_key(answer)
    return {
        (nodes[e["source"]]["name"], nodes[e["target"]]["name"], e["type"]) for e in answer["edges"]
    }


def test_the_lineage_of_an_artifact(api, run):
    run_id, tasks, artifacts = run
    model = artifacts["model"]
    answer = api.get(f"/api/v1/artifacts/{model.id}/lineage").json()
    assert (answer["start"], answer["depth"], answer["truncated"]) == (
        f"artifact-{model.id}",
        50,
        False,
    )
    assert flows(answer) == {
        ("ingest", "data", "OUTPUT"),
        ("data", "train", "INPUT"),
        ("train", "model", "OUTPUT"),
        ("model", "evaluate", "INPUT"),
        ("evaluate", "metrics", "OUTPUT"),
    }
    nodes = by_key(answer)
    shown = nodes[f"artifact-{model.id}"]
    assert shown["kind"] == "artifact" and shown["type"] == "system.Model"
    assert (shown["uri"], shown["state"], shown["run_id"]) == (model.uri, "LIVE", run_id)
    trained = nodes[f"execution-{tasks['train'].id}"]
    assert trained["kind"] == "execution" and trained["type"] == "system.ContainerExecution"
    assert (trained["task_key"], trained["state"], trained["run_id"]) == (
        "train",
        "COMPLETE",
        run_id,
    )
    assert nodes[f"artifact-{artifacts['metrics'].id}"]["metadata"] == {"accuracy": 0.9}


def test_depth_bounds_the_walk_and_says_so(api, run):
    _, tasks, artifacts = run
    answer = api.get(f"/api/v1/artifacts/{artifacts['metrics'].id}/lineage?depth=1").json()
    assert answer["truncated"] is True  # ingest wrote the data evaluate read
    names = {node["name"] for node in answer["nodes"]}
    assert names == {"metrics", "evaluate", "model", "data"}
    # `data` was written by ingest, past the depth: its run is not known here.
    data = by_key(answer)[f"artifact-{artifacts['data'].id}"]
    assert data["run_id"] is None
    alone = api.get(f"/api/v1/artifacts/{artifacts['metrics'].id}/lineage?depth=0").json()
    assert ([n["name"] for n in alone["nodes"]], alone["edges"], alone["truncated"]) == (
        ["metrics"],
        [],
        True,
    )


def test_the_lineage_of_an_execution(api, run):
    run_id, tasks, artifacts = run
    train = tasks["train"]
    answer = api.get(f"/api/v1/executions/{train.id}/lineage").json()
    assert (answer["start"], answer["truncated"]) == (f"execution-{train.id}", False)
    assert flows(answer) == {
        ("ingest", "data", "OUTPUT"),
        ("data", "train", "INPUT"),
        ("train", "model", "OUTPUT"),
        ("model", "evaluate", "INPUT"),
        ("evaluate", "metrics", "OUTPUT"),
    }
    alone = api.get(f"/api/v1/executions/{train.id}/lineage", params={"depth": 0}).json()
    assert flows(alone) == {("data", "train", "INPUT"), ("train", "model", "OUTPUT")}
    assert alone["truncated"] is True


@pytest.mark.parametrize("kind", ["artifacts", "executions"])
def test_an_unknown_id_answers_404(api, run, kind):
    error = error_of(api.get(f"/api/v1/{kind}/424242/lineage"), 404)
    assert f"no {kind[:-1]} 424242 in the metadata store" in error["message"]


@pytest.mark.parametrize(
    "path, words",
    [
        ("/api/v1/artifacts/model/lineage", "artifact_id"),
        ("/api/v1/executions/0/lineage", "execution_id"),
        ("/api/v1/artifacts/1/lineage?depth=-1", "depth"),
        ("/api/v1/executions/1/lineage?depth=51", "depth"),
        ("/api/v1/artifacts/1/lineage?depth=deep", "depth"),
    ],
)
def test_bad_input_answers_400_naming_it(api, run, path, words):
    assert words in error_of(api.get(path), 400)["message"]
