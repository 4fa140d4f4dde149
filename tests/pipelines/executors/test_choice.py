"""Choosing the executor of a run: `conveyor.run(..., executor=...)` and `--executor`."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app
from conveyor.client import Client
from conveyor.errors import UsageError

PIPELINE = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component
    def check(gate: str, value: int) -> int:
        import os

        if os.path.exists(gate):
            raise RuntimeError("the gate is closed")
        with open(gate + ".pid", "w") as f:
            f.write(str(os.getpid()))
        return value * 10

    @dsl.pipeline(name="gated")
    def gated(gate: str) -> int:
        return check(gate=gate, value=4).output
    """
)


@pytest.fixture
def pipeline_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipelines.py").write_text(PIPELINE)
    return "pipelines.py:gated"


def conveyor_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "conveyor.cli.main", *args], capture_output=True, text=True
    )


def test_an_unknown_executor_names_the_choices_and_records_nothing(pipeline_file):
    with pytest.raises(UsageError) as error:
        conveyor.run(pipeline_file, {"gate": "none"}, executor="k8s")

    assert str(error.value) == "unknown executor 'k8s'; choose one of: local, inline, ray"
    with Client() as client:
        assert client.list_runs() == []


def test_the_command_line_refuses_an_unknown_executor_with_exit_code_2(pipeline_file):
    result = conveyor_cli("run", pipeline_file, "-p", "gate=none", "--executor", "nope")

    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.strip() == "error: unknown executor 'nope'; choose one of: local, inline, ray"
    )
    assert result.stdout == ""


def test_a_run_resumes_on_the_executor_given_to_resume(pipeline_file, tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    failed = conveyor.run(pipeline_file, {"gate": str(gate)})
    assert failed.status == "FAILED"
    gate.unlink()

    resumed = CliRunner().invoke(
        app, ["runs", "resume", failed.run_id, "--executor", "inline", "--json"]
    )

    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["outputs"] == {"Output": 40}
    assert (tmp_path / "gate.pid").read_text() == str(os.getpid())  # inline: in this process
