"""The hand-over components in one pipeline, run twice on the breast cancer data:
get_production_model (none, then the version holding `production`), validate_model
against it, infra_validate, upload_model (blessed: uploaded with aliases, labels,
schema, trust, evaluations and the run; not blessed: never uploaded), deploy_model
and batch_predict."""

import json
from pathlib import Path

import pandas as pd
from component_runs import read_json, run_ok, write_parquet
from kfp import dsl

from conveyor.client import Client
from conveyor.components import (
    batch_predict,
    deploy_model,
    evaluate_model,
    fit_transform,
    get_production_model,
    infra_validate,
    split_data,
    train_model,
    upload_model,
    validate_model,
)
from conveyor.components._lib import files


@dsl.pipeline
def hand_over(data: str, thresholds: dict, aliases: list):
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    parts = split_data(examples=rows.output, method="stratified", stratify_column="malignant")
    transform = fit_transform(train_data=parts.outputs["train_data"], label_column="malignant")
    trained = train_model(
        train_data=parts.outputs["train_data"],
        label_column="malignant",
        estimator="LogisticRegression",
        hyperparameters={"max_iter": 500},
        transform=transform.outputs["transform"],
    )
    evaluated = evaluate_model(
        model=trained.outputs["model"],
        test_data=parts.outputs["eval_data"],
        slice_columns=["site"],
    )
    production = get_production_model(model_name="cancer").set_caching_options(False)
    blessing = validate_model(
        evaluation=evaluated.outputs["evaluation"],
        thresholds=thresholds,
        change_thresholds={"accuracy": {"tolerance": 0.05}},
        baseline_model=production.outputs["model"],
        test_data=parts.outputs["eval_data"],
    )
    canaries = infra_validate(model=trained.outputs["model"], examples=parts.outputs["eval_data"])
    # No dsl.If: upload_model itself must refuse a model that is not blessed.
    uploaded = upload_model(
        model=trained.outputs["model"],
        blessed=blessing.outputs["blessed"],
        model_name="cancer",
        aliases=aliases,
        labels={"team": "oncology", "data": "wdbc"},
        evaluation=evaluated.outputs["evaluation"],
        run_id=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
    ).after(canaries)
    deployed = deploy_model(
        endpoint="cancer-prod", model=uploaded.outputs["model_version"], follow_alias="production"
    ).set_caching_options(False)
    batch_predict(
        examples=parts.outputs["eval_data"],
        model="cancer@production",
        parameters={"method": "predict_proba"},
    ).after(deployed).set_caching_options(False)


def outputs(run, task: str) -> dict:
    path = Path(run.task(task).log_path).parent / "executor_output.json"
    return json.loads(path.read_text()).get("parameterValues", {})


def artifact(client: Client, run, task: str, name: str):
    execution = next(e for e in client.get_run(run.run_id).executions if e.task_key == task)
    return execution.outputs[name][0]


def test_blessed_models_are_handed_over_and_unblessed_ones_never(tmp_path, cancer):
    data = write_parquet(cancer, tmp_path / "cancer.parquet")
    client = Client()

    # Run 1: no production model yet; the candidate is blessed on value thresholds alone.
    first = run_ok(
        hand_over,
        {"data": data, "thresholds": {"accuracy": {"min": 0.8}}, "aliases": ["production"]},
    )
    fetched = outputs(first, "get-production-model")
    assert fetched == {"found": False, "model_version": ""}
    empty = artifact(client, first, "get-production-model", "model")
    assert Path(empty.uri).is_dir() and not any(Path(empty.uri).iterdir())
    assert outputs(first, "validate-model")["blessed"] is True
    infra = read_json(artifact(client, first, "infra-validate", "infra_blessing").uri)
    assert infra["blessed"] is True and infra["trusted"] is True
    assert [r["form"] for r in infra["requests"]] == ["objects", "lists", "objects"]

    assert outputs(first, "upload-model") == {
        "model_version": "cancer@1",
        "version_id": 1,
        "uploaded": True,
    }
    version = client.get_model_version("cancer@production")
    model = artifact(client, first, "train-model", "model")
    assert version.version_id == 1
    assert set(version.aliases) == {"default", "production"}
    assert version.labels == {"team": "oncology", "data": "wdbc"}
    assert version.artifact_uri == model.uri
    assert version.framework == "sklearn"
    assert version.input_schema == files.read_json(Path(model.uri) / "schema.json", "schema")
    info = files.read_json(Path(model.uri) / "model_info.json", "info")
    assert version.trusted is bool(info["untrusted_types"]) is True
    assert version.run_id == first.run_id
    evaluations = client.list_model_evaluations("cancer@1")
    evaluation = read_json(artifact(client, first, "evaluate-model", "evaluation").uri)
    assert evaluations[0].slice is None
    assert evaluations[0].metrics == evaluation["metrics"]
    assert {e.slice["site"] for e in evaluations[1:]} == {"north", "south"}
    assert {e.run_id for e in evaluations} == {first.run_id}

    endpoint = client.get_endpoint("cancer-prod")
    (deployed,) = endpoint.deployed_models
    assert (deployed.alias, deployed.version_id) == ("production", 1)
    assert endpoint.traffic_split == {deployed.id: 100}
    scored = pd.read_parquet(artifact(client, first, "batch-predict", "predictions").uri)
    assert outputs(first, "batch-predict")["model_version"] == "cancer@1"
    assert len(scored) == outputs(first, "split-data")["eval_rows"]
    assert all(len(p) == 2 for p in scored["predictions"])

    # Run 2: the same candidate against production, with a floor it cannot reach: not
    # blessed, so nothing is uploaded, nothing deployed; production stays version 1.
    second = run_ok(
        hand_over,
        {"data": data, "thresholds": {"accuracy": {"min": 1.01}}, "aliases": ["production"]},
    )
    assert outputs(second, "get-production-model") == {
        "found": True,
        "model_version": "cancer@1",
    }
    baseline = artifact(client, second, "get-production-model", "model")
    assert baseline.metadata["registered_version"] == "cancer@1"
    assert sorted(p.name for p in Path(baseline.uri).iterdir()) == sorted(
        p.name for p in Path(model.uri).iterdir()
    )
    recorded = read_json(artifact(client, second, "get-production-model", "evaluation").uri)
    assert recorded["metrics"] == evaluation["metrics"]
    assert recorded["model"] == "cancer@1"
    blessing = read_json(artifact(client, second, "validate-model", "blessing").uri)
    assert blessing["blessed"] is False
    assert blessing["baseline"]["source"] == "model"
    assert "below the minimum 1.01" in blessing["reason"]

    assert outputs(second, "upload-model") == {
        "model_version": "",
        "version_id": 0,
        "uploaded": False,
    }
    log = second.task("upload-model").log_path.read_text()
    assert "NOT UPLOADED: the model is not blessed" in log
    assert [v.version_id for v in client_versions(client)] == [1]
    assert "NOT DEPLOYED" in second.task("deploy-model").log_path.read_text()
    assert len(client.get_endpoint("cancer-prod").deployed_models) == 1
    assert outputs(second, "batch-predict")["model_version"] == "cancer@1"


def client_versions(client: Client):
    from conveyor.registry import Registry
    from conveyor.store.metadata import MetadataStore

    with MetadataStore.open() as store:
        return Registry(store).list_versions("cancer")
