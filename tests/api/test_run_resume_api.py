"""`POST /api/v1/runs/{run_id}:resume`: a failed run resumed through REST in a process of
its own re-runs only its failed task; a run that succeeded, that a live process runs or
that has no spec is refused; a read token is refused; a resume process that ends before it
took the run is an error quoting its output (`Client.resume(detach=True)`). No
`from __future__ import annotations`: kfp reads the component's annotations as types."""

import dataclasses

import psutil
import pytest
from api_support import error_of
from kfp import dsl
from starlette.middleware import Middleware

from conveyor.api import create_app
from conveyor.automation.errors import ResumeNotStarted
from conveyor.automation.resumes import LOG_NAME
from conveyor.client import Client
from conveyor.home import open_home
from conveyor.pipelines.runner import run_folder
from conveyor.serving.auth import Role, TokenAuth, Tokens

WAIT_SECONDS = 120


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


@dsl.pipeline(name="gated-pair")
def gated_pair(counter: str, gate: str) -> int:
    first = step(value=1, counter=counter, gate="")
    return step(value=first.output, counter=counter, gate=gate).output


def failed_run(home, tmp_path):
    """A run of `gated_pair` whose second step failed on its gate; its id, the counter and
    the gate file."""
    counter, gate = tmp_path / "counter", tmp_path / "gate"
    gate.write_text("fail")
    args = {"counter": str(counter), "gate": str(gate)}
    failed = Client(home).run(gated_pair, args, enable_caching=False)
    assert failed.status == "FAILED"
    return failed.run_id, counter, gate


def test_a_failed_run_resumed_over_rest_reruns_only_its_failed_task(api, own_home, tmp_path):
    run_id, counter, gate = failed_run(own_home, tmp_path)
    gate.write_text("wait")  # the resumed step waits: the run is RUNNING when answered
    answer = api.post(f"/api/v1/runs/{run_id}:resume")
    assert answer.status_code == 202, answer.text
    assert answer.json()["run_id"] == run_id and answer.json()["status"] == "RUNNING"
    runner = own_home.store.get_run(run_id).runner
    assert runner is not None and runner.alive
    busy = error_of(api.post(f"/api/v1/runs/{run_id}:resume"), 409)
    assert f"is running in process {runner.pid}" in busy["message"]

    gate.write_text("open")
    psutil.Process(runner.pid).wait(WAIT_SECONDS)
    done = api.get(f"/api/v1/runs/{run_id}").json()
    assert done["status"] == "SUCCEEDED", done["error"]
    assert counter.read_text().split() == ["1", "2", "2"]  # the first step did not run again
    ran = [e["task_key"] for e in done["executions"]]
    assert sorted(ran) == ["step", "step-2", "step-2"]
    assert (
        f"run {run_id}: SUCCEEDED" in (run_folder(own_home.settings, run_id) / LOG_NAME).read_text()
    )


def test_a_run_that_succeeded_or_has_no_spec_is_refused(api, own_home, tmp_path):
    args = {"counter": str(tmp_path / "c"), "gate": str(tmp_path / "g")}
    done = Client(own_home).run(gated_pair, args)
    refused = error_of(api.post(f"/api/v1/runs/{done.run_id}:resume"), 409)
    assert refused["message"] == f"run {done.run_id} already succeeded; there is nothing to resume"
    own_home.store.create_run("orphan-1", "gated-pair")  # RUNNING, its runner gone, no spec
    missing = error_of(api.post("/api/v1/runs/orphan-1:resume"), 400)
    assert "no recorded pipeline spec" in missing["message"]
    assert "no run 'nope'" in error_of(api.post("/api/v1/runs/nope:resume"), 404)["message"]


def test_resuming_needs_the_deploy_role(serve, own_home, tmp_path):
    run_id, counter, gate = failed_run(own_home, tmp_path)
    tokens = Tokens({"r-token": (Role.READ, "viewer")})
    http = serve(create_app(own_home, middleware=[Middleware(TokenAuth, tokens=tokens)]))
    answer = http.post(f"/api/v1/runs/{run_id}:resume", headers={"Authorization": "Bearer r-token"})
    error_of(answer, 403)
    assert own_home.store.get_run(run_id).status == "FAILED"
    assert counter.read_text().split() == ["1", "2"]


def test_a_resume_process_that_ends_before_taking_the_run_is_an_error(own_home, settings, tmp_path):
    run_id, _, _ = failed_run(own_home, tmp_path)
    broken = dataclasses.replace(settings, executor="nowhere")  # the command refuses it
    with open_home(settings=broken) as home, pytest.raises(ResumeNotStarted) as refused:
        Client(home).resume(run_id, detach=True)
    assert f"`conveyor runs resume {run_id}` ended (exit code 2)" in str(refused.value)
    assert "nowhere" in str(refused.value)  # the end of its output says why
    assert own_home.store.get_run(run_id).status == "FAILED"
