"""Resuming failed and killed runs: only what did not complete runs again."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kfp import dsl

import conveyor
from conveyor.errors import UsageError
from conveyor.store.metadata import MetadataStore, NotFound


@dsl.component
def step(value: int, counter: str, gate: str) -> int:
    """Adds one; fails while the gate file says 'fail', waits while it says 'wait'."""
    import os
    import time

    with open(counter, "a") as f:
        f.write(f"{value}\n")
    while os.path.exists(gate) and open(gate).read() == "wait":
        time.sleep(0.05)
    if os.path.exists(gate) and open(gate).read() == "fail":
        raise RuntimeError("the gate says fail")
    return value + 1


@dsl.pipeline(name="gated-chain")
def gated_chain(counter: str, gate: str) -> int:
    first = step(value=1, counter=counter, gate="")
    second = step(value=first.output, counter=counter, gate=gate)
    return step(value=second.output, counter=counter, gate="").output


def test_resume_a_failed_run_reruns_only_what_failed(tmp_path):
    counter, gate = tmp_path / "counter", tmp_path / "gate"
    gate.write_text("fail")
    args = {"counter": str(counter), "gate": str(gate)}
    failed = conveyor.run(gated_chain, args, enable_caching=False)
    assert failed.status == "FAILED"
    assert counter.read_text().split() == ["1", "2"]

    gate.unlink()
    resumed = conveyor.resume(failed.run_id, enable_caching=False)
    assert resumed.run_id == failed.run_id
    assert resumed.status == "SUCCEEDED"
    assert resumed.outputs == {"Output": 4}
    assert {t.name: t.status for t in resumed.tasks} == {
        "step": "CACHED",
        "step-2": "SUCCEEDED",
        "step-3": "SUCCEEDED",
    }
    assert counter.read_text().split() == ["1", "2", "2", "3"]
    with MetadataStore.open() as store:
        assert store.get_run(failed.run_id).status == "SUCCEEDED"


def test_resume_after_the_runner_was_killed(tmp_path):
    counter, gate = tmp_path / "counter", tmp_path / "gate"
    gate.write_text("wait")
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conveyor.cli.main",
            "run",
            f"{Path(__file__).resolve()}:gated_chain",
            "-p",
            f"counter={counter}",
            "-p",
            f"gate={gate}",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while counter.read_text().split() != ["1", "2"] if counter.exists() else True:
        assert time.monotonic() < deadline, "the second step never started"
        assert runner.poll() is None, runner.communicate()
        time.sleep(0.05)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    gate.unlink()

    with MetadataStore.open() as store:
        (killed,) = store.list_runs(pipeline="gated-chain")
    assert killed.status == "RUNNING"  # nobody was left to say otherwise
    resumed = conveyor.resume(killed.run_id)
    assert resumed.status == "SUCCEEDED"
    assert resumed.outputs == {"Output": 4}
    assert resumed.task("step").status == "CACHED"
    assert counter.read_text().split()[:2] == ["1", "2"]
    assert counter.read_text().split().count("1") == 1  # the first step ran once


def test_resume_refuses_a_succeeded_run(tmp_path):
    args = {"counter": str(tmp_path / "c"), "gate": str(tmp_path / "g")}
    done = conveyor.run(gated_chain, args)
    with pytest.raises(UsageError, match="already succeeded"):
        conveyor.resume(done.run_id)


def test_resume_of_an_unknown_run():
    with pytest.raises(NotFound):
        conveyor.resume("no-such-run")


def test_outputs_of_the_json_face_survive(tmp_path):
    # A resumed run reports like any run.
    gate = tmp_path / "gate"
    gate.write_text("fail")
    args = {"counter": str(tmp_path / "c"), "gate": str(gate)}
    failed = conveyor.run(gated_chain, args)
    gate.unlink()
    assert (
        json.loads(json.dumps(conveyor.resume(failed.run_id).to_json(), default=str))["status"]
        == "SUCCEEDED"
    )
