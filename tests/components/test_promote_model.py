"""promote_model in a pipeline run in dev: a model uploaded there, then promoted to staging
through its gates (promoted, branched on), refused by prod's (the task succeeds with
promoted false and the gates artifact says why), and with fail_on_refusal (the task fails).
Each environment is a SQLite home of its own, declared in a conveyor.toml."""

import json
from pathlib import Path

import pytest
from component_runs import read_json, run_failed, run_ok
from handover_support import train_folder
from kfp import compiler, dsl

from conveyor.client import Client
from conveyor.components import promote_model, upload_model
from conveyor.config import Settings
from conveyor.home import open_home
from conveyor.pipelines import spec as specs
from conveyor.pipelines import validate
from conveyor.registry import HistoryAction, ModelNotFound

ENVIRONMENTS = """
[env.dev]
home = "dev-home"
[env.staging]
home = "staging-home"
[env.staging.gates]
min_metrics = { roc_auc = 0.5 }
[env.prod]
home = "prod-home"
[env.prod.gates]
min_metrics = { roc_auc = 0.99 }
"""


@dsl.component
def announce(version: str) -> str:
    return f"serving {version}"


@dsl.pipeline
def release(model_dir: str, evaluation: str, to_env: str, fail_on_refusal: bool = False):
    model = dsl.importer(artifact_uri=model_dir, artifact_class=dsl.Model, reimport=False)
    metrics = dsl.importer(artifact_uri=evaluation, artifact_class=dsl.Artifact, reimport=False)
    uploaded = upload_model(
        model=model.output, blessed=True, model_name="cancer", evaluation=metrics.output
    )
    promoted = promote_model(
        model_version=uploaded.outputs["model_version"],
        to_env=to_env,
        alias="production",
        fail_on_refusal=fail_on_refusal,
    ).set_caching_options(False)
    with dsl.If(promoted.outputs["promoted"] == True):  # noqa: E712 (a KFP condition)
        announce(version=promoted.outputs["target_version"])


@pytest.fixture
def project(tmp_path, monkeypatch, cancer) -> dict:
    """The environments, a trained model folder and its evaluation (roc_auc 0.93): the
    arguments of `release`; runs start in dev."""
    (tmp_path / "conveyor.toml").write_text(ENVIRONMENTS)
    monkeypatch.setenv("CONVEYOR_CONFIG", str(tmp_path / "conveyor.toml"))
    monkeypatch.setenv("CONVEYOR_ENV", "dev")
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"metrics": {"roc_auc": 0.93, "accuracy": 0.9}}))
    model = train_folder(cancer, tmp_path / "model")
    return {"model_dir": str(model), "evaluation": str(evaluation)}


def outputs(run, task: str) -> dict:
    path = Path(run.task(task).log_path).parent / "executor_output.json"
    return json.loads(path.read_text()).get("parameterValues", {})


def gates_of(run) -> tuple[dict, dict]:
    """The gates artifact of the run's promote_model task: its document and metadata."""
    with Client() as dev:
        execution = next(
            e for e in dev.get_run(run.run_id).executions if e.task_key == "promote-model"
        )
    artifact = execution.outputs["gates"][0]
    return read_json(artifact.uri), artifact.metadata


def test_promoted_to_staging_through_its_gates(project):
    run = run_ok(release, {**project, "to_env": "staging"})
    assert outputs(run, "promote-model") == {"promoted": True, "target_version": "cancer@1"}
    assert outputs(run, "condition-1/announce") == {"Output": "serving cancer@1"}
    document, metadata = gates_of(run)
    assert document["gates"] == [
        {"name": "min_metrics.roc_auc", "passed": True, "detail": "roc_auc 0.93 >= 0.5"}
    ]
    assert (document["source_env"], document["target_env"]) == ("dev", "staging")
    assert (metadata["promoted"], metadata["refused"]) == (True, False)
    log = run.task("promote-model").log_path.read_text()
    assert "PROMOTED: dev cancer@1 promoted to staging as cancer@1 [production]" in log

    with open_home(settings=Settings.from_env(env="staging")) as staging:
        version = staging.registry.get_version("cancer@production")
        evaluations = staging.registry.list_evaluations("cancer", version.version_id)
    with Client() as dev:
        source = dev.get_model_version("cancer@1")
    assert version.origin["environment"] == "dev"
    assert (version.origin["model"], version.origin["version"]) == ("cancer", 1)
    assert version.origin["run_id"] == source.run_id
    assert version.sha256 == source.sha256 and version.trusted is source.trusted
    assert evaluations[0].metrics["roc_auc"] == 0.93


def test_a_refusal_is_an_outcome_unless_the_pipeline_fails_on_it(project):
    refused = run_ok(release, {**project, "to_env": "prod"})
    assert outputs(refused, "promote-model") == {"promoted": False, "target_version": ""}
    assert "condition-1/announce" not in [t.name for t in refused.tasks]  # branch not taken
    document, metadata = gates_of(refused)
    assert document["gates"] == [
        {"name": "min_metrics.roc_auc", "passed": False, "detail": "roc_auc 0.93 < 0.99"}
    ]
    assert (document["promoted"], document["refused"], document["target_version"]) == (
        False,
        True,
        None,
    )
    assert document["reason"] == (
        "promotion of dev cancer@1 to prod refused: min_metrics.roc_auc: roc_auc 0.93 < 0.99"
    )
    assert metadata["reason"] == document["reason"]
    log = refused.task("promote-model").log_path.read_text()
    assert "  FAIL min_metrics.roc_auc: roc_auc 0.93 < 0.99" in log
    with open_home(settings=Settings.from_env(env="prod")) as prod:
        assert [e.action for e in prod.registry.history("cancer")] == [
            HistoryAction.PROMOTION_REFUSED
        ]
        with pytest.raises(ModelNotFound):
            prod.registry.get_model("cancer")

    failed = run_failed(release, {**project, "to_env": "prod", "fail_on_refusal": True})
    assert failed.task("promote-model").status == "FAILED"
    log = failed.task("promote-model").log_path.read_text()
    assert "promotion of dev cancer@2 to prod refused" in log
    assert "the task fails because fail_on_refusal is set" in log


def test_compiles_for_vertex_ai(tmp_path):
    compiled = tmp_path / "release.yaml"
    compiler.Compiler().compile(release, str(compiled))
    spec = specs.load(compiled)
    validate.check_spec(spec)
    container = spec["deploymentSpec"]["executors"]["exec-promote-model"]["container"]
    assert container["image"] == "python:3.11"
    outputs = spec["components"]["comp-promote-model"]["outputDefinitions"]
    assert set(outputs["parameters"]) == {"promoted", "target_version"}
    assert outputs["artifacts"]["gates"]["artifactType"]["schemaTitle"] == "system.Artifact"
