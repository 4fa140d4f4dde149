"""`conveyor endpoints rollout | rollouts | pause | resume | abort`, and the rollout in
`conveyor endpoints show`, through the real entry point (the analysis itself runs in a
server: test_rollout_server.py)."""

import json
import shutil

import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conveyor.registry import Registry
from conveyor.store.metadata import MetadataStore

COMMANDS = ["rollout", "rollouts", "pause", "resume", "abort"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    features, target = load_iris(return_X_y=True)
    skops.io.dump(LogisticRegression(max_iter=500).fit(features, target), root / "model.skops")
    return root


@pytest.fixture
def serving(cli, saved, tmp_path, monkeypatch):
    """iris@1 (production) serving all of endpoint e; iris@2 registered."""
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    with MetadataStore.open() as store:
        registry = Registry(store)
        for n, alias in ((1, "production"), (2, "candidate")):
            folder = tmp_path / f"v{n}"
            shutil.copytree(saved, folder)
            registry.upload("iris", folder, framework="sklearn", aliases=[alias])
    cli("endpoints", "create", "e")
    cli("endpoints", "deploy", "e", "iris@production")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_rollout_command_has_an_example_in_its_help(cli, command):
    outcome = cli("endpoints", command, "--help")
    assert outcome.code == 0
    assert "Example: conveyor endpoints " + command in " ".join(outcome.out.split())


def test_start_show_pause_resume_and_abort(cli, serving):
    started = cli(
        "endpoints", "rollout", "e", "iris@2", "--steps", "10,50,100", "--interval", "5m",
        "--max-error-rate", "2%", "--max-p99-ms", "50", "--failure-limit", "3",
    )  # fmt: skip
    assert started.code == 0, started.err
    assert started.out.startswith("Rollout 1 on e: iris@2 as deployed model 2, step 1 of 3 at 10%;")
    shown = cli("endpoints", "show", "e")
    assert "rollout 1 (canary) of iris@2: progressing, step 1 of 3 at 10%" in shown.out
    data = json.loads(cli("endpoints", "show", "e", "--json").out)
    assert data["rollout"]["criteria"]["max_error_rate"] == 0.02
    assert data["rollout"]["interval_seconds"] == 300 and data["traffic_split"] == {
        "1": 90,
        "2": 10,
    }
    assert "paused" in cli("endpoints", "pause", "e").out
    assert "progressing" in cli("endpoints", "resume", "e").out
    aborted = cli("endpoints", "abort", "e", "--reason", "not today", "--json")
    assert json.loads(aborted.out)["state"] == "aborted"
    listed = cli("endpoints", "rollouts", "e")
    assert listed.out.splitlines()[1].split()[:6] == [
        "1", "iris@2", "canary", "aborted", "1/3", "0%",
    ]  # fmt: skip
    assert "Rollout 1: not today" in listed.out
    history = cli("models", "history", "iris").out
    assert "rollout 1 of 2 on e started" in history and "rollout 1 of 2 on e aborted" in history


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--steps", "10,50"], "must end at 100"),
        (["--steps", "ten"], "--steps takes whole percentages"),
        (["--max-error-rate", "lots"], "--max-error-rate takes a percentage"),
        (["--interval", "soon"], "--interval"),
        (["--strategy", "shadow", "--steps", "10,100"], "takes no steps"),
    ],
)
def test_bad_rollouts_exit_2_and_move_nothing(cli, serving, args, words):
    outcome = cli("endpoints", "rollout", "e", "iris@2", *args)
    assert outcome.code == 2 and words in outcome.err
    assert json.loads(cli("endpoints", "show", "e", "--json").out)["traffic_split"] == {"1": 100}


def test_nothing_to_pause_and_a_second_rollout(cli, serving):
    assert cli("endpoints", "pause", "e").code == 2
    assert cli("endpoints", "rollouts", "e").out == "No rollouts on e yet.\n"
    assert cli("endpoints", "rollout", "e", "iris@2", "--steps", "50,100").code == 0
    again = cli("endpoints", "rollout", "e", "iris@2", "--steps", "50,100")
    assert again.code == 2 and "already has rollout 1" in again.err
