"""deploy_model: to an endpoint made when missing, following an alias or pinned, with a
traffic split; a deployment already serving the same thing is kept, not doubled. Then
predictions from the endpoint over the real server (`conveyor serve`) and in-process."""

import pytest
from component_runs import run_failed, run_ok
from handover_support import conveyor_serve, features, register, train_folder
from kfp import dsl

from conveyor.client import Client
from conveyor.components import deploy_model
from conveyor.components._lib import models
from conveyor.errors import UsageError


@dsl.pipeline
def rollout(endpoint: str, follow: str, pinned: str, canary_share: int):
    followed = deploy_model(endpoint=endpoint, model=follow, follow_alias="production")
    deploy_model(endpoint=endpoint, model=pinned, traffic_percentage=canary_share).after(followed)


@dsl.pipeline
def deploy_elsewhere(endpoint: str, model: str):
    deploy_model(endpoint=endpoint, model=model, create_endpoint=False)


def test_deploy_then_predict_over_the_server(tmp_path, cancer):
    client = Client()
    first = train_folder(cancer.iloc[:300], tmp_path / "v1")
    second = train_folder(cancer.iloc[200:], tmp_path / "v2")
    register(client, first)
    register(client, second, aliases=())  # version 2: no alias

    arguments = {"endpoint": "cancer-prod", "follow": "cancer@1", "pinned": "cancer@2"}
    run_ok(rollout, {**arguments, "canary_share": 20})
    endpoint = client.get_endpoint("cancer-prod")
    follows, pinned = endpoint.deployed_models
    assert (follows.model, follows.alias, follows.version_id) == ("cancer", "production", 1)
    assert (pinned.alias, pinned.version_id) == (None, 2)
    assert endpoint.traffic_split == {follows.id: 80, pinned.id: 20}

    # Again, with another share for version 2: the same two deployments, the new split.
    run = run_ok(rollout, {**arguments, "canary_share": 50})
    assert "ALREADY DEPLOYED cancer@production" in run.task("deploy-model").log_path.read_text()
    endpoint = client.get_endpoint("cancer-prod")
    assert [d.id for d in endpoint.deployed_models] == [follows.id, pinned.id]
    assert endpoint.traffic_split == {follows.id: 50, pinned.id: 50}
    client.set_traffic("cancer-prod", {follows.id: 100, pinned.id: 0})

    rows = features(cancer.iloc[:5])
    instances = rows.to_dict(orient="records")
    expected = models.load(first).predict(rows).tolist()
    with conveyor_serve(tmp_path / "serve.log") as url:
        answer = client.predict("cancer-prod", instances, url=url)
        assert answer["predictions"] == expected
        assert (answer["deployedModelId"], answer["modelVersionId"]) == (follows.id, "1")
        scores = client.predict("cancer-prod", instances, {"method": "predict_proba"}, url=url)
        assert len(scores["predictions"][0]) == 2
        with pytest.raises(UsageError, match="answered 400: .*missing feature 'site'"):
            client.predict(
                "cancer-prod", [{k: v for k, v in instances[0].items() if k != "site"}], url=url
            )
    local = client.predict("cancer-prod", instances)
    assert local["predictions"] == expected and local["deployedModelId"] == follows.id


def test_deploy_refuses_a_missing_endpoint_unless_asked_to_create_it(tmp_path, cancer):
    client = Client()
    register(client, train_folder(cancer, tmp_path / "model"))
    run = run_failed(deploy_elsewhere, {"endpoint": "nowhere", "model": "cancer@1"})
    assert "there is no endpoint 'nowhere'" in run.error
    assert client.find_endpoint("nowhere") is None


def test_client_traffic_and_local_prediction_errors(tmp_path, cancer):
    client = Client()
    register(client, train_folder(cancer, tmp_path / "model"))
    client.create_endpoint("idle")
    with pytest.raises(UsageError, match="no deployed model taking traffic"):
        client.predict("idle", [{"radius": 1.0}])
    deployed = client.deploy("idle", "cancer@1")
    with pytest.raises(UsageError, match="either the whole traffic split"):
        client.set_traffic("idle", deployed_model_id=deployed.id)
    assert client.set_traffic(
        "idle", deployed_model_id=deployed.id, traffic_percentage=100
    ).traffic_split == {deployed.id: 100}
    assert client.find_model_version("cancer@staging") is None
    assert client.find_model_version("unknown") is None
    copied = client.copy_model("cancer@production", tmp_path / "copy")
    assert copied.version_id == 1
    assert models.load(tmp_path / "copy").predict(features(cancer.iloc[:3])).tolist() == (
        models.load(tmp_path / "model").predict(features(cancer.iloc[:3])).tolist()
    )


@dsl.pipeline
def canary(endpoint: str, model: str, strategy: str):
    deploy_model(
        endpoint=endpoint,
        model=model,
        follow_alias="production",
        strategy=strategy,
        rollout_steps=[25, 100],
        rollout_interval_seconds=60.0,
        max_p99_ms=80.0,
        failure_limit=3,
    )


def test_a_canary_strategy_starts_a_rollout_from_the_stable_model(tmp_path, cancer):
    client = Client()
    register(client, train_folder(cancer.iloc[:300], tmp_path / "v1"), aliases=())
    register(client, train_folder(cancer.iloc[200:], tmp_path / "v2"), aliases=())

    # Nothing serves yet: nothing to compare with; version 1 takes production, deployed.
    first = run_ok(canary, {"endpoint": "cancer-prod", "model": "cancer@1", "strategy": "canary"})
    assert "DEPLOYED cancer@production" in first.task("deploy-model").log_path.read_text()
    assert client.get_model_version("cancer@production").version_id == 1
    assert client.current_rollout("cancer-prod") is None

    second = run_ok(canary, {"endpoint": "cancer-prod", "model": "cancer@2", "strategy": "canary"})
    assert (
        "ROLLOUT 1 STARTED: cancer@2 (canary)" in second.task("deploy-model").log_path.read_text()
    )
    rollout = client.current_rollout("cancer-prod")
    assert (rollout.steps, rollout.weight, rollout.alias, rollout.failure_limit) == (
        [25, 100],
        25,
        "production",
        3,
    )
    assert rollout.criteria.max_p99_ms == 80.0 and rollout.criteria.min_agreement is None
    assert client.get_model_version("cancer@production").version_id == 1  # until promoted

    # Run again (a retried pipeline): the rollout in progress is kept, not started twice.
    third = run_ok(canary, {"endpoint": "cancer-prod", "model": "cancer@2", "strategy": "shadow"})
    assert (
        "ROLLOUT 1 OF cancer@2 ALREADY IN PROGRESS"
        in third.task("deploy-model").log_path.read_text()
    )
    client.abort_rollout("cancer-prod", reason="test over")
    again = run_ok(canary, {"endpoint": "cancer-prod", "model": "cancer@1", "strategy": "canary"})
    assert "ALREADY DEPLOYED cancer@1" in again.task("deploy-model").log_path.read_text()


def test_an_unknown_strategy_fails_the_task(tmp_path, cancer):
    register(Client(), train_folder(cancer, tmp_path / "model"))
    run = run_failed(canary, {"endpoint": "e", "model": "cancer@1", "strategy": "blue-green"})
    assert "strategy 'blue-green' is not one of: direct, canary, shadow" in run.error


def test_rollout_criteria_given_by_name_are_checked(tmp_path, cancer):
    client = Client()
    register(client, train_folder(cancer, tmp_path / "model"))
    with pytest.raises(UsageError, match="unknown rollout criteria max_latency"):
        client.start_rollout("e", "cancer@1", criteria={"max_latency": 3})
