"""Lineage on a small graph, named after its shape.

raw ──ingest──> data ──train──> model ──evaluate──> metrics
                 └────────────────────────┘
                                model ──deploy──> endpoint
"""

import json

import pytest

from conveyor.store.metadata import Direction, EventType, NotFound


@pytest.fixture
def fan_in_chain(store):
    store.create_run("run-1", "p")
    ids = {"raw": store.create_artifact("file:///raw", "system.Dataset", "raw")}

    def task(key, inputs, output, type_name):
        execution = store.create_execution(
            "run-1", key, inputs={name: [ids[a]] for name, a in inputs.items()}
        )
        ids[key] = execution
        ids[output] = store.create_artifact(
            f"file:///{output}", type_name, output, output_of=execution
        )

    task("ingest", {"source": "raw"}, "data", "system.Dataset")
    task("train", {"dataset": "data"}, "model", "system.Model")
    task("evaluate", {"model": "model", "dataset": "data"}, "metrics", "system.Metrics")
    task("deploy", {"model": "model"}, "endpoint", "system.Artifact")
    return ids


def names(lineage, direction):
    """The nodes reached on one side, by task key and artifact name."""
    found = set()
    for edge in lineage.edges:
        if edge.direction == direction:
            found.add(lineage.executions[edge.execution_id].task_key)
            found.add(lineage.artifacts[edge.artifact_id].name)
    return found


def test_upstream_and_downstream_of_an_artifact(store, fan_in_chain):
    lineage = store.lineage(fan_in_chain["model"])
    assert lineage.roots == [fan_in_chain["model"]]
    assert names(lineage, Direction.UPSTREAM) == {"model", "train", "data", "ingest", "raw"}
    assert names(lineage, Direction.DOWNSTREAM) == {
        "model",
        "evaluate",
        "metrics",
        "deploy",
        "endpoint",
    }
    assert not lineage.truncated
    # Downstream stops at what the model led to: `data`, an input of evaluate, is not reached.
    downstream_artifacts = {
        e.artifact_id for e in lineage.edges if e.direction == Direction.DOWNSTREAM
    }
    assert fan_in_chain["data"] not in downstream_artifacts


def test_edges_carry_event_names_and_draw_as_a_tree(store, fan_in_chain):
    lineage = store.lineage(fan_in_chain["metrics"])
    (producer,) = lineage.edges_from(Direction.UPSTREAM, fan_in_chain["metrics"], artifact=True)
    assert (producer.type, producer.name) == (EventType.OUTPUT, "metrics")
    assert lineage.executions[producer.execution_id].task_key == "evaluate"
    read = lineage.edges_from(Direction.UPSTREAM, producer.execution_id, artifact=False)
    assert {(e.name, lineage.artifacts[e.artifact_id].name) for e in read} == {
        ("model", "model"),
        ("dataset", "data"),
    }
    assert lineage.edges_from(Direction.DOWNSTREAM, fan_in_chain["metrics"], artifact=True) == []


def test_depth_bounds_the_walk(store, fan_in_chain):
    lineage = store.lineage(fan_in_chain["metrics"], depth=1)
    assert names(lineage, Direction.UPSTREAM) == {"metrics", "evaluate", "model", "data"}
    assert lineage.truncated
    assert store.lineage(fan_in_chain["metrics"], depth=3).truncated is False
    only_root = store.lineage(fan_in_chain["raw"], depth=0)
    assert (only_root.edges, list(only_root.artifacts)) == ([], [fan_in_chain["raw"]])
    assert only_root.truncated


def test_lineage_by_uri_and_as_json(store, fan_in_chain):
    lineage = store.lineage("file:///data")
    assert lineage.roots == [fan_in_chain["data"]]
    data = json.loads(json.dumps(lineage.to_json()))
    assert data["roots"] == [fan_in_chain["data"]]
    assert {e["direction"] for e in data["edges"]} == {"upstream", "downstream"}
    assert data["artifacts"][str(fan_in_chain["data"])]["uri"] == "file:///data"


def test_an_unknown_artifact_is_named(store, fan_in_chain):
    with pytest.raises(NotFound, match="no artifact 999"):
        store.lineage(999)
    with pytest.raises(NotFound, match="no artifact at 'file:///nowhere'"):
        store.lineage("file:///nowhere")


def test_the_lineage_of_an_execution(store, fan_in_chain):
    lineage = store.execution_lineage(fan_in_chain["evaluate"])
    assert (lineage.execution, lineage.roots) == (fan_in_chain["evaluate"], [])
    # Upstream of its inputs, downstream of its outputs: not deploy, which read its input.
    assert names(lineage, Direction.UPSTREAM) == {
        "evaluate",
        "model",
        "data",
        "train",
        "ingest",
        "raw",
    }
    assert names(lineage, Direction.DOWNSTREAM) == {"evaluate", "metrics"}
    assert "deploy" not in {e.task_key for e in lineage.executions.values()}
    read = lineage.edges_from(Direction.UPSTREAM, fan_in_chain["evaluate"], artifact=False)
    assert {(e.type, e.name) for e in read} == {
        (EventType.INPUT, "model"),
        (EventType.INPUT, "dataset"),
    }
    (wrote,) = lineage.edges_from(Direction.DOWNSTREAM, fan_in_chain["evaluate"], artifact=False)
    assert (wrote.type, wrote.artifact_id) == (EventType.OUTPUT, fan_in_chain["metrics"])
    assert not lineage.truncated
    assert json.loads(json.dumps(lineage.to_json()))["execution"] == fan_in_chain["evaluate"]


def test_an_executions_lineage_counts_depth_beyond_it(store, fan_in_chain):
    alone = store.execution_lineage(fan_in_chain["train"], depth=0)
    assert set(alone.executions) == {fan_in_chain["train"]}
    assert set(alone.artifacts) == {fan_in_chain["data"], fan_in_chain["model"]}
    assert alone.truncated  # ingest wrote its input; evaluate and deploy read its output
    one = store.execution_lineage(fan_in_chain["train"], depth=1)
    tasks = {e.task_key for e in one.executions.values()}
    assert tasks == {"ingest", "train", "evaluate", "deploy"}
    assert one.truncated is False  # raw was made outside any run; nothing read metrics
    assert store.lineage(fan_in_chain["model"]).execution is None


def test_an_unknown_execution_is_named(store, fan_in_chain):
    with pytest.raises(NotFound, match="no execution 999 in the metadata store"):
        store.execution_lineage(999)
    with pytest.raises(ValueError, match="got -1"):
        store.execution_lineage(fan_in_chain["train"], depth=-1)
