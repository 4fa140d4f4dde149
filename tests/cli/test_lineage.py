"""`conveyor lineage ARTIFACT`: the tree both ways, JSON, and bad input.

The pipeline, by artifact:

    make ──data──> train ──model──> evaluate ──metrics──>
      └──data────────────────────────┘
"""

import json
from pathlib import Path

import pytest
import typer
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

import conveyor
from conveyor.cli import main as cli_main
from conveyor.store.metadata import MetadataStore


@dsl.component
def make(n: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(n))


@dsl.component
def train(data: Input[Dataset], model: Output[Model]):
    with open(data.path) as f, open(model.path, "w") as out:
        out.write(f"model of {f.read()}")


@dsl.component
def evaluate(data: Input[Dataset], model: Input[Model], metrics: Output[Metrics]):
    metrics.log_metric("accuracy", 0.9)


@dsl.pipeline(name="cli-lineage")
def chain(n: int):
    made = make(n=n)
    trained = train(data=made.outputs["data"])
    evaluate(data=made.outputs["data"], model=trained.outputs["model"])


@pytest.fixture
def graph():
    """One run of the chain: its run id, and executions and artifacts by task and name."""
    run = conveyor.run(chain, {"n": 3})
    assert run.status == "SUCCEEDED"
    with MetadataStore.open() as store:
        detail = store.get_run(run.run_id)
    executions = {e.task_key: e for e in detail.executions}
    artifacts = {name: records[0] for e in detail.executions for name, records in e.outputs.items()}
    return run.run_id, executions, artifacts


def test_the_tree_upstream_and_downstream(cli, graph):
    run_id, executions, artifacts = graph
    data, model, metrics = artifacts["data"], artifacts["model"], artifacts["metrics"]
    ex = {key: e.id for key, e in executions.items()}

    shown = cli("lineage", str(model.id))
    assert shown.code == 0, shown.err
    assert shown.out.splitlines() == [
        f"artifact {model.id} system.Model  {model.uri}",
        "├── upstream",
        f"│   └── written by train  SUCCEEDED  execution {ex['train']}, run {run_id}, "
        "as output 'model'",
        f"│       └── read 'data': artifact {data.id} system.Dataset  {data.uri}",
        f"│           └── written by make  SUCCEEDED  execution {ex['make']}, run {run_id}, "
        "as output 'data'",
        "└── downstream",
        f"    └── read by evaluate  SUCCEEDED  execution {ex['evaluate']}, run {run_id}, "
        "as input 'model'",
        f"        └── wrote 'metrics': artifact {metrics.id} system.Metrics  {metrics.uri}",
    ]


def test_a_node_met_twice_is_drawn_once(cli, graph):
    run_id, executions, artifacts = graph
    out = cli("lineage", str(artifacts["data"].id)).out.splitlines()
    assert out[1:3] == [
        "├── upstream",
        f"│   └── written by make  SUCCEEDED  execution "
        f"{executions['make'].id}, run {run_id}, as output 'data'",
    ]
    assert out[3] == "└── downstream"
    downstream = "\n".join(out[4:])
    assert downstream.count("read by evaluate") == 2
    assert downstream.count("(shown above)") == 1
    assert downstream.count("wrote 'metrics'") == 1


def test_by_uri_and_by_a_relative_path(cli, graph, monkeypatch):
    _, _, artifacts = graph
    model = artifacts["model"]
    by_id = cli("lineage", str(model.id)).out
    assert cli("lineage", model.uri).out == by_id
    monkeypatch.chdir(model.uri.rsplit("/", 2)[0])
    assert cli("lineage", "train/model").out == by_id


def test_depth_and_truncation(cli, graph):
    _, _, artifacts = graph
    out = cli("lineage", str(artifacts["data"].id), "--depth", "1").out.splitlines()
    assert out[-1] == "the graph goes on beyond depth 1; a larger --depth shows more"
    assert not any("(shown above)" in line for line in out)


def test_json(cli, graph):
    run_id, executions, artifacts = graph
    model = artifacts["model"]
    shown = cli("lineage", str(model.id), "--json")
    assert shown.code == 0
    graph_json = json.loads(shown.out)
    assert graph_json["roots"] == [model.id]
    assert graph_json["truncated"] is False
    assert graph_json["artifacts"][str(model.id)]["uri"] == model.uri
    assert {e["task_key"] for e in graph_json["executions"].values()} == {
        "make",
        "train",
        "evaluate",
    }
    edges = {
        (
            e["direction"],
            e["type"],
            e["name"],
            graph_json["executions"][str(e["execution_id"])]["task_key"],
        )
        for e in graph_json["edges"]
    }
    assert edges == {
        ("upstream", "OUTPUT", "model", "train"),
        ("upstream", "INPUT", "data", "train"),
        ("upstream", "OUTPUT", "data", "make"),
        ("downstream", "INPUT", "model", "evaluate"),
        ("downstream", "OUTPUT", "metrics", "evaluate"),
    }
    assert all(e["run_id"] == run_id for e in graph_json["executions"].values())


def test_a_cached_run_shows_as_another_writer(cli, graph):
    _, _, artifacts = graph
    again = conveyor.run(chain, {"n": 3})
    out = cli("lineage", str(artifacts["model"].id)).out
    assert "written by train  CACHED  execution " in out
    assert f", run {again.run_id}, as output 'model'" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999"], "no artifact 999 in the metadata store"),
        (["/nowhere/model"], "no artifact at '/nowhere/model' in the metadata store"),
        (["s3://bucket/model"], "no artifact at 's3://bucket/model' in the metadata store"),
        (["1", "--depth", "-1"], "lineage depth must be 0 or more, got -1"),
    ],
)
def test_bad_input_exits_2(cli, args, message):
    conveyor.run(chain, {"n": 3})
    outcome = cli("lineage", *args)
    assert (outcome.code, outcome.out, outcome.err) == (2, "", f"error: {message}\n")


def test_documented():
    doc = (Path(__file__).parents[2] / "docs" / "runs.md").read_text()
    command = typer.main.get_command(cli_main.app).get_command(None, "lineage")
    assert "## conveyor lineage\n" in doc
    for param in command.params:
        for option in param.opts:
            if option.startswith("--") and option != "--help":
                assert f"`{option}" in doc, option


def test_help_has_an_example(cli):
    shown = cli("lineage", "--help")
    assert shown.code == 0
    assert "Example: conveyor lineage " in " ".join(shown.out.split())
