"""Deleting versions and models, the default rule, delete guards, and updates.
SQLite and PostgreSQL."""

import pytest

from conveyor.registry import DeleteRefused, InvalidLabels, ModelNotFound, Registry, VersionNotFound
from conveyor.store.metadata import ArtifactState


@pytest.fixture
def three(registry, make_model):
    for i in range(3):
        registry.upload("churn", make_model(f"v{i}"), framework="sklearn")
    return registry


def test_deleting_a_version_takes_its_aliases_and_evaluations(three):
    three.set_alias("churn", "staging", 2)
    three.add_evaluation("churn", 2, {"auc": 0.9})
    three.delete_version("churn", "staging")
    assert [v.version_id for v in three.list_versions("churn")] == [1, 3]
    assert three.get_model("churn").aliases == {"default": 1}
    assert three.list_evaluations("churn") == []
    deleted = three.history("churn")[-1]
    assert deleted.details["aliases"] == ["staging"] and deleted.details["evaluations"] == 1
    with pytest.raises(VersionNotFound):
        three.get_version("churn@2")


def test_numbers_are_never_reused(three, make_model):
    three.delete_version("churn", 3)
    assert three.upload("churn", make_model("v4"), framework="sklearn").version_id == 4


def test_the_default_version_cannot_be_deleted_while_others_exist(three):
    with pytest.raises(
        DeleteRefused,
        match=r"churn@1 holds the default alias, so it cannot be deleted; move default first \(`conveyor models alias churn default 3`\)",
    ):
        three.delete_version("churn", 1)
    assert len(three.list_versions("churn")) == 3
    three.set_alias("churn", "default", 3)
    three.delete_version("churn", 1)
    assert three.get_version("churn").version_id == 3


def test_the_last_version_can_be_deleted_with_default(three, make_model):
    three.delete_version("churn", 2)
    three.delete_version("churn", 3)
    three.delete_version("churn", 1)
    model = three.get_model("churn")
    assert (model.version_count, model.default_version, model.aliases) == (0, None, {})
    with pytest.raises(VersionNotFound, match="model 'churn' has no versions; upload one"):
        three.get_version("churn")
    again = three.upload("churn", make_model("v4"), framework="sklearn")
    assert (again.version_id, again.aliases) == (4, ["default"])


def test_deleting_a_model(three, store):
    artifact = three.get_version("churn", 1).artifact_id
    three.set_alias("churn", "production", 2)
    three.add_evaluation("churn", 3, {"auc": 0.9})
    assert three.delete_model("churn") == [1, 2, 3]
    assert three.list_models() == []
    with pytest.raises(ModelNotFound):
        three.get_model("churn")
    with pytest.raises(ModelNotFound):
        three.delete_model("churn")
    # The store's artifact stays: the registry never deletes files or their records.
    assert store.get_artifact(artifact).state == ArtifactState.LIVE


def test_a_guard_keeps_a_version_in_use(store, make_model, monkeypatch):
    deployed = {("churn", 2): "deployed to endpoint churn-prod"}
    asked = []

    def guard(version):
        asked.append(version.reference)
        return deployed.get((version.model, version.version_id))

    registry = Registry(store, delete_guards=[guard])
    for i in range(3):
        registry.upload("churn", make_model(f"v{i}"), framework="sklearn")
    with pytest.raises(
        DeleteRefused,
        match=r"churn@2 is in use \(deployed to endpoint churn-prod\); release it first",
    ):
        registry.delete_version("churn", 2)
    with pytest.raises(DeleteRefused, match="churn@2 is in use"):
        registry.delete_model("churn")
    assert len(registry.list_versions("churn")) == 3
    registry.delete_version("churn", 3)
    deployed.clear()
    registry.add_delete_guard(lambda version: None)
    registry.delete_model("churn")
    assert "churn@3" in asked


def test_updating_a_version_and_a_model(three):
    updated = three.update_version(
        "churn@2", description="tuned", labels={"stage": "qa"}, trusted=True, comment="reviewed"
    )
    assert (updated.description, updated.labels, updated.trusted) == (
        "tuned",
        {"stage": "qa"},
        True,
    )
    assert updated.updated_at > updated.created_at
    entry = three.history("churn")[-1]
    assert entry.details == {
        "description": [None, "tuned"],
        "labels": [{}, {"stage": "qa"}],
        "trusted": [False, True],
    }
    assert entry.comment == "reviewed"
    # Nothing changed: nothing recorded.
    three.update_version("churn", 2, description="tuned")
    assert three.history("churn")[-1].id == entry.id
    model = three.update_model("churn", description="churn classifier", labels={"team": "growth"})
    assert (model.description, model.labels) == ("churn classifier", {"team": "growth"})
    assert three.update_model("churn", labels={}).labels == {}
    with pytest.raises(InvalidLabels):
        three.update_version("churn", 2, labels={"Bad": "x"})
