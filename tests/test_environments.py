"""`conveyor.toml`'s environments: which file, which environment, what wins, what is wrong."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.config import Settings, selecting_env
from conveyor.errors import UsageError

ENVIRONMENTS = """
default_env = "dev"
[env.dev]
[env.staging]
home = "staging-home"
user = "stella"
[env.prod]
home = "prod-home"
metadata_url = "sqlite:///prod.db"
artifact_root = "s3://bucket/prod"
server_url = "https://conveyor.prod.example.com"
token_env = "CONVEYOR_PROD_TOKEN"
allowed_artifact_roots = ["models"]
smtp_port = 587
[env.prod.gates]
min_metrics = { roc_auc = 0.8 }
max_regression = { roc_auc = 0.005 }
approval = true
[ci]
pipelines = ["pipelines/train.py:train"]
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project folder with the environments above, and the working folder below it."""
    root = tmp_path / "project"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "conveyor.toml").write_text(ENVIRONMENTS)
    monkeypatch.chdir(root / "sub" / "deeper")
    return root


def test_no_file_is_the_embedded_dev(tmp_path, monkeypatch, home):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env()
    assert (settings.env, settings.config_file, settings.folder) == ("dev", None, home)
    assert settings.gates is None and settings.server_url is None


def test_the_file_is_found_in_a_parent_of_the_working_folder(project):
    assert Settings.from_env().config_file == project / "conveyor.toml"
    staging = Settings.from_env(env="staging")
    assert staging.folder == project / "staging-home"
    assert staging.metadata_url == f"sqlite:///{project / 'staging-home' / 'metadata.db'}"


def test_conveyor_config_names_the_file_and_empty_names_none(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env().config_file is None
    monkeypatch.setenv("CONVEYOR_CONFIG", str(project / "conveyor.toml"))
    assert Settings.from_env(env="prod").config_file == project / "conveyor.toml"
    monkeypatch.chdir(project)
    monkeypatch.setenv("CONVEYOR_CONFIG", "")
    assert Settings.from_env().config_file is None
    monkeypatch.setenv("CONVEYOR_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(UsageError, match="CONVEYOR_CONFIG=.*missing.toml.*no such file"):
        Settings.from_env()


def test_selection_argument_then_cli_then_variable_then_default(project, monkeypatch):
    assert Settings.from_env().env == "dev"
    monkeypatch.setenv("CONVEYOR_ENV", "staging")
    assert Settings.from_env().env == "staging"
    with selecting_env("prod"):
        assert Settings.from_env().env == "prod"
        assert Settings.from_env(env="dev").env == "dev"
    assert Settings.from_env().env == "staging"


def test_the_default_env_of_the_file(project):
    (project / "conveyor.toml").write_text('default_env = "qa"\n[env.qa]\nhome = "qa"\n')
    assert Settings.from_env().folder == project / "qa"
    assert Settings.from_env(env="dev").env == "dev"  # dev is always there


def test_declared_values_win_then_variables_then_defaults(project, monkeypatch):
    monkeypatch.setenv("CONVEYOR_USER", "vic")
    monkeypatch.setenv("CONVEYOR_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("CONVEYOR_METADATA_URL", "sqlite:////elsewhere.db")
    staging = Settings.from_env(env="staging")
    assert staging.user == "stella"  # declared
    assert staging.smtp_host == "mail.example.com"  # a variable, not declared
    assert staging.metadata_url == "sqlite:////elsewhere.db"
    assert staging.smtp_port == 25  # neither: the default
    prod = Settings.from_env(env="prod")
    assert prod.metadata_url == f"sqlite:///{project / 'prod.db'}"  # from the file's folder
    assert prod.artifact_root == "s3://bucket/prod"
    assert prod.allowed_artifact_roots == (str(project / "models"),)
    assert (prod.server_url, prod.token_env, prod.smtp_port) == (
        "https://conveyor.prod.example.com",
        "CONVEYOR_PROD_TOKEN",
        587,
    )
    assert prod.gates is not None and prod.gates.min_metrics == {"roc_auc": 0.8}
    assert prod.gates.max_regression == {"roc_auc": 0.005} and prod.gates.approval


def test_a_folder_given_names_one_home_and_reads_no_file(project, tmp_path):
    settings = Settings.from_env(tmp_path / "throwaway", environ={})
    assert (settings.env, settings.config_file) == ("dev", None)
    chosen = Settings.from_env(tmp_path / "mine", env="prod")
    assert chosen.folder == tmp_path / "mine" and chosen.artifact_root == "s3://bucket/prod"


def test_an_unknown_environment_names_those_the_file_has(project, tmp_path, monkeypatch):
    with pytest.raises(
        UsageError, match=r"unknown environment 'qa': .*conveyor.toml has dev, staging, prod"
    ):
        Settings.from_env(env="qa")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="unknown environment 'qa': no conveyor.toml"):
        Settings.from_env(env="qa")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[env.prod]\ncolour = "blue"', "env.prod.colour: unknown key"),
        ("[env.prod]\nmetadata_url = 42", "env.prod.metadata_url: Input should be a valid string"),
        ('[env.prod]\nmetadata_url = "prod.db"', "env.prod.metadata_url: String should match"),
        ('[env.prod]\nsmtp_port = "25"', "env.prod.smtp_port: Input should be a valid integer"),
        ("[env.prod]\nsmtp_port = 70000", "env.prod.smtp_port: Input should be less than"),
        (
            '[env.prod]\nexecutor = "k8s"',
            "env.prod.executor: Input should be 'local', 'inline' or 'ray'",
        ),
        ('[env.prod]\ntoken_env = "my token"', "env.prod.token_env: String should match"),
        ('[env.prod.gates]\nmin_metrics = { auc = "high" }', "env.prod.gates.min_metrics.auc"),
        ("[env.prod.gates]\nmax_regression = { auc = -1 }", "env.prod.gates.max_regression.auc"),
        ("[env.prod.gates]\nsoon = true", "env.prod.gates.soon: unknown key"),
        ("[env]\nprod = 3", "env.prod: Input should be a valid dictionary"),
        ('default_env = "qa"', "default_env: 'qa' is not an environment of the file"),
        ("nonsense = 1", "nonsense: unknown key"),
        ("[env.prod", "not valid TOML"),
    ],
)
def test_a_wrong_key_or_value_names_the_key_and_the_file(project, table, message):
    (project / "conveyor.toml").write_text(table + "\n")
    with pytest.raises(UsageError) as raised:
        Settings.from_env()
    assert f"{project / 'conveyor.toml'}: {message}" in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_child_process_resolves_the_same_settings(project, tmp_path, monkeypatch):
    """A run's tasks get `to_env()` and may start in another folder."""
    monkeypatch.setenv("CONVEYOR_SMTP_HOST", "mail.example.com")
    for name in ("dev", "prod"):
        settings = Settings.from_env(env=name)
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "from conveyor.config import Settings; print(repr(Settings.from_env()))",
            ],
            cwd=tmp_path,
            env={**os.environ, **settings.to_env()},
            capture_output=True,
            text=True,
            check=True,
        )
        assert child.stdout.strip() == repr(settings)


PID_PIPELINE = """
from kfp import dsl


@dsl.component
def pid() -> int:
    import os

    return os.getpid()


@dsl.pipeline(name="where")
def where() -> int:
    return pid().output
"""


def test_the_environment_s_executor_runs_the_pipeline(tmp_path, monkeypatch):
    """`executor = "inline"` in an environment: its runs run components in this process,
    unless a run asks for another executor."""
    import conveyor
    from conveyor.home import open_home

    root = tmp_path / "inline-project"
    root.mkdir()
    (root / "conveyor.toml").write_text('[env.debug]\nhome = "h"\nexecutor = "inline"\n')
    (root / "where.py").write_text(PID_PIPELINE)
    monkeypatch.chdir(root)
    with selecting_env("debug"), open_home() as home:
        assert home.settings.executor == "inline"
        inline = conveyor.run(f"{root / 'where.py'}:where", home=home)
        local = conveyor.run(
            f"{root / 'where.py'}:where", home=home, executor="local", enable_caching=False
        )
    assert inline.outputs["Output"] == os.getpid()
    assert local.outputs["Output"] != os.getpid()


def test_an_environment_declares_its_cloud_storage_root(tmp_path):
    (tmp_path / "conveyor.toml").write_text('[env.laptop]\ngcs_root = "gcs"\n')
    settings = Settings.from_env(
        environ={"CONVEYOR_CONFIG": str(tmp_path / "conveyor.toml")}, env="laptop"
    )
    assert settings.gcs_root == str(tmp_path / "gcs")
