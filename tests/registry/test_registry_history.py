"""The history: every change appended in order with who, when and why; filters; it outlives
a deleted model. Every test runs on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest

from conveyor.registry import HistoryAction, ModelNotFound, Registry

A = HistoryAction


def summary(entries):
    return [(e.action, e.version, e.alias, e.previous_version) for e in entries]


def test_history_records_each_change_in_order(registry, make_model):
    start = datetime.now(UTC)
    registry.upload("churn", make_model("v1"), framework="sklearn", comment="baseline")
    registry.upload("churn", make_model("v2"), framework="sklearn", aliases=["candidate"])
    registry.set_alias("churn", "production", 2, comment="beats v1 on AUC")
    registry.set_alias("churn", "default", 2)
    registry.remove_alias("churn", "candidate", comment="promoted")
    registry.update_version("churn", 1, description="the baseline", comment="describe it")
    registry.update_model("churn", labels={"team": "growth"})
    registry.add_evaluation("churn", 2, {"auc": 0.93})
    registry.delete_version("churn", 1, comment="superseded")
    entries = registry.history("churn")
    assert summary(entries) == [
        (A.MODEL_CREATED, None, None, None),
        (A.VERSION_CREATED, 1, None, None),
        (A.ALIAS_SET, 1, "default", None),
        (A.VERSION_CREATED, 2, None, None),
        (A.ALIAS_SET, 2, "candidate", None),
        (A.ALIAS_SET, 2, "production", None),
        (A.ALIAS_SET, 2, "default", 1),
        (A.ALIAS_REMOVED, None, "candidate", 2),
        (A.VERSION_UPDATED, 1, None, None),
        (A.MODEL_UPDATED, None, None, None),
        (A.EVALUATION_ADDED, 2, None, None),
        (A.VERSION_DELETED, 1, None, None),
    ]
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    times = [e.created_at for e in entries]
    assert times == sorted(times) and times[0] >= start
    assert {e.actor for e in entries} == {"alice"}
    assert all(e.model == "churn" for e in entries)
    assert [e.comment for e in entries[:3]] == ["baseline"] * 3
    assert entries[5].comment == "beats v1 on AUC"
    assert entries[7].comment == "promoted"
    assert entries[8].details == {"description": [None, "the baseline"]}
    assert entries[9].details == {"labels": [{}, {"team": "growth"}]}
    assert entries[1].details["framework"] == "sklearn"
    assert entries[11].details["aliases"] == []
    assert entries[11].comment == "superseded"


def test_who_comes_from_the_environment_or_the_registry(store, model_dir, monkeypatch):
    monkeypatch.setenv("CONVEYOR_USER", "bob")
    Registry(store).upload("churn", model_dir, framework="sklearn")
    Registry(store, user="ci-bot").set_alias("churn", "production", 1)
    monkeypatch.delenv("CONVEYOR_USER")
    monkeypatch.setenv("USER", "carol")
    monkeypatch.setenv("LOGNAME", "carol")
    Registry(store).set_alias("churn", "staging", 1)
    assert [e.actor for e in Registry(store).history("churn")] == ["bob"] * 3 + ["ci-bot", "carol"]


def test_which_version_held_an_alias_over_time(registry, make_model):
    for i in range(3):
        registry.upload("churn", make_model(f"v{i}"), framework="sklearn")
    for target in (1, 2, 3, 2):
        registry.set_alias("churn", "production", target)
    registry.remove_alias("churn", "production")
    moves = registry.history("churn", alias="production")
    assert [(e.previous_version, e.version) for e in moves] == [
        (None, 1),
        (1, 2),
        (2, 3),
        (3, 2),
        (2, None),
    ]


def test_history_filters(registry, make_model):
    registry.upload("churn", make_model("v1"), framework="sklearn")
    registry.upload("churn", make_model("v2"), framework="sklearn")
    registry.set_alias("churn", "default", 2)
    about_1 = registry.history("churn", version=1)
    assert summary(about_1) == [
        (A.VERSION_CREATED, 1, None, None),
        (A.ALIAS_SET, 1, "default", None),
        (A.ALIAS_SET, 2, "default", 1),
    ]
    everything = registry.history("churn")
    newer = registry.history("churn", after=everything[2].id)
    assert newer == everything[3:]
    assert registry.history("churn", limit=2) == everything[:2]


def test_history_outlives_the_model(registry, model_dir):
    registry.upload("churn", model_dir, framework="sklearn", aliases=["production"])
    registry.delete_model("churn", comment="retired")
    entries = registry.history("churn")
    assert summary(entries)[-4:] == [
        (A.ALIAS_REMOVED, None, "production", 1),
        (A.ALIAS_REMOVED, None, "default", 1),
        (A.VERSION_DELETED, 1, None, None),
        (A.MODEL_DELETED, None, None, None),
    ]
    assert entries[-1].comment == "retired"
    assert entries[-1].details == {"versions": [1]}
    # A model made again under the name continues the history, with new numbers from 1.
    again = registry.upload("churn", model_dir, framework="sklearn")
    assert again.version_id == 1
    assert registry.history("churn")[len(entries)].action == A.MODEL_CREATED


def test_history_of_a_model_never_registered(registry):
    with pytest.raises(ModelNotFound, match="no model 'ghost' in the registry, now or before"):
        registry.history("ghost")


def test_history_entries_turn_into_json(registry, model_dir):
    registry.upload("churn", model_dir, framework="sklearn")
    data = registry.history("churn")[2].to_json()
    assert data["action"] == "alias_set"
    assert data["alias"] == "default"
    assert data["actor"] == "alice"
