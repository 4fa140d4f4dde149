"""`conveyor.automation.ci`: finding a repository's pipelines, their checks (compile, tests,
sample run, diff), the upload, and the JUnit report, on sample repositories and real homes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped

from ci_support import GOOD, quick_pytest, sample_repository, write  # noqa: F401 (a fixture)
from conveyor.automation import ci, junit
from conveyor.automation.ci_targets import Profile, find_repositories
from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.spec_diff import SpecDiff
from conveyor.config import Settings
from conveyor.home import open_home

FAILING = """
from kfp import dsl


@dsl.component
def explode(n: int) -> int:
    raise ValueError(f"cannot handle {n}")


@dsl.pipeline(name="exploder")
def exploder(n: int = 2) -> int:
    return explode(n=n).output
"""


def open_sandbox(settings: Settings):
    return open_home(settings=settings)


def run_checks(root: Path, home, *paths: Path) -> ci.Report:
    return ci.check(
        find_repositories(paths or [root]),
        registry=home.pipelines,
        open_home=open_sandbox,
        where=root,
    )


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The sample repository, checked once in a home of its own: (report, repository, home
    folder)."""
    folder = tmp_path_factory.mktemp("ci")
    repo = sample_repository(folder / "repo")
    with (
        pytest.MonkeyPatch.context() as patch,
        open_home(settings=Settings.from_env(folder / "home", environ={})) as home,
    ):
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as quick_pytest does
        return run_checks(repo, home), repo, folder / "home"


@pytest.fixture
def repo(tmp_path):
    return sample_repository(tmp_path / "repo")


def test_the_search_finds_decorated_pipelines_and_skips_tests_hidden_and_venv(repo):
    [repository] = find_repositories([repo])
    assert repository.root == repo.resolve()
    assert [t.label for t in repository.targets] == [
        "pipelines/broken.py:broken",
        "pipelines/good.py:doubler",
    ]
    assert repository.targets[0].profile is None
    assert repository.targets[1].profile == Profile(
        {"n": 3}, ("double/Output", "write/data", "Output")
    )
    assert repository.tests == repo.resolve() / "tests"


def test_a_path_inside_the_repository_finds_its_root_and_profiles(repo):
    [repository] = find_repositories([repo / "pipelines" / "good.py", repo / "pipelines"])
    assert repository.root == repo.resolve()
    assert [t.label for t in repository.targets] == [
        "pipelines/good.py:doubler",
        "pipelines/broken.py:broken",
    ]
    assert repository.targets[0].profile is not None


def test_the_list_in_conveyor_toml_replaces_the_search(repo):
    write(repo / "conveyor.toml", '[ci]\npipelines = ["pipelines/good.py:doubler"]\n')
    [repository] = find_repositories([repo])
    assert [t.label for t in repository.targets] == ["pipelines/good.py:doubler"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[ci\n", "conveyor.toml: not valid TOML"),
        ("ci = 3\n", "ci must be a table"),
        ("[ci]\npipeline = []\n", "ci.pipeline is not a CI setting"),
        (
            '[ci]\npipelines = ["good.py"]\n',
            """ci.pipelines: 'good.py' is not a "file.py:function\"""",
        ),
        ('[ci]\npipelines = ["missing.py:fn"]\n', "ci.pipelines: no such file: missing.py"),
        (
            '[ci.profiles."pipelines/good.py:doubler"]\noutputs = "Output"\n',
            'ci.profiles."pipelines/good.py:doubler".outputs must be a list',
        ),
        (
            '[ci.profiles."pipelines/good.py:doubler"]\nparams = {n = 1}\n',
            'ci.profiles."pipelines/good.py:doubler".params is not a profile setting',
        ),
        (
            '[ci.profiles."pipelines/good.py:other"]\n',
            "names no @dsl.pipeline function 'other' in pipelines/good.py",
        ),
    ],
)
def test_a_bad_conveyor_toml_is_refused_naming_the_key(repo, text, message):
    (repo / "conveyor.toml").write_text(text)
    with pytest.raises(AutomationUsageError, match=re.escape(message)):
        find_repositories([repo])


def test_a_missing_path_and_a_path_without_pipelines_are_refused(repo):
    with pytest.raises(AutomationUsageError, match="PATH: no such file or folder: nowhere"):
        find_repositories(["nowhere"])
    with pytest.raises(AutomationUsageError, match="PATH: no pipelines found in .*scripts"):
        find_repositories([repo / "scripts"])


def test_each_check_of_the_sample_repository(checked):
    report, _repo, _home = checked
    assert [(c.pipeline, c.check, c.result) for c in report.checks] == [
        (".", "tests", "passed"),
        ("pipelines/broken.py:broken", "compile", "failed"),
        ("pipelines/broken.py:broken", "sample run", "skipped"),
        ("pipelines/broken.py:broken", "diff", "skipped"),
        ("pipelines/good.py:doubler", "compile", "passed"),
        ("pipelines/good.py:doubler", "sample run", "passed"),
        ("pipelines/good.py:doubler", "diff", "passed"),
    ]
    details = {(c.pipeline, c.check): c.detail for c in report.checks}
    assert details[(".", "tests")].startswith("1 passed")
    assert "broken.py failed" in details[("pipelines/broken.py:broken", "compile")]
    assert "Incompatible argument" in details[("pipelines/broken.py:broken", "compile")]
    assert details[("pipelines/good.py:doubler", "compile")] == "compiled as doubler"
    assert details[("pipelines/good.py:doubler", "sample run")] == (
        "run succeeded (2 tasks); outputs found: double/Output, write/data, Output"
    )
    assert details[("pipelines/good.py:doubler", "diff")] == "new pipeline"
    assert not report.ok
    assert [c.check for c in report.failed] == ["compile"]


def test_the_sample_run_and_the_tests_leave_the_home_alone(checked):
    _report, repo, home_folder = checked
    with open_home(settings=Settings.from_env(home_folder, environ={})) as home:
        assert home.store.list_runs() == []
        assert home.pipelines.list() == []
    assert not (repo / ".conveyor").exists()


def test_the_junit_report_counts_cases_failures_and_skips(checked, tmp_path):
    report, _repo, _home = checked
    junit.write(report, tmp_path / "report.xml")
    parsed = JUnitXml.fromfile(str(tmp_path / "report.xml"))
    assert (parsed.tests, parsed.failures, parsed.errors, parsed.skipped) == (7, 1, 0, 2)
    suites = {suite.name: suite for suite in parsed}
    assert list(suites) == [".", "pipelines/broken.py:broken", "pipelines/good.py:doubler"]
    broken = {case.name: case for case in suites["pipelines/broken.py:broken"]}
    assert isinstance(broken["compile"].result[0], Failure)
    assert "Incompatible argument" in broken["compile"].result[0].message
    assert isinstance(broken["diff"].result[0], Skipped)
    assert [case.classname for case in suites["pipelines/good.py:doubler"]] == [
        "pipelines/good.py:doubler"
    ] * 3
    assert all(case.is_passed for case in suites["pipelines/good.py:doubler"])


def test_a_failing_run_and_a_missing_output_fail_the_sample_run(tmp_path):
    write(tmp_path / "failing.py", FAILING)
    write(tmp_path / "good.py", GOOD)
    write(
        tmp_path / "conveyor.toml",
        """
        [ci.profiles."failing.py:exploder"]
        parameters = {n = 7}

        [ci.profiles."good.py:doubler"]
        outputs = ["double/Output", "double/nothing", "write/data"]
        """,
    )
    with open_home() as home:
        report = run_checks(tmp_path, home)
    runs = {c.pipeline: c for c in report.checks if c.check == "sample run"}
    failing = runs["failing.py:exploder"]
    assert failing.result == "failed"
    assert failing.detail.startswith("run FAILED: task 'explode' failed")
    assert "ValueError: cannot handle 7" in failing.output
    assert runs["good.py:doubler"].result == "failed"
    assert runs["good.py:doubler"].detail == "run succeeded but produced no double/nothing"


def test_a_file_python_cannot_parse_fails_its_compile_check(tmp_path):
    write(tmp_path / "good.py", GOOD + "\n\ndef oops(:\n    pass\n")
    with open_home() as home:
        report = run_checks(tmp_path, home)
    compile_check = report.checks[0]
    assert (compile_check.pipeline, compile_check.check, compile_check.result) == (
        "good.py:doubler",
        "compile",
        "failed",
    )
    assert "SyntaxError" in compile_check.detail


def test_two_pipelines_of_one_name_fail_the_second(tmp_path):
    write(tmp_path / "a.py", GOOD)
    write(tmp_path / "b.py", GOOD)
    with open_home() as home:
        report = run_checks(tmp_path, home)
    compiled = [(c.pipeline, c.result) for c in report.checks if c.check == "compile"]
    assert compiled == [("a.py:doubler", "passed"), ("b.py:doubler", "failed")]
    assert "also the name of a.py:doubler" in report.checks[3].detail


def test_upload_makes_a_version_only_when_the_spec_changed(tmp_path):
    write(tmp_path / "good.py", GOOD)
    with open_home() as home:
        first = ci.upload(run_checks(tmp_path, home), home.pipelines)
        assert [(r.reference, r.created, r.source) for r in first] == [
            ("doubler@1", True, "good.py:doubler")
        ]
        again = run_checks(tmp_path, home)
        assert again.checks[-1].detail == "unchanged since doubler@1"
        assert [
            (r.reference, r.created, r.tags) for r in ci.upload(again, home.pipelines, tag="prod")
        ] == [("doubler@1", False, ["prod"])]
        write(tmp_path / "good.py", GOOD.replace("n: int = 2", "n: int = 5"))
        changed = run_checks(tmp_path, home)
        assert changed.checks[-1].detail == (
            "changed since doubler@1: parameters changed: n default 2 -> 5"
        )
        assert changed.pipelines[0].diff.parameters_changed[0].to_json() == {
            "name": "n",
            "field": "defaultValue",
            "from": 2,
            "to": 5,
        }
        [made] = ci.upload(changed, home.pipelines, tag="prod")
        assert (made.reference, made.created, made.tags) == ("doubler@2", True, ["prod"])
        assert home.pipelines.resolve("doubler@prod").version == 2


def test_nothing_uploads_when_a_check_failed(repo):
    write(repo / "pipelines" / "broken.py", "from kfp import dsl\n\n@dsl.pipeline\ndef broken(:\n")
    (repo / "conveyor.toml").unlink()  # no sample run: the compile failure is enough
    with open_home() as home:
        report = run_checks(repo, home)
        with pytest.raises(AutomationConflict, match="1 CI check"):
            ci.upload(report, home.pipelines)
        assert home.pipelines.list() == []


def spec(image: str = "python:3.11", default: int = 2, command: str = "a") -> dict:
    """A small spec by hand: one component, one parameter."""
    return {
        "pipelineInfo": {"name": "p"},
        "root": {
            "inputDefinitions": {
                "parameters": {"n": {"parameterType": "NUMBER_INTEGER", "defaultValue": default}}
            }
        },
        "components": {"comp-a": {"executorLabel": "exec-a"}},
        "deploymentSpec": {
            "executors": {"exec-a": {"container": {"image": image, "command": [command]}}}
        },
    }


def test_the_diff_names_components_parameters_and_images():
    assert SpecDiff.between(spec(), spec()).summary() == "unchanged"
    changed = SpecDiff.between(spec(), spec(image="python:3.12", default=3))
    assert changed.components_changed == ["comp-a"]
    assert changed.summary() == (
        "components changed: comp-a; parameters changed: n default 2 -> 3; "
        "images: comp-a python:3.11 -> python:3.12"
    )
    grown = spec()
    grown["components"]["comp-b"] = {"executorLabel": "exec-a"}
    grown["root"]["inputDefinitions"]["parameters"]["m"] = {"parameterType": "STRING"}
    assert SpecDiff.between(spec(), grown).to_json() == {
        "changed": True,
        "components": {"added": ["comp-b"], "removed": [], "changed": []},
        "parameters": {"added": ["m"], "removed": [], "changed": []},
        "images": [],
    }
    assert SpecDiff.between(grown, spec()).summary() == (
        "components removed: comp-b; parameters removed: m"
    )
