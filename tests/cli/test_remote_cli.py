"""`conveyor --env staging models ...` and `endpoints ...` against a real `conveyor serve`
(the environment's server_url, its token from token_env): the same output as the embedded
commands on the server's home, and clear errors (exit 2) for roles, tokens and what only
the store can do."""

from __future__ import annotations

import json

import pytest

from remote_support import ENDPOINT, TOKEN_VARIABLE, TOKENS, serving, write_config


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("remote-cli")) as running:
        yield running


@pytest.fixture
def staging(served, tmp_path, monkeypatch):
    """`--env staging` is the server; the default environment is the server's home itself."""
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, served.url)))
    monkeypatch.setenv("CONVEYOR_HOME", str(served.folder))
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["admin"])
    return served


def both(cli, *args: str) -> tuple[object, object]:
    """The JSON `conveyor --env staging ARGS --json` and `conveyor ARGS --json` print."""
    remote, embedded = cli("--env", "staging", *args, "--json"), cli(*args, "--json")
    assert (remote.code, embedded.code) == (0, 0), (remote.err, embedded.err)
    return json.loads(remote.out), json.loads(embedded.out)


@pytest.mark.parametrize(
    "args",
    [
        ("models", "list"),
        ("models", "show", "churn"),
        ("models", "show", "churn@production"),
        ("models", "history", "churn"),
        ("endpoints", "list"),
        ("endpoints", "show", ENDPOINT),
    ],
)
def test_reading_as_embedded(cli, staging, args):
    remote, embedded = both(cli, *args)
    assert remote == embedded


def test_moving_an_alias(cli, staging):
    moved = cli("--env", "staging", "models", "alias", "churn", "qa", "2", "--comment", "try")
    assert moved.code == 0 and moved.out.strip() == "churn@2 now holds qa"
    shown = json.loads(cli("models", "show", "churn@qa", "--json").out)
    assert shown["version_id"] == 2
    entry = json.loads(cli("models", "history", "churn", "--alias", "qa", "--json").out)[-1]
    assert (entry["actor"], entry["comment"]) == ("adminr", "try")
    removed = cli("--env", "staging", "models", "unalias", "churn", "qa")
    assert removed.code == 0 and removed.out.strip() == "Removed qa from churn@2"


def test_deploying_and_moving_traffic(cli, staging):
    assert cli("--env", "staging", "endpoints", "create", "cli-remote").code == 0
    deployed = cli("--env", "staging", "endpoints", "deploy", "cli-remote", "churn@2")
    assert deployed.code == 0, deployed.err
    assert (
        deployed.out.strip()
        == "Deployed churn@2 to cli-remote as deployed model 2; traffic: 2=100%"
    )
    again = cli("--env", "staging", "endpoints", "deploy", "cli-remote", "churn@1")
    assert again.code == 0, again.err
    moved = cli("--env", "staging", "endpoints", "traffic", "cli-remote", "2=40", "3=60")
    assert moved.out.strip() == "cli-remote traffic: 2=40%, 3=60%"
    shown = json.loads(cli("endpoints", "show", "cli-remote", "--json").out)
    assert shown["traffic_split"] == {"2": 40, "3": 60}
    assert cli("--env", "staging", "endpoints", "undeploy", "cli-remote", "2").code == 0
    assert cli("--env", "staging", "endpoints", "undeploy", "cli-remote", "3").code == 0
    assert cli("--env", "staging", "endpoints", "delete", "cli-remote").code == 0
    assert cli("endpoints", "show", "cli-remote").code == 2


def test_errors(cli, staging, tmp_path, monkeypatch):
    missing = cli("--env", "staging", "models", "show", "churn@9")
    assert missing.code == 2
    assert missing.err == cli("models", "show", "churn@9").err
    local = cli(
        "--env", "staging", "models", "upload", "churn", str(tmp_path), "--framework", "sklearn"
    )
    assert local.code == 2 and "s3://" in local.err and "environment 'staging'" in local.err
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["read"])
    denied = cli("--env", "staging", "endpoints", "deploy", ENDPOINT, "churn@2")
    assert denied.code == 2 and "needs deploy" in denied.err and TOKENS["read"] not in denied.err
    monkeypatch.delenv(TOKEN_VARIABLE)
    unset = cli("--env", "staging", "models", "list")
    assert unset.code == 2 and f"{TOKEN_VARIABLE}, which is not set" in unset.err


def test_an_environment_with_a_store_runs_commands_there(cli, served, tmp_path, monkeypatch):
    """`prod` declares its home beside its server: the registry goes over REST (a reader
    may not change it), the runs, which have no route, are read from the home."""
    prod = f'[env.prod]\nhome = "{served.folder}"\nserver_url = "{served.url}"\n'
    prod += f'token_env = "{TOKEN_VARIABLE}"\n'
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, served.url, prod)))
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["read"])
    runs = cli("--env", "prod", "runs", "list", "--json")
    assert runs.code == 0 and json.loads(runs.out) == {"runs": []}
    denied = cli("--env", "prod", "models", "alias", "churn", "qa", "2")
    assert denied.code == 2 and "needs admin" in denied.err


def test_a_rollout_on_a_remote_server(cli, staging, monkeypatch):
    remote = ("--env", "staging", "endpoints")
    assert cli(*remote, "create", "cli-rollout").code == 0
    assert cli(*remote, "deploy", "cli-rollout", "churn@1").code == 0
    started = cli(*remote, "rollout", "cli-rollout", "churn@2", "--steps", "25,100", "--json")
    assert started.code == 0, started.err
    rollout = json.loads(started.out)
    assert (rollout["state"], rollout["weight"]) == ("progressing", 25)
    shown, embedded = both(cli, "endpoints", "show", "cli-rollout")
    for answer in (shown, embedded):  # the server's controller judges it meanwhile
        del answer["rollout"]["updated_at"]
    assert shown == embedded and shown["rollout"]["id"] == rollout["id"]
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["read"])
    denied = cli(*remote, "abort", "cli-rollout")
    assert denied.code == 2 and "needs deploy" in denied.err
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["deploy"])
    aborted = cli(*remote, "abort", "cli-rollout", "--reason", "remote test", "--json")
    assert json.loads(aborted.out)["state"] == "aborted"
    listed, local = both(cli, "endpoints", "rollouts", "cli-rollout")
    assert listed == local and listed[0]["message"] == "remote test"
