"""`conveyor models promote` and `approve` between two SQLite environments of a conveyor.toml;
a version promoted again (exit 0, nothing moved), and `conveyor lineage` in the target
leading back to the source."""

import json
from pathlib import Path

import pytest

from conveyor.config import Settings
from conveyor.home import open_home

ENVIRONMENTS = """
[env.dev]
home = "dev-home"
[env.prod]
home = "prod-home"
[env.prod.gates]
min_metrics = { roc_auc = 0.8 }
approval = true
[env.same]
home = "same-home"
metadata_url = "sqlite:///dev-home/metadata.db"
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    (tmp_path / "conveyor.toml").write_text(ENVIRONMENTS)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "predictor.py").write_text("# a predictor\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    return tmp_path


def test_promote_through_the_gates_and_show_where_it_came_from(cli, project):
    uploaded = cli("--env", "dev", "models", "upload", "churn", "model", "--framework", "custom")
    assert uploaded.code == 0, uploaded.err
    with open_home(settings=Settings.from_env(env="dev")) as dev:
        dev.registry.add_evaluation("churn", 1, {"roc_auc": 0.9})

    dry = cli("models", "promote", "churn@1", "--from", "dev", "--to", "prod", "--dry-run")
    assert dry.code == 0, dry.err
    assert "min_metrics.roc_auc  pass     roc_auc 0.9 >= 0.8" in dry.out
    assert "approval             FAIL     no approval of dev churn@1" in dry.out
    assert "Dry run: dev churn@1 would be refused to prod; nothing moved" in dry.out

    refused = cli("--env", "dev", "models", "promote", "churn@1", "--to", "prod")
    assert refused.code == 2
    assert "error: promotion of dev churn@1 to prod refused: approval: no approval" in refused.err

    approved = cli(
        "models", "approve", "churn@1", "--from", "dev", "--to", "prod", "--reason", "reviewed"
    )
    assert approved.code == 0, approved.err
    assert approved.out.startswith("Approved dev churn@1 (sha256 ")
    assert " for prod by dana at " in approved.out

    promoted = cli(
        "--env",
        "dev",
        "models",
        "promote",
        "churn@1",
        "--to",
        "prod",
        "--alias",
        "production",
        "--json",
    )
    assert promoted.code == 0, promoted.err
    result = json.loads(promoted.out)
    assert (result["promoted"], result["target_version"], result["alias"]) == (
        True,
        1,
        "production",
    )

    again = cli(
        "models", "promote", "churn@1", "--from", "dev", "--to", "prod", "--alias", "canary"
    )
    assert again.code == 0, again.err
    assert again.out.startswith(
        "Already promoted: dev churn@1 is prod churn@1 [default, production]; nothing moved\n"
    )
    assert (
        "The alias canary stays where it is: `conveyor --env prod models alias churn canary 1` "
        "moves it" in again.out
    )
    again = cli("models", "promote", "churn@1", "--from", "dev", "--to", "prod", "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["already"] is True

    with open_home(settings=Settings.from_env(env="dev")) as dev:
        source = dev.registry.get_version("churn@1").artifact_id
    with open_home(settings=Settings.from_env(env="prod")) as prod:
        copy = prod.registry.get_version("churn@1").artifact_id
    shown = cli("--env", "prod", "models", "show", "churn@production")
    assert "origin:         promoted from dev: churn@1" in shown.out
    assert f"origin lineage: conveyor --env dev lineage {source}" in shown.out
    lineage = cli("--env", "prod", "lineage", str(copy))
    assert lineage.code == 0, lineage.err
    assert (
        f"promoted from dev: churn@1  artifact {source}  (conveyor --env dev lineage {source})"
        in lineage.out
    )
    assert "made outside any run" not in lineage.out
    history = cli("--env", "prod", "models", "history", "churn").out
    assert "promotion of dev churn@1 refused: approval" in history
    assert "promotion of dev churn@1 approved" in history and "reviewed" in history
    assert "version 1 promoted from dev: churn@1" in history

    same = cli("models", "promote", "churn@1", "--from", "dev", "--to", "same")
    assert same.code == 2
    assert "use the same metadata store" in same.err
    unknown = cli("models", "promote", "churn@1", "--to", "qa")
    assert unknown.code == 2 and "unknown environment 'qa'" in unknown.err
