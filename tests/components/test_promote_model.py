"""promote_model in a pipeline run in dev: a model uploaded there, then promoted to staging
through its gates (promoted, branched on), refused by prod's (the task succeeds with
promoted false and the gates artifact says why), and with fail_on_refusal (the task fails);
promoted again (already promoted: the task succeeds, nothing moves); and through a gate of
infra validation that reads the run's infra_validate verdict. Each environment is a
SQLite home of its own, declared in a conveyor.toml."""

import json
from pathlib import Path

import pytest
from component_runs import read_json, run_failed, run_ok, write_parquet
from handover_support import train_folder
from kfp import compiler, dsl

from conveyor.client import Client
from conveyor.components import infra_validate, promote_model, train_model, upload_model
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
[env.checked]
home = "checked-home"
[env.checked.gates]
infra_validation = true
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


@dsl.pipeline
def promote_again(model_version: str, to_env: str):
    promote_model(model_version=model_version, to_env=to_env, alias="canary").set_caching_options(
        False
    )


@dsl.pipeline
def validated(data: str):
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    trained = train_model(
        train_data=rows.output,
        label_column="malignant",
        estimator="LogisticRegression",
        feature_columns=["radius", "texture", "perimeter", "area", "smoothness"],
        hyperparameters={"max_iter": 500},
    )
    canaries = infra_validate(model=trained.outputs["model"], examples=rows.output)
    uploaded = upload_model(
        model=trained.outputs["model"], blessed=True, model_name="cancer"
    ).after(canaries)
    promote_model(
        model_version=uploaded.outputs["model_version"], to_env="checked"
    ).set_caching_options(False)


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
    assert outputs(run, "promote-model") == {
        "promoted": True,
        "target_version": "cancer@1",
        "already_promoted": False,
    }
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

    # Promoted again (a pipeline run again): the task succeeds, nothing moves, not even
    # the alias asked for.
    again = run_ok(promote_again, {"model_version": "cancer@1", "to_env": "staging"})
    assert outputs(again, "promote-model") == {
        "promoted": False,
        "target_version": "cancer@1",
        "already_promoted": True,
    }
    document, metadata = gates_of(again)
    assert (document["already"], document["refused"], document["gates"]) == (True, False, [])
    assert metadata["already_promoted"] is True
    log = again.task("promote-model").log_path.read_text()
    assert (
        "ALREADY PROMOTED: dev cancer@1 is staging cancer@1 [default, production]; nothing moved"
        in log
    )
    with open_home(settings=Settings.from_env(env="staging")) as staging:
        assert [v.aliases for v in staging.registry.list_versions("cancer")] == [
            ["default", "production"]
        ]


def test_a_refusal_is_an_outcome_unless_the_pipeline_fails_on_it(project):
    refused = run_ok(release, {**project, "to_env": "prod"})
    assert outputs(refused, "promote-model") == {
        "promoted": False,
        "target_version": "",
        "already_promoted": False,
    }
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


def test_the_infra_validation_gate_reads_the_run_s_infra_validate_verdict(
    project, cancer, tmp_path
):
    data = write_parquet(cancer, tmp_path / "cancer.parquet")
    run = run_ok(validated, {"data": data})
    assert outputs(run, "promote-model")["target_version"] == "cancer@1"
    document, _ = gates_of(run)
    (gate,) = document["gates"]
    with Client() as dev:
        executions = dev.get_run(run.run_id).executions
    infra = next(e for e in executions if e.task_key == "infra-validate")
    assert gate["name"] == "infra_validation" and gate["passed"] is True
    assert gate["detail"].startswith(
        f"blessed by infra-validate (execution {infra.id}, run {run.run_id}): "
    )


def test_compiles_for_vertex_ai(tmp_path):
    compiled = tmp_path / "release.yaml"
    compiler.Compiler().compile(release, str(compiled))
    spec = specs.load(compiled)
    validate.check_spec(spec)
    container = spec["deploymentSpec"]["executors"]["exec-promote-model"]["container"]
    assert container["image"] == "python:3.11"
    outputs = spec["components"]["comp-promote-model"]["outputDefinitions"]
    assert set(outputs["parameters"]) == {"promoted", "target_version", "already_promoted"}
    assert outputs["artifacts"]["gates"]["artifactType"]["schemaTitle"] == "system.Artifact"
