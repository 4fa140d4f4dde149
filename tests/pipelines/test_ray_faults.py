"""Faults on a real Ray cluster: a node killed mid-task, the driver killed mid-run, each
with `conveyor run --executor ray` in a process of its own."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import conveyor
from conveyor.store.metadata import MetadataStore
from ray_cluster import running_ray, wait_for

PIPELINE = f"{Path(__file__).with_name('ray_pipelines.py')}:holding"


def start_run(address: str, gate: Path, started: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor", "run", PIPELINE, "-p", f"gate={gate}",
         "-p", f"started={started}", "--executor", "ray", "--ray-address", address, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip


def wait_for_starts(started: Path, count: int, runner: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while not started.exists() or len(started.read_text()) < count:
        assert runner.poll() is None, runner.communicate()
        assert time.monotonic() < deadline, "the task did not start"
        time.sleep(0.1)


def test_a_task_on_a_node_that_dies_runs_again_on_another(tmp_path):
    gate, started = tmp_path / "gate", tmp_path / "started"
    # The head runs no tasks: the one node that does is killed, and a new one joins.
    with running_ray(cpus=(0, 1)) as cluster:
        runner = start_run(cluster.address, gate, started)
        wait_for_starts(started, 1, runner)
        cluster.kill(cluster.nodes[1])
        cluster.add_node(1)
        wait_for(cluster.address, 2, cluster.env)
        gate.touch()
        out, err = runner.communicate(timeout=300)
    assert runner.returncode == 0, err
    outcome = json.loads(out)
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["outputs"] == {"Output": "DONE"}
    assert started.read_text() == "xx"  # ran twice: on the dead node, then on the new one


def test_a_run_whose_driver_was_killed_resumes_on_the_cluster(ray_cluster, tmp_path):
    gate, started = tmp_path / "gate", tmp_path / "started"
    runner = start_run(ray_cluster.address, gate, started)
    wait_for_starts(started, 1, runner)
    runner.send_signal(signal.SIGKILL)
    runner.communicate()
    gate.touch()
    with MetadataStore.open() as store:
        (killed,) = store.list_runs(pipeline="ray-hold")
    assert killed.status == "RUNNING"  # nobody was left to say otherwise
    resumed = conveyor.resume(killed.run_id, executor="ray", ray_address=ray_cluster.address)
    assert resumed.status == "SUCCEEDED", resumed.error
    assert resumed.outputs == {"Output": "DONE"}
