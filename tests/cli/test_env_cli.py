"""`conveyor env list|show` and `--env` on commands: the chosen environment's home is used."""

import json
from pathlib import Path

import pytest

from conveyor.config import Settings
from conveyor.home import open_home

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.py"

ENVIRONMENTS = """
[env.staging]
home = "staging-home"
[env.prod]
metadata_url = "postgresql://bob:hunter2@db.example.com/prod?sslpassword=x&sslmode=require"
artifact_root = "s3://bucket/prod"
server_url = "https://conveyor.prod.example.com"
token_env = "CONVEYOR_PROD_TOKEN"
smtp_password_setting = "SMTP_SECRET"
[env.prod.gates]
min_metrics = { roc_auc = 0.8 }
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    (tmp_path / "conveyor.toml").write_text(ENVIRONMENTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_list_marks_the_selected_environment(cli, project, monkeypatch):
    listed = cli("env", "list")
    assert listed.code == 0, listed.err
    assert f"environments of {project / 'conveyor.toml'}" in listed.out
    rows = {
        line.split()[1] if line.split()[0] == "*" else line.split()[0]: line
        for line in listed.out.splitlines()[2:]
    }
    assert rows["dev"].split()[0] == "*"
    assert str(project / "staging-home") in rows["staging"]
    assert "bob:***@db.example.com" in rows["prod"] and "hunter2" not in listed.out
    monkeypatch.setenv("CONVEYOR_ENV", "staging")
    shown = json.loads(cli("env", "list", "--json").out)
    assert shown["selected"] == "staging"
    assert [e["name"] for e in shown["environments"] if e["selected"]] == ["staging"]
    assert json.loads(cli("--env", "prod", "env", "list", "--json").out)["selected"] == "prod"


def test_list_without_a_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    listed = json.loads(cli("env", "list", "--json").out)
    assert listed["config_file"] is None
    assert [e["name"] for e in listed["environments"]] == ["dev"]


def test_show_masks_secrets(cli, project, monkeypatch):
    monkeypatch.setenv("CONVEYOR_PROD_TOKEN", "t0ps3cret")
    monkeypatch.setenv("SMTP_SECRET", "mailpass")
    shown = cli("--env", "prod", "env", "show", "--json")
    assert shown.code == 0, shown.err
    assert (
        "hunter2" not in shown.out and "t0ps3cret" not in shown.out and "mailpass" not in shown.out
    )
    settings = json.loads(shown.out)
    assert settings["env"] == "prod"
    assert settings["metadata_url"] == (
        "postgresql://bob:***@db.example.com/prod?sslpassword=***&sslmode=require"
    )
    assert (settings["token_env"], settings["token_set"]) == ("CONVEYOR_PROD_TOKEN", True)
    assert settings["smtp_password_setting"] == "SMTP_SECRET"
    assert settings["gates"] == {
        "min_metrics": {"roc_auc": 0.8},
        "max_regression": {},
        "approval": False,
        "infra_validation": False,
        "monitoring": False,
    }
    table = cli("env", "show", "staging")
    assert table.code == 0 and str(project / "staging-home") in table.out


def test_an_unknown_environment_exits_2_naming_the_environments(cli, project):
    for args in (
        ["--env", "qa", "env", "show"],
        ["env", "show", "qa"],
        ["--env", "qa", "runs", "list"],
    ):
        failed = cli(*args)
        assert failed.code == 2
        assert "unknown environment 'qa'" in failed.err and "has dev, staging, prod" in failed.err


def test_a_bad_file_exits_2_naming_key_and_file(cli, project):
    (project / "conveyor.toml").write_text("[env.prod]\nmetadata_url = 42\n")
    failed = cli("env", "list")
    assert failed.code == 2
    assert f"{project / 'conveyor.toml'}: env.prod.metadata_url:" in failed.err


def test_a_run_in_a_chosen_environment_lands_in_its_store(cli, project, home):
    ran = cli("--env", "staging", "run", f"{HELLO}:hello_pipeline", "--executor", "inline")
    assert ran.code == 0, ran.err
    with open_home(settings=Settings.from_env(env="staging")) as staging:
        assert staging.settings.folder == project / "staging-home"
        assert [r.status for r in staging.store.list_runs()] == ["SUCCEEDED"]
    with open_home(settings=Settings.from_env(env="dev")) as dev:
        assert dev.settings.folder == home
        assert dev.store.list_runs() == []
