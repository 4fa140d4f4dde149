"""Aliases: `default` on the first version and always on exactly one, moves, uniqueness,
references by alias. Every test runs on SQLite and PostgreSQL."""

import pytest

from conveyor.registry import DEFAULT, AliasRefused, InvalidName, VersionNotFound


@pytest.fixture
def three(registry, make_model):
    """Model churn with versions 1, 2, 3."""
    for i in range(3):
        registry.upload("churn", make_model(f"v{i}"), framework="sklearn")
    return registry


def holders(registry, name="churn"):
    return {v.version_id: v.aliases for v in registry.list_versions(name)}


def exactly_one_default(registry, name="churn"):
    return sum(DEFAULT in v.aliases for v in registry.list_versions(name)) == 1


def test_the_first_version_gets_default_and_keeps_it(three):
    assert holders(three) == {1: ["default"], 2: [], 3: []}
    assert three.get_version("churn").version_id == 1
    assert three.get_model("churn").default_version == 1


def test_default_can_be_moved(three):
    moved = three.set_alias("churn", "default", 3)
    assert moved.version_id == 3 and moved.is_default
    assert holders(three) == {1: [], 2: [], 3: ["default"]}
    assert three.get_version("churn").version_id == 3
    assert exactly_one_default(three)


def test_default_cannot_be_removed(three):
    with pytest.raises(
        AliasRefused, match="the default alias of 'churn' cannot be removed, only moved"
    ):
        three.remove_alias("churn", "default")
    assert exactly_one_default(three)


def test_an_upload_may_take_default(three, make_model):
    new = three.upload(
        "churn", make_model("v4"), framework="sklearn", aliases=["default", "candidate"]
    )
    assert new.aliases == ["default", "candidate"]
    assert holders(three)[1] == []
    assert exactly_one_default(three)


def test_a_custom_alias_is_unique_and_moves_when_reapplied(three):
    three.set_alias("churn", "production", 1)
    three.set_alias("churn", "staging", 2)
    three.set_alias("churn", "production", 2)
    assert holders(three) == {1: ["default"], 2: ["production", "staging"], 3: []}
    assert three.get_model("churn").aliases == {"default": 1, "production": 2, "staging": 2}


def test_a_version_may_hold_many_aliases_and_uploads_bring_them(three, make_model):
    new = three.upload(
        "churn", make_model("v4"), framework="sklearn", aliases=["candidate", "canary", "candidate"]
    )
    assert new.aliases == ["canary", "candidate"]
    newer = three.upload("churn", make_model("v5"), framework="sklearn", aliases=["canary"])
    assert (newer.aliases, three.get_version("churn", 4).aliases) == (["canary"], ["candidate"])


def test_aliases_are_per_model(three, make_model):
    three.upload("fraud", make_model("f1"), framework="sklearn", aliases=["production"])
    three.set_alias("churn", "production", 2)
    assert three.get_version("fraud@production").model == "fraud"
    assert three.get_version("churn@production").version_id == 2


def test_an_alias_may_target_another_alias(three):
    three.set_alias("churn", "staging", 3)
    promoted = three.set_alias("churn", "production", "staging")
    assert promoted.version_id == 3
    assert three.set_alias("churn@2", "canary", None).version_id == 2


def test_get_version_by_every_kind_of_reference(three):
    three.set_alias("churn", "production", 2)
    for ref in (
        ("churn@production",),
        ("churn", "production"),
        ("churn@2",),
        ("churn", 2),
        ("churn", "2"),
    ):
        assert three.get_version(*ref).version_id == 2
    assert three.get_version("churn@default").version_id == 1


def test_removing_an_alias(three):
    three.set_alias("churn", "candidate", 3)
    held = three.remove_alias("churn", "candidate")
    assert held.version_id == 3 and held.aliases == []
    with pytest.raises(
        VersionNotFound, match="no version of model 'churn' holds alias 'candidate'"
    ):
        three.remove_alias("churn", "candidate")
    with pytest.raises(VersionNotFound, match="holds alias 'candidate'"):
        three.get_version("churn@candidate")


def test_bad_aliases_and_targets(three):
    with pytest.raises(InvalidName, match="alias 'Prod' is not valid"):
        three.set_alias("churn", "Prod", 1)
    with pytest.raises(InvalidName, match="alias '7' is not valid"):
        three.set_alias("churn", "7", 1)
    with pytest.raises(VersionNotFound, match="model 'churn' has no version 9"):
        three.set_alias("churn", "production", 9)
    with pytest.raises(VersionNotFound, match="holds alias 'staging'"):
        three.set_alias("churn", "production", "staging")
    assert three.get_model("churn").aliases == {"default": 1}


def test_reapplying_an_alias_where_it_is_changes_nothing(three):
    three.set_alias("churn", "production", 2)
    before = three.history("churn")
    three.set_alias("churn", "production", 2)
    three.set_alias("churn", "default", 1)
    assert three.history("churn") == before
