"""`conveyor runs list | show` stay readable: whole run ids and paths at any width, metric
values in the tree, and `--json` naming the spec and components by digest."""

import json

import pytest
from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Output

import conveyor
from conveyor.pipelines import spec as specs
from conveyor.store.metadata import spec_digest

LONG_NAME = "cli-readable-output-with-a-rather-long-pipeline-name"


@dsl.component
def make(n: int, data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write(str(n))


@dsl.component
def evaluate(data: Input[Dataset], metrics: Output[Metrics], scores: Output[ClassificationMetrics]):
    metrics.log_metric("accuracy", 0.912345678)
    metrics.log_metric("rows", 1200)
    metrics.log_metric("loss", 12345.678)
    scores.log_confusion_matrix(["cat", "dog", "fox"], [[5, 1, 0], [2, 6, 0], [0, 0, 4]])
    scores.log_roc_curve([0.0, 0.2, 0.5, 1.0], [0.0, 0.6, 0.9, 1.0], [1.0, 0.7, 0.4, 0.0])


@dsl.pipeline(name=LONG_NAME)
def scored(n: int):
    made = make(n=n)
    evaluate(data=made.outputs["data"])


@pytest.fixture
def two_runs():
    runs = [conveyor.run(scored, {"n": n}) for n in (1, 2)]
    assert [r.status for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    return runs


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()[1:]]


def test_list_keeps_run_ids_whole_in_a_narrow_terminal(cli, two_runs, monkeypatch):
    newest, oldest = two_runs[1].run_id, two_runs[0].run_id
    assert len(newest) > 60
    monkeypatch.setenv("COLUMNS", "60")
    listed = cli("runs", "list")
    assert listed.code == 0, listed.err
    assert listed.out.splitlines()[0].split() == ["run", "status"]
    assert rows(listed.out) == [[newest, "SUCCEEDED"], [oldest, "SUCCEEDED"]]


def test_list_shortens_the_pipeline_before_dropping_columns(cli, two_runs, monkeypatch):
    run_id = two_runs[1].run_id
    # The id, status, start and duration take their width and a gap of 2; 15 are left.
    monkeypatch.setenv("COLUMNS", str(len(run_id) + 2 + 9 + 2 + 19 + 2 + 8 + 2 + 15))
    row = rows(cli("runs", "list").out)[0]
    assert row[0] == run_id
    assert row[1] == LONG_NAME[:14] + "…"
    assert row[2] == "SUCCEEDED"
    assert len(row) == 6  # the start time is two words

    monkeypatch.setenv("COLUMNS", "250")
    assert rows(cli("runs", "list").out)[0][:3] == [run_id, LONG_NAME, "SUCCEEDED"]


def test_show_prints_metric_values_and_whole_paths(cli, two_runs, monkeypatch):
    run = two_runs[0]
    record = json.loads(cli("runs", "show", run.run_id, "--json").out)
    outputs = {name: a[0] for e in record["executions"] for name, a in e["outputs"].items()}
    assert outputs["metrics"]["metadata"] == {
        "accuracy": 0.912345678,  # --json keeps every digit
        "rows": 1200,
        "loss": 12345.678,
    }

    monkeypatch.setenv("COLUMNS", "60")
    shown = cli("runs", "show", run.run_id)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0] == f"run {run.run_id}: SUCCEEDED"

    def artifact_line(name: str) -> int:
        artifact = outputs[name]
        return lines.index(
            f"{'│' if name == 'data' else ' '}   ├── artifact {name}: {artifact['uri']}  "
            f"({artifact['type']}, id {artifact['id']})"
        )

    artifact_line("data")
    assert lines[artifact_line("metrics") + 1] == (
        "    │   └── accuracy=0.9123, rows=1200, loss=12350"
    )
    assert lines[artifact_line("scores") + 1] == (
        "    │   └── confusion matrix 3x3 (cat, dog, fox), ROC curve of 4 points"
    )


def test_show_json_names_the_spec_and_components_by_digest(cli, two_runs):
    run = two_runs[0]
    record = json.loads(cli("runs", "show", run.run_id, "--json").out)
    assert "spec" not in record
    assert record["spec_digest"] == specs.load(scored).digest
    for execution in record["executions"]:
        assert "container" not in execution["cache_key_parts"]
        assert len(execution["component_digest"]) == 64
    # The same component in another run has the same digest; another component another.
    again = json.loads(cli("runs", "show", two_runs[1].run_id, "--json").out)
    digests = [[e["component_digest"] for e in r["executions"]] for r in (record, again)]
    assert digests[0] == digests[1] and len(set(digests[0])) == 2

    whole = json.loads(cli("runs", "show", run.run_id, "--json", "--with-spec").out)
    assert spec_digest(whole["spec"]) == record["spec_digest"]
    for execution in whole["executions"]:
        container = execution["cache_key_parts"]["container"]
        assert f"def {execution['task_key']}(" in container["command"][-1]
        assert spec_digest(container) == execution["component_digest"]
