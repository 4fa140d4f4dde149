"""Pipeline runs in experiments: `conveyor run --experiment E --run-name R --label k=v` makes
the run one of E's runs, with the pipeline's parameters as params and its tasks' `Metrics`
and `ClassificationMetrics` as metrics."""

import json

import pytest
from kfp import dsl
from kfp.dsl import ClassificationMetrics, Metrics, Output
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.client import Client
from conveyor.experiments import ExperimentConflict, ExperimentRunExists, ExperimentRunState


@dsl.component
def evaluate(lr: float, metrics: Output[Metrics], roc: Output[ClassificationMetrics]):
    if lr < 0:
        raise ValueError("lr must not be negative")
    metrics.log_metric("accuracy", 0.5 + lr)
    metrics.log_metric("f1", 0.4 + lr)
    roc.log_confusion_matrix(["stay", "churn"], [[5, 1], [2, 7]])
    roc.log_roc_curve([0.0, 0.3, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])


@dsl.pipeline(name="tuned")
def tuned(lr: float = 0.1):
    evaluate(lr=lr)


@pytest.fixture
def client():
    with Client() as opened:
        yield opened


def test_a_pipeline_run_joins_its_experiment_with_params_and_metrics(client):
    done = client.run(
        tuned, {"lr": 0.25}, experiment="tuning", run_name="lr-25", labels={"team": "growth"}
    )
    assert done.status == "SUCCEEDED"
    run = client.experiments.get_run("tuning", "lr-25")
    assert run.run_type == "system.PipelineRun" and run.pipeline_run == done.run_id
    assert run.state == ExperimentRunState.COMPLETE and run.ended_at is not None
    assert run.params == {"lr": 0.25}
    assert run.metrics == {"accuracy": 0.75, "f1": 0.65}
    assert run.labels == {"team": "growth"}
    [roc] = client.experiments.classification_metrics("tuning", "lr-25")
    assert roc.labels == ["stay", "churn"] and roc.tpr == [0.0, 0.8, 1.0]
    record = client.get_run(done.run_id)
    assert (record.display_name, record.experiment, record.labels) == (
        "lr-25",
        "tuning",
        {"team": "growth"},
    )
    assert [r.run_id for r in client.list_runs(experiment="tuning")] == [done.run_id]
    assert client.list_runs(labels={"team": "other"}) == []


def test_a_failed_pipeline_run_is_a_failed_experiment_run(client):
    failed = client.run(tuned, {"lr": -1.0}, experiment="tuning")
    assert failed.status == "FAILED"
    run = client.experiments.get_run("tuning", failed.run_id)  # named by its run id
    assert run.state == ExperimentRunState.FAILED and run.metrics == {}
    with pytest.raises(ExperimentConflict, match="has ended"):
        client.experiments.log_metrics("tuning", failed.run_id, {"late": 1.0})
    with pytest.raises(ExperimentConflict, match="conveyor runs resume"):
        client.experiments.start_run("tuning", failed.run_id, resume=True)


def test_a_taken_run_name_is_refused_before_anything_runs(client):
    client.run(tuned, experiment="tuning", run_name="base")
    with pytest.raises(ExperimentRunExists, match="has a run named 'base' already"):
        client.run(tuned, experiment="tuning", run_name="base")
    assert len(client.list_runs()) == 1


def test_logged_and_pipeline_runs_share_one_frame(client):
    client.run(tuned, {"lr": 0.1}, experiment="mixed", run_name="pipe")
    client.experiments.start_run("mixed", "notebook")
    client.experiments.log_params("mixed", "notebook", {"lr": 0.3})
    client.experiments.log_metrics("mixed", "notebook", {"accuracy": 0.7})
    client.experiments.log_time_series_metrics("mixed", "notebook", {"loss": 0.2})
    frame = client.get_experiment_df("mixed")
    assert list(frame["run_name"]) == ["pipe", "notebook"]
    assert list(frame["run_type"]) == ["system.PipelineRun", "system.ExperimentRun"]
    assert list(frame["state"]) == ["COMPLETE", "RUNNING"]
    assert list(frame["param.lr"]) == [0.1, 0.3]
    assert frame["metric.accuracy"].round(6).tolist() == [0.6, 0.7]
    assert frame.columns[:4].tolist() == ["experiment_name", "run_name", "run_type", "state"]
    best = client.experiments.search_runs("mixed", order_by="metric.accuracy DESC", page_size=1)
    assert best.runs[0]["run_name"] == "notebook" and best.total == 2


def test_deleting_the_experiment_keeps_the_pipeline_run(client):
    done = client.run(tuned, experiment="short-lived")
    assert client.experiments.delete("short-lived") == 1
    kept = client.get_run(done.run_id)
    assert kept.status == "SUCCEEDED" and kept.experiment is None
    assert client.list_runs(experiment="short-lived") == []


def test_the_command_line_joins_an_experiment(tmp_path):
    source = tmp_path / "tuned.py"
    source.write_text(
        "from kfp import dsl\n"
        "from kfp.dsl import Metrics, Output\n\n"
        "@dsl.component\n"
        "def score(lr: float, metrics: Output[Metrics]):\n"
        "    metrics.log_metric('accuracy', lr * 2)\n\n"
        "@dsl.pipeline(name='cli-tuned')\n"
        "def tuned(lr: float = 0.1):\n"
        "    score(lr=lr)\n"
    )
    runner = CliRunner()
    args = ["run", f"{source}:tuned", "-p", "lr=0.2", "--experiment", "cli", "--json"]
    done = runner.invoke(app, [*args, "--run-name", "first", "--label", "by=cli"])
    assert done.exit_code == 0, done.output
    run_id = json.loads(done.stdout)["run_id"]
    with Client() as client:
        run = client.experiments.get_run("cli", "first")
    assert run.pipeline_run == run_id and run.metrics == {"accuracy": 0.4}
    assert run.labels == {"by": "cli"}
    bad = runner.invoke(app, [*args, "--run-name", "has space"])
    assert bad.exit_code == 2 and "run name 'has space' is not valid" in bad.output
    bad = runner.invoke(app, [*args, "--label", "novalue"])
    assert bad.exit_code == 2 and "--label takes key=value" in bad.output
