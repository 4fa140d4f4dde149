"""`conveyor endpoints create | list | show | deploy | undeploy | traffic | delete` and
`conveyor serve`'s checks: output, exit codes and messages through the real entry point."""

import json
import shutil

import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conveyor.registry import Registry
from conveyor.store.metadata import MetadataStore

COMMANDS = ["create", "list", "show", "deploy", "undeploy", "traffic", "delete"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    features, target = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, target)
    skops.io.dump(model, root / "model.skops")
    return root


@pytest.fixture
def iris(saved, tmp_path, monkeypatch):
    """Model iris with versions 1 (default, production) and 2 (candidate)."""
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    with MetadataStore.open() as store:
        registry = Registry(store)
        for n, alias in ((1, "production"), (2, "candidate")):
            folder = tmp_path / f"v{n}"
            shutil.copytree(saved, folder)
            registry.upload("iris", folder, framework="sklearn", aliases=[alias])


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_in_its_help(cli, command):
    outcome = cli("endpoints", command, "--help")
    assert outcome.code == 0
    text = " ".join(outcome.out.split()).replace("│", "")
    assert "Example: conveyor endpoints " + command in " ".join(text.split())


def test_serve_has_an_example_in_its_help(cli):
    outcome = cli("serve", "--help")
    assert outcome.code == 0
    assert "Example: conveyor serve --host 0.0.0.0" in " ".join(
        outcome.out.replace("│", "").split()
    )


def test_create_list_show(cli):
    made = cli(
        "endpoints",
        "create",
        "churn-prod",
        "--description",
        "scores",
        "-l",
        "team=growth",
        "--log-sample-rate",
        "0.1",
    )
    assert (made.code, made.out) == (0, "Created endpoint churn-prod\n")
    listed = cli("endpoints", "list")
    assert listed.code == 0
    assert listed.out.splitlines()[1].split()[:2] == ["churn-prod", "-"]
    shown = cli("endpoints", "show", "churn-prod")
    assert shown.code == 0
    assert "  description:    scores" in shown.out
    assert "  labels:         team=growth" in shown.out
    assert "  prediction log: 0.1 of requests" in shown.out
    assert "nothing deployed" in shown.out
    data = json.loads(cli("endpoints", "show", "churn-prod", "--json").out)
    assert (data["name"], data["labels"], data["log_sample_rate"]) == (
        "churn-prod",
        {"team": "growth"},
        0.1,
    )
    assert json.loads(cli("endpoints", "list", "--json").out)[0]["name"] == "churn-prod"


def test_no_endpoints_yet(cli):
    assert (
        cli("endpoints", "list").out
        == "No endpoints yet: `conveyor endpoints create NAME` makes one.\n"
    )


def test_deploy_undeploy_and_traffic(cli, iris):
    cli("endpoints", "create", "e")
    first = cli("endpoints", "deploy", "e", "iris@production")
    assert (first.code, first.out) == (
        0,
        "Deployed iris@production (version 1) to e as deployed model 1; traffic: 1=100%\n",
    )
    second = cli("endpoints", "deploy", "e", "iris@2", "--traffic-percentage", "10")
    assert second.out == "Deployed iris@2 to e as deployed model 2; traffic: 1=90%, 2=10%\n"
    third = cli(
        "endpoints", "deploy", "e", "iris@candidate", "--pin", "-s", "0=50", "-s", "1=50", "--json"
    )
    data = json.loads(third.out)
    assert (data["id"], data["alias"], data["version_id"]) == ("3", None, 2)
    assert data["traffic_split"] == {"1": 50, "2": 0, "3": 50}
    shown = cli("endpoints", "show", "e").out
    rows = {line.split()[0]: line.split()[1:] for line in shown.splitlines()[-3:]}
    assert rows["1"][:6] == ["iris@production", "version", "1", "(follows", "production)", "50%"]
    assert rows["2"][:5] == ["iris@2", "version", "2", "(pinned)", "0%"]
    assert rows["3"][:5] == ["iris@2", "version", "2", "(pinned)", "50%"]
    assert rows["3"][-1] == "dana"
    assert (
        cli("endpoints", "traffic", "e", "1=20", "2=30", "3=50").out
        == "e traffic: 1=20%, 2=30%, 3=50%\n"
    )
    gone = cli("endpoints", "undeploy", "e", "3")
    assert gone.out == "Undeployed 3 from e; traffic: 1=40%, 2=60%\n"
    listed = cli("endpoints", "list").out
    assert "1: iris@production (version 1) 40%, 2: iris@2 60%" in listed


def test_bad_input_exits_2_with_a_clear_message(cli, iris):
    def error(*args):
        outcome = cli("endpoints", *args)
        assert outcome.code == 2, outcome
        assert outcome.out == ""
        return outcome.err.strip()

    assert error("create", "Bad_Name").startswith("error: endpoint name 'Bad_Name' is not valid")
    assert error("create", "e", "--label", "team") == "error: --label takes key=value, got 'team'"
    assert error("create", "e", "--log-sample-rate", "2").startswith(
        "error: log sample rate 2.0 must be"
    )
    cli("endpoints", "create", "e")
    assert error("create", "e").startswith("error: endpoint 'e' already exists")
    assert error("show", "nowhere").startswith("error: no endpoint 'nowhere'")
    assert error("deploy", "nowhere", "iris").startswith("error: no endpoint 'nowhere'")
    assert error("deploy", "e", "nobody").startswith("error: no model 'nobody'")
    assert error("deploy", "e", "iris@9").startswith("error: ")
    assert error("deploy", "e", "iris@2", "--traffic-percentage", "50").startswith(
        "error: no other deployed model of the endpoint takes traffic"
    )
    assert error("deploy", "e", "iris", "-s", "0=x") == (
        "error: the traffic split takes ID=PERCENT with a whole number, got 0=x"
    )
    assert error("deploy", "e", "iris", "-s", "0=60") == (
        "error: the traffic split must add up to 100, not 60 (0=60); for example 0=100"
    )
    assert error("undeploy", "e", "7").startswith("error: endpoint 'e' has no deployed model '7'")
    cli("endpoints", "deploy", "e", "iris")
    assert error("traffic", "e", "1=90").startswith(
        "error: the traffic split must add up to 100, not 90"
    )
    assert error("delete", "e").startswith("error: endpoint 'e' still serves deployed models")


def test_delete(cli):
    cli("endpoints", "create", "e")
    assert cli("endpoints", "delete", "e").out == "Deleted endpoint e\n"
    assert cli("endpoints", "list", "--json").out.strip() == "[]"


def test_serve_refuses_bad_options(cli):
    outcome = cli("serve", "--workers", "0")
    assert (outcome.code, outcome.err.strip()) == (2, "error: --workers must be at least 1, not 0")
    outcome = cli("serve", "--log-sample-rate", "3")
    assert outcome.code == 2
    assert "the prediction log sample rate must be from 0 to 1, not 3.0" in outcome.err
    outcome = cli("serve", "--tokens", "/nonexistent/tokens")
    assert (outcome.code, outcome.err.strip()) == (
        2,
        "error: cannot read the tokens file /nonexistent/tokens: No such file or directory",
    )
