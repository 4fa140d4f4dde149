"""Monitoring end to end: traffic through a real server (the app `conveyor serve` runs, on
a loopback port), its prediction log read by a job, skew found on the feature that moved
and on no other, live accuracy from labels sent back by request id, and the alerts
delivered to the alert log, a signed webhook and a real SMTP server."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from serving_support import start_server, training_data

from alert_support import receiving, smtp_server, verify
from conveyor.api.server import create_app
from conveyor.home import open_home
from conveyor.serving.settings import ServerSettings

KEY = "hook-secret"
ROWS, PER_REQUEST = 600, 30


@pytest.fixture
def baseline(tmp_path):
    """The training data as a Parquet file: the monitor's baseline."""
    frame, _ = training_data()
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def traffic(seed: int) -> list[dict]:
    """Customers like the training ones, but with tenure moved far up."""
    rng = np.random.default_rng(seed)
    return [
        {"tenure": int(rng.integers(150, 220)), "charges": float(rng.normal(60, 20)),
         "calls": int(rng.integers(0, 10))}
        for _ in range(ROWS)
    ]  # fmt: skip


def test_skew_live_accuracy_and_alerts_on_every_channel(
    settings, churn, endpoints, baseline, monkeypatch
):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    monkeypatch.setenv("HOOK_KEY", KEY)
    with receiving() as hook, smtp_server() as (mailbox, smtp_port):
        served = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=smtp_port)
        with open_home(settings=served) as home:
            home.monitors.create(
                "churn-watch", "churn@production",
                training_dataset={"uri": str(baseline)},
                tabular_objective={
                    "feature_skew_spec": {},
                    "model_performance_spec": {"thresholds": {"accuracy": 0.9}},
                },
                notification_spec={
                    "webhook": {"url": hook.url, "secret_setting": "HOOK_KEY"},
                    "user_emails": ["ops@example.com"],
                },
                window="1h",
            )  # fmt: skip

            server = start_server(create_app(served, ServerSettings.from_env(poll_seconds=0.05)))
            labels = []
            try:
                rows = traffic(seed=7)
                for start in range(0, ROWS, PER_REQUEST):
                    answer = server.client.post(
                        "/v1/endpoints/churn-prod:predict",
                        json={"instances": rows[start : start + PER_REQUEST]},
                    )
                    assert answer.status_code == 200, answer.text
                    request_id = answer.headers["x-request-id"]
                    for index, predicted in enumerate(answer.json()["predictions"]):
                        # Half the labels disagree with the model: accuracy 0.5.
                        truth = predicted if index % 2 == 0 else 1 - predicted
                        labels.append(
                            {"request_id": request_id, "instance_index": index, "label": truth}
                        )
            finally:
                server.stop()  # the log is flushed as the server stops

            sent = home.monitors.feedback("churn-watch", labels)
            assert (sent.matched, sent.unmatched) == (ROWS, 0)

            job = home.monitors.run("churn-watch")
            assert job.state == "JOB_STATE_SUCCEEDED", job.error
            found = {(m.objective, m.feature): m for m in home.monitors.job_metrics(job.id)}
            assert found["feature_skew", "tenure"].anomaly
            assert not found["feature_skew", "charges"].anomaly
            assert not found["feature_skew", "calls"].anomaly
            assert found["feature_skew", "tenure"].target_count == ROWS
            accuracy = found["model_performance", "accuracy"]
            assert accuracy.value == pytest.approx(0.5)
            assert accuracy.anomaly and accuracy.target_count == ROWS

            alerts = home.monitors.search_alerts("churn-watch")
            assert {(a.objective, a.feature) for a in alerts} == {
                ("feature_skew", "tenure"),
                ("model_performance", "accuracy"),
            }
            log = settings.folder / "monitoring" / "alerts.jsonl"
            logged = [json.loads(line) for line in log.read_text().splitlines()]
            assert {entry["feature"] for entry in logged} == {"tenure", "accuracy"}

    assert len(hook.received) == 2
    for call in hook.received:
        assert verify(KEY, call["headers"], call["raw"])
    assert {call["json"]["feature"] for call in hook.received} == {"tenure", "accuracy"}
    assert len(mailbox.messages) == 2
    assert all(m["to"] == ["ops@example.com"] for m in mailbox.messages)
    subjects = [m["data"].decode() for m in mailbox.messages]
    assert any("tenure" in s for s in subjects) and any("accuracy" in s for s in subjects)
