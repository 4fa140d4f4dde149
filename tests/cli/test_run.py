"""`conveyor run`: exit codes, JSON output and the messages for bad input."""

import json
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from conveyor.cli.main import app

runner = CliRunner()

PIPELINE = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component
    def double(n: int) -> int:
        return 2 * n

    @dsl.component
    def explode(n: int) -> int:
        print("working on", n)
        raise ValueError(f"cannot handle {n}")

    @dsl.pipeline(name="doubler")
    def doubler(n: int = 2) -> int:
        return double(n=n).output

    @dsl.pipeline(name="exploder")
    def exploder(n: int = 2) -> int:
        return explode(n=double(n=n).output).output
    """
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipelines.py").write_text(PIPELINE)
    return tmp_path / "home"


def conveyor(*args: str):
    """Run the real command in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "conveyor.cli.main", *args], capture_output=True, text=True
    )


def test_json_outcome_of_a_succeeded_run():
    result = conveyor("run", "pipelines.py:doubler", "-p", "n=21", "--json")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["pipeline"] == "doubler"
    assert outcome["outputs"] == {"Output": 42}
    assert outcome["error"] is None
    assert [t["name"] for t in outcome["tasks"]] == ["double"]
    assert set(outcome["tasks"][0]) == {"name", "display_name", "status", "started", "finished"}


def test_a_failed_run_exits_1_with_the_task_and_its_log_tail():
    result = conveyor("run", "pipelines.py:exploder", "--json")
    assert result.returncode == 1
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "FAILED"
    assert outcome["error"].startswith("task 'explode' failed: ValueError: cannot handle 4")
    assert "working on 4" in outcome["error"]
    assert {t["name"]: t["status"] for t in outcome["tasks"]} == {
        "double": "SUCCEEDED",
        "explode": "FAILED",
    }


def test_a_compiled_yaml_runs_too(tmp_path):
    from kfp import compiler

    sys.path.insert(0, str(tmp_path))
    try:
        import pipelines  # the module the fixture wrote
    finally:
        sys.path.remove(str(tmp_path))
    compiler.Compiler().compile(pipelines.doubler, str(tmp_path / "doubler.yaml"))
    result = runner.invoke(app, ["run", "doubler.yaml", "-p", "n=5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outputs"] == {"Output": 10}


def test_a_pipeline_job_s_runtime_config_gives_the_arguments(tmp_path):
    """Vertex AI's PipelineJob: `runtimeConfig.parameterValues` (or the older typed
    `parameters`) are the run's arguments; `-p` overrides them."""
    import yaml
    from kfp import compiler

    sys.path.insert(0, str(tmp_path))
    try:
        import pipelines
    finally:
        sys.path.remove(str(tmp_path))
    compiler.Compiler().compile(pipelines.doubler, str(tmp_path / "doubler.yaml"))
    spec = yaml.safe_load((tmp_path / "doubler.yaml").read_text())
    (tmp_path / "job.json").write_text(
        json.dumps({"pipelineSpec": spec, "runtimeConfig": {"parameterValues": {"n": 7}}})
    )
    (tmp_path / "legacy.json").write_text(
        json.dumps(
            {"pipelineSpec": spec, "runtimeConfig": {"parameters": {"n": {"intValue": "8"}}}}
        )
    )
    (tmp_path / "wrong.json").write_text(
        json.dumps({"pipelineSpec": spec, "runtimeConfig": {"parameterValues": {"m": 1}}})
    )
    outputs = [
        json.loads(runner.invoke(app, [*args, "--json"]).stdout)["outputs"]["Output"]
        for args in (["run", "job.json"], ["run", "legacy.json"], ["run", "job.json", "-p", "n=1"])
    ]
    assert outputs == [14, 16, 2]
    wrong = conveyor("run", "wrong.json")
    assert (wrong.returncode, wrong.stderr) == (
        2,
        "error: unknown parameter 'm' in the job's runtimeConfig (the pipeline's parameters: n)\n",
    )


def test_components_import_the_pipeline_file_s_sibling_modules(tmp_path):
    (tmp_path / "helpers.py").write_text("def triple(n):\n    return 3 * n\n")
    (tmp_path / "siblings.py").write_text(
        textwrap.dedent(
            """
            from kfp import dsl

            @dsl.component
            def use_helper(n: int) -> int:
                from helpers import triple
                return triple(n)

            @dsl.pipeline(name="siblings")
            def siblings(n: int = 2) -> int:
                return use_helper(n=n).output
            """
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conveyor.cli.main",
            "run",
            str(tmp_path / "siblings.py") + ":siblings",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["outputs"] == {"Output": 6}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope.yaml"], "error: no such file: nope.yaml"),
        (
            ["run", "pipelines.py:nope"],
            "error: pipelines.py has no function 'nope' (pipelines in it: doubler, exploder)",
        ),
        (
            ["run", "pipelines.py:double"],
            "error: pipelines.py:double is a component, not a pipeline: decorate it with @dsl.pipeline (or give a compiled .yaml/.json file)",
        ),
        (
            ["run", "pipelines.py:doubler", "-p", "n=abc"],
            "error: parameter 'n': 'abc' is not an integer (declared type NUMBER_INTEGER)",
        ),
        (
            ["run", "pipelines.py:doubler", "-p", "m=1"],
            "error: unknown parameter 'm' (the pipeline's parameters: n)",
        ),
        (["run", "pipelines.py:doubler", "-p", "n"], "error: -p takes name=value, got 'n'"),
        (
            ["run", "pipelines.py:doubler", "--parallelism", "0"],
            "error: parallelism must be at least 1, got 0",
        ),
        (
            ["run", "pipelines.py:doubler", "--cache-max-age", "soon"],
            "error: cache max age 'soon': give a number with s, m, h, d or w, e.g. 7d",
        ),
        (
            ["run", "notes.txt"],
            "error: notes.txt: give a compiled pipeline (.yaml, .yml, .json) or a Python target as file.py:pipeline_function",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_clear_line(args, message, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = conveyor(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message
    assert result.stdout == ""


def test_invalid_yaml_names_the_problem(tmp_path):
    (tmp_path / "broken.yaml").write_text("root: [unclosed\n")
    result = conveyor("run", "broken.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("error: broken.yaml: not valid YAML or JSON:")


def test_a_spec_with_a_dangling_reference_names_the_field(tmp_path):
    import yaml
    from kfp import compiler

    sys.path.insert(0, str(tmp_path))
    try:
        import pipelines
    finally:
        sys.path.remove(str(tmp_path))
    compiler.Compiler().compile(pipelines.doubler, str(tmp_path / "doubler.yaml"))
    spec = yaml.safe_load((tmp_path / "doubler.yaml").read_text())
    spec["root"]["dag"]["tasks"]["double"]["componentRef"]["name"] = "comp-gone"
    (tmp_path / "dangling.yaml").write_text(yaml.safe_dump(spec))
    result = conveyor("run", "dangling.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: root.dag.tasks.double.componentRef: component 'comp-gone' is not defined"
    )


def test_a_corrupt_metadata_store_is_refused_and_left_alone(home):
    home.mkdir(parents=True)
    (home / "metadata.db").write_bytes(b"this is not a database")
    result = conveyor("run", "pipelines.py:doubler")
    assert result.returncode == 2
    assert "metadata.db" in result.stderr
    assert (home / "metadata.db").read_bytes() == b"this is not a database"


def test_an_unwritable_artifact_root_is_refused(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CONVEYOR_ARTIFACT_ROOT", str(blocker / "artifacts"))
    result = conveyor("run", "pipelines.py:doubler")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: artifact root {blocker / 'artifacts'} is not writable")


STUCK = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component
    def stuck(folder: str):
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        with open(os.path.join(folder, "pids.tmp"), "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        os.rename(os.path.join(folder, "pids.tmp"), os.path.join(folder, "pids"))
        time.sleep(300)

    @dsl.pipeline(name="stuck")
    def stuck_pipeline(folder: str):
        stuck(folder=folder)
    """
)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except FileNotFoundError:
        return False


def test_sigterm_cancels_the_run_and_stops_its_tasks(tmp_path):
    import signal
    import time

    from conveyor.client import Client

    (tmp_path / "stuck.py").write_text(STUCK)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conveyor.cli.main",
            "run",
            "stuck.py:stuck_pipeline",
            "-p",
            f"folder={tmp_path}",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "pids").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.1)
    task, child = map(int, (tmp_path / "pids").read_text().split())
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert json.loads(out)["status"] == "CANCELLED"
    with Client() as client:
        assert [r.status for r in client.list_runs()] == ["CANCELLED"]
    deadline = time.monotonic() + 10
    while (_alive(task) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(task), "the task's process outlived the run"
    assert not _alive(child), "a process the task started outlived the run"
