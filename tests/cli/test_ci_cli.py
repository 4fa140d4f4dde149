"""`conveyor ci` through the real entry point: the table, `--json`, `--junit` (read back
with a JUnit parser), `--upload` and `--tag`, and the exit codes 0, 1 and 2."""

from __future__ import annotations

import json

import pytest
from junitparser import JUnitXml

from ci_support import GOOD, quick_pytest, sample_repository, write  # noqa: F401 (a fixture)
from conveyor.home import open_home


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """The sample repository, as the working folder."""
    root = sample_repository(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


def rows(out: str) -> list[list[str]]:
    """The table's rows, as cells."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in out.splitlines()
        if line.startswith("│")
    ]


def test_a_failing_pipeline_fails_the_run_and_its_junit_report(cli, repo):
    done = cli("ci", "--junit", "report.xml", "--upload")
    assert done.code == 1, done.err
    assert [row[:3] for row in rows(done.out)] == [
        [".", "tests", "passed"],
        ["pipelines/broken.py:broken", "compile", "failed"],
        ["pipelines/broken.py:broken", "sample run", "skipped"],
        ["pipelines/broken.py:broken", "diff", "skipped"],
        ["pipelines/good.py:doubler", "compile", "passed"],
        ["pipelines/good.py:doubler", "sample run", "passed"],
        ["pipelines/good.py:doubler", "diff", "passed"],
    ]
    assert "7 checks: 4 passed, 1 failed, 2 skipped" in done.out
    assert "nothing uploaded: a check failed" in done.err
    report = JUnitXml.fromfile(str(repo / "report.xml"))
    assert (report.tests, report.failures, report.skipped) == (7, 1, 2)
    cases = [(case.classname, case.name, case.is_passed) for suite in report for case in suite]
    assert ("pipelines/broken.py:broken", "compile", False) in cases
    assert ("pipelines/good.py:doubler", "sample run", True) in cases
    with open_home() as home:
        assert home.pipelines.list() == []


def test_a_passing_pipeline_as_json(cli, repo):
    done = cli("ci", "pipelines/good.py", "--json")
    assert done.code == 0, done.err
    shown = json.loads(done.out)
    assert shown["ok"] is True
    assert [(c["check"], c["result"], c["detail"]) for c in shown["checks"]] == [
        ("tests", "passed", shown["checks"][0]["detail"]),
        ("compile", "passed", "compiled as doubler"),
        (
            "sample run",
            "passed",
            "run succeeded (2 tasks); outputs found: double/Output, write/data, Output",
        ),
        ("diff", "passed", "new pipeline"),
    ]
    assert shown["pipelines"][0]["name"] == "doubler"
    assert shown["uploads"] == []


def test_upload_makes_versions_only_for_changes_and_moves_the_tag(cli, repo):
    (repo / "conveyor.toml").unlink()  # no sample runs: the upload is the point here
    done = cli("ci", "pipelines/good.py", "--upload")
    assert done.code == 0, done.err
    assert "uploaded doubler@1" in done.out

    done = cli("ci", "pipelines/good.py", "--upload", "--tag", "prod")
    assert done.code == 0, done.err
    assert ["pipelines/good.py:doubler", "diff", "passed", "unchanged since doubler@1"] in rows(
        done.out
    )
    assert "unchanged: doubler@1 (tags: prod)" in done.out

    write(repo / "pipelines" / "good.py", GOOD.replace("n: int = 2", "n: int = 5"))
    done = cli("ci", "pipelines/good.py", "--upload", "--tag", "prod", "--json")
    assert done.code == 0, done.err
    shown = json.loads(done.out)
    assert shown["checks"][-1]["detail"] == (
        "changed since doubler@1: parameters changed: n default 2 -> 5"
    )
    assert [(u["reference"], u["created"], u["tags"]) for u in shown["uploads"]] == [
        ("doubler@2", True, ["prod"])
    ]
    with open_home() as home:
        assert [v.version for v in home.pipelines.versions("doubler")] == [2, 1]
        assert home.pipelines.resolve("doubler@prod").version == 2


@pytest.mark.parametrize(
    "args, setup, message",
    [
        (["nowhere"], None, "error: PATH: no such file or folder: nowhere"),
        (["scripts"], None, "error: PATH: no pipelines found in scripts"),
        ([], "[ci]\npipelines = 3\n", 'ci.pipelines must be a list of "file.py:function"'),
        (
            ["--tag", "prod"],
            None,
            "error: --tag moves a tag as pipelines are uploaded: add --upload",
        ),
        (["--upload", "--tag", "7"], None, "error: --tag: tag '7' is not valid"),
        (["--junit", "no/such/report.xml"], None, "error: --junit: no such folder: no/such"),
    ],
)
def test_bad_usage_exits_2_with_a_message(cli, repo, args, setup, message):
    if setup is not None:
        (repo / "conveyor.toml").write_text(setup)
    done = cli("ci", *args)
    assert done.code == 2, done.out
    assert message in done.err
    assert done.out == ""
