"""`conveyor pipelines upload | list | show | versions | tag | untag | delete`, and
`conveyor run NAME@TAG` in a real process: output, exit codes and messages."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer

from conveyor.cli.pipelines import app

DOC = (Path(__file__).parents[2] / "docs" / "automation.md").read_text()
COMMANDS = sorted(typer.main.get_command(app).commands)

FLOWS = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component
    def double(n: int) -> int:
        return 2 * n

    @dsl.pipeline(name="doubler")
    def doubler(n: int = 2) -> int:
        return double(n=n).output

    @dsl.pipeline(name="doubler")
    def tripler(n: int = 3) -> int:
        return double(n=n).output
    """
)


@pytest.fixture
def flows(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows.py").write_text(FLOWS)
    return tmp_path / "flows.py"


def json_of(outcome):
    assert outcome.code == 0, outcome.err
    return json.loads(outcome.out)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_and_is_documented(cli, command):
    shown = cli("pipelines", command, "--help")
    assert shown.code == 0
    assert f"Example: conveyor pipelines {command}" in " ".join(shown.out.split())
    assert f"`conveyor pipelines {command}" in DOC


def test_upload_list_show_and_versions(cli, flows):
    done = cli(
        "pipelines", "upload", "train", "flows.py:doubler", "-t", "prod", "--description", "v1"
    )
    assert done.code == 0, done.err
    assert done.out.startswith("Registered train@1 [prod] from flows.py:doubler (spec sha256 ")
    again = cli("pipelines", "upload", "train", "flows.py:doubler", "--tag", "stable")
    assert again.out.strip() == "train@1 [prod, stable] has this spec already; no new version"
    second = json_of(cli("pipelines", "upload", "train", "flows.py:tripler", "--json"))
    assert (second["reference"], second["created"], second["created_by"]) == (
        "train@2",
        True,
        "dana",
    )
    assert second["default_parameters"] == {"n": 3}

    listed = cli("pipelines", "list")
    assert listed.out.split("\n")[0].split() == [
        "NAME",
        "LATEST",
        "TAGS",
        "UPDATED",
        "(UTC)",
        "DESCRIPTION",
    ]
    assert listed.out.split("\n")[1].split()[:4] == ["train", "2", "prod=1,", "stable=1"]
    assert json_of(cli("pipelines", "list", "--json"))[0]["tags"] == {"prod": 1, "stable": 1}

    whole = cli("pipelines", "show", "train")
    assert whole.out.startswith("Pipeline train\n  v1\n  tags: prod=1, stable=1\n")
    assert "flows.py:tripler" in whole.out
    one = cli("pipelines", "show", "train@prod")
    assert one.out.startswith("Version train@1\n  tags:         prod, stable\n  description:  v1\n")
    assert "    n = 2" in one.out
    spec = json_of(cli("pipelines", "show", "train@latest", "--spec"))
    assert spec["pipelineInfo"]["name"] == "doubler"
    both = json_of(cli("pipelines", "show", "train", "--json", "--spec"))
    assert [v["version"] for v in both["versions"]] == [2, 1]
    assert both["spec"] == spec
    assert [v["version"] for v in json_of(cli("pipelines", "versions", "train", "--json"))] == [
        2,
        1,
    ]
    table = cli("pipelines", "versions", "train").out.split("\n")
    assert table[1].split()[0] == "2" and table[2].split()[:3] == ["1", "prod,", "stable"]


def test_tag_untag_and_delete(cli, flows):
    cli("pipelines", "upload", "train", "flows.py:doubler", "-t", "prod")
    cli("pipelines", "upload", "train", "flows.py:tripler")
    assert cli("pipelines", "tag", "train@latest", "prod").out.strip() == "train@2 now holds prod"
    assert (
        cli("pipelines", "untag", "train", "prod").out.strip() == "Removed prod from pipeline train"
    )
    assert cli("pipelines", "delete", "train@2").out.strip() == "Deleted train@2"
    refused = cli("pipelines", "delete", "train")
    assert (refused.code, refused.err.strip()) == (
        2,
        "error: deleting pipeline train and all its versions needs --yes (or answer the "
        "question in a terminal)",
    )
    done = cli("pipelines", "delete", "train", "--yes")
    assert done.out.strip() == "Deleted pipeline train and its versions"
    assert cli("pipelines", "list").out.startswith("No pipelines yet")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nothing"], "error: no pipeline 'nothing'; `conveyor pipelines list` shows"),
        (["show", "train@7"], "error: pipeline 'train' has no version 7;"),
        (["show", "train@canary"], "error: pipeline 'train' has no tag 'canary';"),
        (["show", "train@"], "error: reference: 'train@' ends with '@'"),
        (["tag", "train@1", "latest"], "error: tag: tag 'latest' is not valid"),
        (["untag", "train", "canary"], "error: pipeline 'train' has no tag 'canary'"),
        (["delete", "train@prod"], "error: reference: name the version to delete by its number"),
        (["upload", "bad name", "flows.py:doubler"], "error: name: pipeline name 'bad name'"),
        (["upload", "train", "flows.py:nothing"], "error: flows.py has no function 'nothing'"),
        (["upload", "train", "flows.py:doubler", "-t", "1"], "error: tags: tag '1' is not valid"),
    ],
)
def test_bad_usage_exits_2_with_the_field(cli, flows, args, message):
    cli("pipelines", "upload", "train", "flows.py:doubler", "-t", "prod")
    failed = cli("pipelines", *args)
    assert failed.code == 2, failed.out
    assert failed.err.startswith(message), failed.err


def test_run_a_tag_records_the_version_it_ran(cli, flows):
    assert cli("pipelines", "upload", "train", "flows.py:doubler", "-t", "prod").code == 0
    assert cli("pipelines", "upload", "train", "flows.py:tripler").code == 0
    flows.unlink()  # the registered spec runs, not the file
    ran = subprocess.run(
        [sys.executable, "-m", "conveyor.cli.main", "run", "train@prod", "-p", "n=21", "--json"],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    outcome = json.loads(ran.stdout)
    assert (outcome["status"], outcome["outputs"]) == ("SUCCEEDED", {"Output": 42})
    shown = json_of(cli("runs", "show", outcome["run_id"], "--json"))
    assert shown["origin"] == {"pipeline_version": "train@1"}
    assert "  registered pipeline train@1\n" in cli("runs", "show", outcome["run_id"]).out
    missing = cli("run", "train@canary", "--executor", "inline")
    assert (missing.code, missing.err.strip()) == (
        2,
        "error: pipeline 'train' has no tag 'canary'; `conveyor pipelines show train` shows "
        "its tags",
    )
