"""`conveyor serve` as users run it: a separate process, several workers, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from serving_support import ROW

from conveyor.serving.prediction_log import prediction_logs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def command_server(churn, endpoints, tmp_path):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    port = free_port()
    conveyor = Path(sys.executable).with_name("conveyor")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(conveyor), "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CONVEYOR_PREDICTION_LOG_FLUSH_SECONDS": "3600"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((tmp_path / "serve.log").read_text())
        time.sleep(0.1)
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def test_serve_with_two_workers(command_server, store):
    process, url = command_server
    with httpx.Client(base_url=url) as http:
        for _ in range(40):
            answer = http.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
            assert answer.status_code == 200, answer.text
        # Every worker writes its metrics; whichever answers adds them all up.
        text = http.get("/metrics").text
    total = sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "conveyor_prediction_requests_total" and s.labels["endpoint"] == "churn-prod"
    )
    assert total == 40
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    logs = prediction_logs(store, "churn-prod")
    assert sum(r.metadata["rows"] for r in logs) == 40  # each worker flushed at shutdown
