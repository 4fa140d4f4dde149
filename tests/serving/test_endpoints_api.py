"""`Endpoints`: create, deploy by id or alias, traffic splits, undeploy, the delete guard;
each test on SQLite and on a real PostgreSQL server (the root conftest's `store_url`)."""

import dataclasses

import pytest

from conveyor.home import open_home
from conveyor.registry import DeleteRefused, ModelNotFound, VersionNotFound
from conveyor.serving.errors import (
    DeployedModelNotFound,
    EndpointNotFound,
    InvalidEndpoint,
    InvalidTraffic,
    ServingConflict,
    UndeployableModel,
)


@pytest.fixture
def settings(settings, store_url):
    """The serving tests' settings with the store of `store_url` (both backends)."""
    return dataclasses.replace(settings, metadata_url=store_url)


def test_create_get_list_and_delete(endpoints):
    made = endpoints.create(
        "churn-prod", description="scores", labels={"team": "growth"}, log_sample_rate=0.25
    )
    assert (made.name, made.description, made.labels) == (
        "churn-prod",
        "scores",
        {"team": "growth"},
    )
    assert (made.log_sample_rate, made.deployed_models, made.traffic_split) == (0.25, [], {})
    assert made.created_by == "dana"
    endpoints.create("a")
    assert [e.name for e in endpoints.list()] == ["a", "churn-prod"]
    endpoints.delete("a")
    with pytest.raises(EndpointNotFound, match="no endpoint 'a'; `conveyor endpoints list`"):
        endpoints.get("a")


@pytest.mark.parametrize("name", ["Churn", "1churn", "churn-", "churn_prod", "a" * 64, ""])
def test_endpoint_names_follow_vertex_rules(endpoints, name):
    with pytest.raises(InvalidEndpoint, match="is not valid: use 1 to 63 lowercase letters"):
        endpoints.create(name)


def test_bad_labels_rate_and_twice_the_same_name(endpoints):
    with pytest.raises(InvalidEndpoint, match="label key 'Team' is not valid"):
        endpoints.create("e", labels={"Team": "x"})
    with pytest.raises(InvalidEndpoint, match="log sample rate 2 must be a number from 0"):
        endpoints.create("e", log_sample_rate=2)
    endpoints.create("e")
    with pytest.raises(ServingConflict, match="endpoint 'e' already exists"):
        endpoints.create("e")


def test_update_changes_only_what_is_given(endpoints):
    endpoints.create("e", description="d", log_sample_rate=0.5)
    before = endpoints.get("e").generation
    after = endpoints.update("e", log_sample_rate=None)
    assert (after.description, after.log_sample_rate) == ("d", None)
    assert after.generation == before + 1


def test_deploy_by_alias_follows_it_and_by_id_pins(churn, endpoints):
    endpoints.create("e")
    followed = endpoints.deploy("e", "churn@production")
    assert (followed.alias, followed.version_id, followed.reference) == (
        "production",
        1,
        "churn@production",
    )
    assert followed.traffic_percentage == 100
    pinned = endpoints.deploy("e", "churn", 2, traffic_percentage=25)
    assert (pinned.alias, pinned.version_id, pinned.reference) == (None, 2, "churn@2")
    bare = endpoints.deploy("e", "churn", traffic_percentage=0)
    assert bare.alias == "default"
    frozen = endpoints.deploy("e", "churn@candidate", pin=True)
    assert (frozen.alias, frozen.version_id) == (None, 2)
    endpoint = endpoints.get("e")
    assert endpoint.traffic_split == {followed.id: 75, pinned.id: 25, bare.id: 0, frozen.id: 0}
    churn.set_alias("churn", "production", 2)
    assert endpoints.get("e").deployed_model(followed.id).version_id == 2


def test_deploy_with_a_whole_split_where_0_is_the_new_model(churn, endpoints):
    endpoints.create("e")
    first = endpoints.deploy("e", "churn@1")
    second = endpoints.deploy("e", "churn@2", traffic_split={"0": 60, first.id: 40})
    assert endpoints.get("e").traffic_split == {first.id: 40, second.id: 60}
    with pytest.raises(InvalidTraffic, match="must add up to 100, not 90"):
        endpoints.deploy("e", "churn@2", traffic_split={"0": 50, first.id: 40})
    with pytest.raises(InvalidTraffic, match="either a traffic percentage .* not both"):
        endpoints.deploy("e", "churn@2", traffic_percentage=5, traffic_split={"0": 100})
    assert len(endpoints.get("e").deployed_models) == 2  # the refused ones left nothing


def test_undeploy_gives_the_traffic_back(churn, endpoints):
    endpoints.create("e")
    a = endpoints.deploy("e", "churn@1")
    b = endpoints.deploy("e", "churn@2", traffic_percentage=30)
    after = endpoints.undeploy("e", b.id)
    assert after.traffic_split == {a.id: 100}
    b = endpoints.deploy("e", "churn@2", traffic_percentage=100)
    assert endpoints.get("e").traffic_split == {a.id: 0, b.id: 100}
    with pytest.raises(InvalidTraffic, match=f"deployed model {b.id} takes all the traffic"):
        endpoints.undeploy("e", b.id)
    assert endpoints.undeploy("e", b.id, traffic_split={a.id: 100}).traffic_split == {a.id: 100}
    with pytest.raises(DeployedModelNotFound, match=f"no deployed model '{b.id}'"):
        endpoints.undeploy("e", b.id)
    with pytest.raises(ServingConflict, match="still serves deployed models"):
        endpoints.delete("e")
    endpoints.undeploy("e", a.id)
    endpoints.delete("e")


def test_set_traffic(churn, endpoints):
    endpoints.create("e")
    a = endpoints.deploy("e", "churn@1")
    b = endpoints.deploy("e", "churn@2")
    assert endpoints.set_traffic("e", {a.id: 50, b.id: 50}).traffic_split == {a.id: 50, b.id: 50}
    with pytest.raises(InvalidTraffic, match="must add up to 100, not 50"):
        endpoints.set_traffic("e", {a.id: 50})
    one = endpoints.set_traffic("e", deployed_model_id=b.id, traffic_percentage=20)
    assert one.traffic_split == {a.id: 80, b.id: 20}
    with pytest.raises(InvalidTraffic, match="either the whole traffic split, or a deployed"):
        endpoints.set_traffic("e", {a.id: 100}, deployed_model_id=a.id, traffic_percentage=100)


def test_deploying_what_does_not_exist_or_cannot_load(churn, endpoints, model_copy):
    with pytest.raises(EndpointNotFound):
        endpoints.deploy("nowhere", "churn@1")
    endpoints.create("e")
    with pytest.raises(ModelNotFound):
        endpoints.deploy("e", "nobody")
    with pytest.raises(VersionNotFound):
        endpoints.deploy("e", "churn@7")
    folder = model_copy("v1")
    version = churn.upload("tampered", folder, framework="sklearn")
    (folder / "model.skops").write_bytes(b"changed after upload")
    with pytest.raises(UndeployableModel, match="tampered@1 cannot be served: .*sha256"):
        endpoints.deploy("e", version.reference)
    assert endpoints.get("e").deployed_models == []


def test_a_deployed_version_cannot_be_deleted(churn, endpoints, store):
    endpoints.create("e")
    pinned = endpoints.deploy("e", "churn@2")
    with pytest.raises(
        DeleteRefused, match=f"deployed to endpoint e as deployed model {pinned.id}"
    ):
        churn.delete_version("churn", 2)
    endpoints.undeploy("e", pinned.id)
    followed = endpoints.deploy("e", "churn@candidate", traffic_percentage=100)
    with pytest.raises(DeleteRefused, match="through alias candidate"):
        churn.delete_version("churn", 2)
    with pytest.raises(DeleteRefused):
        churn.delete_model("churn")
    # The guard follows the alias: once it moves, the old holder may go.
    churn.set_alias("churn", "candidate", 1)
    endpoints.undeploy("e", followed.id)
    churn.delete_version("churn", 2)


def test_every_home_on_the_store_guards_deployed_versions(churn, endpoints, settings):
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    with open_home(settings=settings) as other, pytest.raises(DeleteRefused):
        other.registry.delete_model("churn")


def test_a_description_that_is_not_unicode_text_is_refused(endpoints):
    from conveyor.serving.errors import InvalidEndpoint

    with pytest.raises(InvalidEndpoint, match="lone surrogate"):
        endpoints.create("churn-prod", description="bad \udc80 text")
    endpoints.create("churn-prod")
    with pytest.raises(InvalidEndpoint, match="is text, not int"):
        endpoints.update("churn-prod", description=3)
    assert endpoints.get("churn-prod").description is None
