"""`conveyor triggers create | list | show | fires | fire | pause | resume | delete`: output,
exit codes and messages, through the real entry point."""

import json
from pathlib import Path

import pytest
import typer

from conveyor.cli.triggers import app
from conveyor.pipelines.spec import load

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.py"
HELLO_JSON = json.dumps(dict(load(f"{HELLO}:hello_pipeline")))
DOC = (Path(__file__).parents[2] / "docs" / "automation.md").read_text()
COMMANDS = sorted(typer.main.get_command(app).commands)


@pytest.fixture
def hello(cli, tmp_path, monkeypatch):
    """hello@prod registered; the working folder holds data/spans with one file."""
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "spans").mkdir(parents=True)
    (tmp_path / "data" / "spans" / "old.csv").write_text("x\n1\n")
    (tmp_path / "hello.json").write_text(HELLO_JSON)
    done = cli("pipelines", "upload", "hello", "hello.json", "-t", "prod")
    assert done.code == 0, done.err
    return tmp_path


def json_of(outcome):
    assert outcome.code == 0, outcome.err
    return json.loads(outcome.out)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_and_is_documented(cli, command):
    shown = cli("triggers", command, "--help")
    assert shown.code == 0
    assert f"Example: conveyor triggers {command}" in " ".join(shown.out.split())
    assert f"`conveyor triggers {command}" in DOC


def test_a_new_data_trigger_from_create_to_delete(cli, hello):
    made = cli(
        "triggers", "create", "spans", "--on", "new-data", "--pattern", "data/spans/*.csv",
        "--parameter", "name", "--pipeline", "hello@prod", "-p", "sentence=one two",
    )  # fmt: skip
    assert made.code == 0, made.err
    pattern = f"{hello}/data/spans/*.csv"
    assert made.out.strip() == (
        f"Created trigger spans: run hello@prod on new data at {pattern} (as name)"
    )
    listed = cli("triggers", "list")
    assert "spans" in listed.out and "ACTIVE" in listed.out and "run hello@prod" in listed.out
    shown = json_of(cli("triggers", "show", "spans", "--json"))
    assert shown["event"]["pattern"] == pattern
    assert shown["request"]["pipeline_job"]["parameters"] == {"sentence": "one two"}
    assert [(f["state"], f["error"]) for f in shown["fires"]] == [
        ("SKIPPED", "present when the trigger was created")
    ]
    fires = cli("triggers", "fires", "spans")
    assert "old.csv" in fires.out and "SKIPPED" in fires.out
    assert cli("triggers", "pause", "spans").out.strip() == "Paused trigger spans: PAUSED"
    assert json_of(cli("triggers", "resume", "spans", "--json"))["state"] == "ACTIVE"
    assert cli("triggers", "delete", "spans", "--yes").out.strip() == "Deleted trigger spans"
    assert "No triggers yet" in cli("triggers", "list").out


def test_a_webhook_trigger_fired_from_the_command_line(cli, hello):
    made = cli(
        "triggers", "create", "retrain", "--on", "webhook", "--allow", "name",
        "--pipeline", "hello@prod", "--json",
    )  # fmt: skip
    assert json_of(made)["event"] == {"parameters": ["name"], "max_concurrent_run_count": 1}
    fired = cli("triggers", "fire", "retrain", "-p", "name=Ada", "--key", "b-1")
    assert fired.code == 0, fired.err
    assert fired.out.strip().endswith("of trigger retrain: QUEUED")
    again = json_of(cli("triggers", "fire", "retrain", "-p", "name=Ada", "--key", "b-1", "--json"))
    assert again["occurrence"] == "key:b-1" and again["event"]["parameters"] == {"name": "Ada"}
    assert len(json_of(cli("triggers", "fires", "retrain", "--json"))) == 1
    refused = cli("triggers", "fire", "retrain", "-p", "sentence=hi")
    assert refused.code == 2
    assert refused.err.startswith("error: parameters: 'sentence' is not one the trigger")


def test_the_other_kinds_take_their_options(cli, hello):
    after = cli(
        "triggers", "create", "after", "--on", "run-finished", "--after-pipeline", "prep",
        "--state", "SUCCEEDED", "--state", "FAILED", "--map", "name=Output",
        "--pipeline", "hello@prod", "--json",
    )  # fmt: skip
    assert json_of(after)["event"] == {
        "pipeline": "prep",
        "states": ["FAILED", "SUCCEEDED"],
        "parameters": {"name": "Output"},
        "max_concurrent_run_count": 1,
    }
    assert "runs of prep ending FAILED or SUCCEEDED" in cli("triggers", "list").out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--on", "cron"], "error: --on: 'cron' is not one of new-data"),
        (["--on", "webhook", "--pattern", "x"], "error: --pattern is for --on new-data triggers"),
        (["--on", "new-data", "--pattern", "data/spans/*.csv", "--parameter", "nope"],
         "error: request.pipeline_job.parameters: hello@1 has no parameter 'nope'"),
        (["--on", "new-data", "--pattern", "missing/*.csv", "--parameter", "name"],
         "error: event.pattern: the folder "),
        (["--on", "monitoring-alert", "--monitor", "nothing"], "error: event.monitor: "),
        (["--on", "webhook", "-p", "nope=1"], "error: -p: "),
        (["--on", "run-finished", "--after-pipeline", "a", "--map", "name"],
         "error: --map takes PARAMETER=OUTPUT, got 'name'"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_the_field(cli, hello, args, message):
    refused = cli("triggers", "create", "bad", "--pipeline", "hello@prod", *args)
    assert refused.code == 2, refused.out
    assert refused.err.startswith(message), refused.err
    assert json_of(cli("triggers", "list", "--json")) == []


def test_an_unknown_trigger_or_pipeline_exits_2(cli, hello):
    assert cli("triggers", "show", "nothing").err.startswith("error: no trigger 'nothing'")
    missing = cli("triggers", "create", "x", "--on", "webhook", "--pipeline", "nothing@prod")
    assert missing.code == 2
    cli("triggers", "create", "spans", "--on", "new-data", "--pattern", "data/spans/*",
        "--parameter", "name", "--pipeline", "hello@prod")  # fmt: skip
    not_a_hook = cli("triggers", "fire", "spans")
    assert not_a_hook.code == 2
    assert "only a webhook trigger is fired by a call" in not_a_hook.err
