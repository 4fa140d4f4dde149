"""Rollouts on real servers under a bounded load on loopback: an erroring canary rolled back
before 100 %, a healthy one promoted, a shadow's agreement measured, and a server
SIGKILLed mid-rollout that resumes it from the same step when started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from serving_support import ROW, SCHEMA, start_server, wait_for
from test_serve_command import free_port

from conveyor.api.server import create_app
from conveyor.automation.rollout_records import Criteria, RolloutState
from conveyor.serving.settings import ServerSettings

FAILING = {"tenure": 3, "charges": 80.5, "calls": 9}
"""A row the flaky predictor refuses (its calls are above 7)."""

FLAKY = """
from conveyor.serving.runtimes import Predictor

class Flaky(Predictor):
    def load(self, artifacts_uri):
        pass

    def predict(self, instances):
        if any(row["calls"] > 7 for row in instances):
            raise RuntimeError("the flaky model fails on many calls")
        return [1 for _ in instances]
"""


SLOW = """
import time
from conveyor.serving.runtimes import Predictor

class Slow(Predictor):
    def load(self, artifacts_uri):
        pass

    def predict(self, instances):
        time.sleep(0.1)
        return [1 for _ in instances]
"""


class Load:
    """Clients sending predictions to an endpoint one after another, on a thread, until
    stopped: a bounded load. `answers` keeps (status, deployed model id) of each."""

    def __init__(self, url: str, endpoint: str, rows: list[dict]) -> None:
        self.url, self.endpoint, self.rows = url, endpoint, rows
        self.answers: list[tuple[int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _send(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            i = 0
            while not self._stop.is_set():
                row = self.rows[i % len(self.rows)]
                i += 1
                try:
                    answer = http.post(
                        f"/v1/endpoints/{self.endpoint}:predict", json={"instances": [row]}
                    )
                except httpx.TransportError:
                    self.answers.append((0, None))  # the server is down (killed)
                    continue
                body = answer.json()
                self.answers.append((answer.status_code, body.get("deployedModelId")))

    def failures(self) -> int:
        return sum(1 for status, _ in self.answers if status >= 500)


@pytest.fixture
def server(settings, churn, endpoints):
    """The app `conveyor serve` runs, analysing rollouts (fast polls, short leases)."""
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    values = {"poll_seconds": 0.05, "rollout_lease_seconds": 1.0, "log_flush_seconds": 3600.0}
    running = start_server(create_app(settings, ServerSettings.from_env(**values)))
    yield running
    running.stop()


def ended(rollouts, rollout_id, timeout=60.0):
    def finished():
        found = rollouts.get(rollout_id)
        return None if found.active else found

    return wait_for(finished, f"rollout {rollout_id} to end", timeout)


def test_an_erroring_canary_is_rolled_back_before_100_percent(
    server, own_home, registry, endpoints, tmp_path
):
    folder = tmp_path / "flaky"
    folder.mkdir()
    (folder / "predictor.py").write_text(FLAKY)
    registry.upload("flaky", folder, framework="custom", trusted=True, input_schema=SCHEMA)
    with Load(server.url, "churn-prod", [ROW, FAILING]) as load:
        started = own_home.rollouts.start(
            "churn-prod",
            "flaky@1",
            steps=[20, 50, 100],
            interval_seconds=1.0,
            criteria=Criteria(max_error_rate=0.1, min_requests=5),
            failure_limit=2,
        )
        done = ended(own_home.rollouts, started.id)
        before = len(load.answers)
        wait_for(lambda: len(load.answers) > before + 100, "100 requests after the rollback")
    assert done.state is RolloutState.ROLLED_BACK, done.message
    assert done.step == 0 and len(done.analyses) == 2  # never past its first step
    assert all(a["verdict"] == "failed" for a in done.analyses)
    after = endpoints.get("churn-prod")
    assert after.traffic_split == {started.stable_deployed_model_id: 100}
    # Every failure clients saw came from the candidate, and the analysis counted failures
    # they saw (not those between a window's end and the next one's start, nor those
    # before the server's next poll of the endpoint: how many is a matter of timing).
    judged = sum(a["candidate"]["errors"] for a in done.analyses)
    assert 0 < judged <= load.failures()
    failed_ids = {d for status, d in load.answers if status >= 500}
    assert failed_ids <= {None, started.candidate_deployed_model_id}
    # Once the server has polled the endpoint again, the stable model answers everything.
    stable = (200, started.stable_deployed_model_id)
    assert load.answers[before + 50 : before + 100] == [stable] * 50


def test_a_slow_canary_is_rolled_back_on_its_p99(server, own_home, registry, endpoints, tmp_path):
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "predictor.py").write_text(SLOW)
    registry.upload("slow", folder, framework="custom", trusted=True, input_schema=SCHEMA)
    with Load(server.url, "churn-prod", [ROW]) as load:
        started = own_home.rollouts.start(
            "churn-prod",
            "slow@1",
            steps=[50, 100],
            interval_seconds=1.0,
            criteria=Criteria(max_p99_ms=50, min_requests=3),
            failure_limit=1,
        )
        done = ended(own_home.rollouts, started.id)
    assert done.state is RolloutState.ROLLED_BACK, done.message
    [analysis] = done.analyses
    assert analysis["candidate"]["p99_ms"] >= 100 and "p99_ms" in analysis["message"]
    assert analysis["stable"]["p99_ms"] < analysis["candidate"]["p99_ms"]
    assert load.failures() == 0  # slow, not failing
    assert endpoints.get("churn-prod").traffic_split == {started.stable_deployed_model_id: 100}


def test_a_healthy_canary_is_promoted_and_its_alias_moved(server, own_home, registry, endpoints):
    with Load(server.url, "churn-prod", [ROW]) as load:
        started = own_home.rollouts.start(
            "churn-prod",
            "churn@candidate",
            steps=[50, 100],
            interval_seconds=0.5,
            criteria=Criteria(max_error_rate=0.0, max_p99_ms=5000, min_requests=5),
        )
        done = ended(own_home.rollouts, started.id)
    assert done.state is RolloutState.PROMOTED, done.message
    assert [a["weight"] for a in done.analyses] == [50, 100]
    assert load.failures() == 0
    served = Counter(d for _, d in load.answers)
    assert served[started.candidate_deployed_model_id] > 0
    after = endpoints.get("churn-prod")  # the stable deployment follows production: it stays
    assert after.traffic_split == {started.stable_deployed_model_id: 100}
    assert after.deployed_model(started.stable_deployed_model_id).version_id == 2
    assert registry.get_version("churn", "production").version_id == 2
    metrics = server.client.get("/metrics").text
    assert (
        f'conveyor_rollout_status{{endpoint="churn-prod",model="churn@2",rollout="{done.id}",'
        f'state="promoted",strategy="canary"}} 1.0'
    ) in metrics


def test_the_command_line_waits_for_the_verdict(server, settings):
    conveyor = Path(sys.executable).with_name("conveyor")
    with Load(server.url, "churn-prod", [ROW]):
        waited = subprocess.run(
            [
                str(conveyor),
                "endpoints",
                "rollout",
                "churn-prod",
                "churn@candidate",
                "--steps",
                "50,100",
                "--interval",
                "1s",
                "--min-requests",
                "3",
                "--wait",
            ],  # fmt: skip
            env={**os.environ, "CONVEYOR_HOME": str(settings.folder)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert waited.returncode == 0, waited.stdout + waited.stderr
    lines = waited.stdout.splitlines()
    assert lines[1].startswith("  step 1 at 50%: passed: error_rate 0")
    assert lines[-1].startswith("Rollout 1 promoted: every step passed; the last passed")


def test_a_shadow_measures_agreement_and_clients_see_only_the_stable(server, own_home, endpoints):
    with Load(server.url, "churn-prod", [ROW]) as load:
        started = own_home.rollouts.start(
            "churn-prod",
            "churn@2",  # predicts the opposite class of churn@1 for every row
            strategy="shadow",
            interval_seconds=0.5,
            criteria=Criteria(min_agreement=0.9, min_requests=5),
            failure_limit=1,
        )
        done = ended(own_home.rollouts, started.id)
    assert done.state is RolloutState.ROLLED_BACK, done.message
    [analysis] = done.analyses
    assert analysis["candidate"]["agreement"] == 0.0 and "agreement 0" in analysis["message"]
    assert {d for _, d in load.answers} == {started.stable_deployed_model_id}
    assert [d.id for d in endpoints.get("churn-prod").deployed_models] == [
        started.stable_deployed_model_id
    ]


def serve_process(port: int, log: Path) -> subprocess.Popen:
    conveyor = Path(sys.executable).with_name("conveyor")
    env = {
        **os.environ,
        "CONVEYOR_SERVE_POLL_SECONDS": "0.1",
        "CONVEYOR_ROLLOUT_LEASE_SECONDS": "1",
        "CONVEYOR_PREDICTION_LOG_FLUSH_SECONDS": "3600",
    }
    process = subprocess.Popen(
        [str(conveyor), "serve", "--port", str(port), "--log-level", "warning"],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    wait_for(lambda: _ready(port) or process.poll() is not None, "the server to start", 120)
    assert process.poll() is None, log.read_text()
    return process


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200
    except httpx.TransportError:
        return False


def test_a_server_killed_mid_rollout_resumes_it_at_the_same_step(
    churn, endpoints, own_home, tmp_path
):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    port, log = free_port(), tmp_path / "serve.log"
    first = serve_process(port, log)
    rollouts = own_home.rollouts
    try:
        with Load(f"http://127.0.0.1:{port}", "churn-prod", [ROW]):
            started = rollouts.start(
                "churn-prod",
                "churn@candidate",
                steps=[10, 50, 100],
                interval_seconds=1.0,
                criteria=Criteria(max_error_rate=0.0, min_requests=3),
            )
            wait_for(lambda: rollouts.get(started.id).step == 1, "the second step", 60)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(30)
            killed = rollouts.get(started.id)
            assert killed.active and killed.step == 1 and killed.leased_by
            second = serve_process(port, log)
            try:
                done = ended(rollouts, started.id)
            finally:
                os.killpg(second.pid, signal.SIGTERM)
                second.wait(60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert done.state is RolloutState.PROMOTED, done.message
    steps = [a["step"] for a in done.analyses]
    assert steps == [0, 1, 2]  # the restarted server went on from step 2 (index 1)
    assert done.leased_by is None and killed.leased_by != "gone"
