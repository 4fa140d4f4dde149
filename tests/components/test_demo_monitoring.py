"""The demo's monitoring step (examples/demo.py, step 4) with its own functions, through a
real `conveyor serve`: after the first run of the continuous-training pipeline, traffic
like span 1's and then span 2's asks the endpoint, and a job finds skew (against the
training split found through lineage) and drift (against the earlier traffic) on the two
features span 2 moved and on no other, and writes their alerts to the alert log."""

import json
import sys
from pathlib import Path

import pytest

from conveyor.client import Client

EXAMPLES = Path(__file__).parents[2] / "examples"
MOVED = {"internet_service", "monthly_charges"}
"""What examples/make_data.py shifts in span 2: more fiber, higher charges."""


@pytest.fixture
def example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import continuous_training
    import demo
    import make_data

    yield demo, continuous_training, make_data
    for name in ("continuous_training", "demo", "make_data"):
        sys.modules.pop(name, None)


@pytest.mark.timeout(600)
def test_the_demo_finds_span_2s_drift_and_alerts(tmp_path, home, example, capsys):
    demo, continuous_training, make_data = example
    client = Client()
    data = tmp_path / "data"
    make_data.write_span(data, 1)
    run = client.run(
        continuous_training.continuous_training, {"data": str(data / "span-{SPAN}" / "*.csv")}
    )
    assert run.status == "SUCCEEDED", run.error

    port = demo.free_port()
    url = f"http://127.0.0.1:{port}"
    server = demo.start_server(home, port)
    try:
        demo.wait_ready(server, url, home)
        job = demo.watch_traffic(client, url, home)
    finally:
        demo.stop_server(server)

    assert job.state == "JOB_STATE_SUCCEEDED", job.error
    assert job.model_version_id == 1
    assert client.get_monitor(demo.MONITOR).training_dataset == {"source": "lineage"}
    metrics = client.home.monitors.job_metrics(job.id)
    assert not [m for m in metrics if m.insufficient_data]
    for objective in ("feature_skew", "feature_drift"):
        found = {m.feature for m in metrics if m.objective == objective and m.anomaly}
        assert found == MOVED, objective
    anomalies = {(m.objective, m.feature) for m in metrics if m.anomaly}

    log = home / "monitoring" / "alerts.jsonl"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(line["objective"], line["feature"]) for line in lines} == anomalies
    assert {line["kind"] for line in lines} == {"anomaly"}
    assert {line["job"] for line in lines} == {job.id}

    printed = capsys.readouterr().out
    assert f"{len(lines)} alerts" in printed
    for objective, feature in anomalies:
        assert f"anomaly {objective} {feature} " in printed
    assert f"conveyor monitors report {job.id} --html report.html" in printed
