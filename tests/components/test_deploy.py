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
