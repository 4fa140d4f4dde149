"""Instance ids through a real server: a Vertex AI style answer carries `X-Request-Id` (the
client's own, or one the server made), OIP's answer its `id`; the prediction log keeps
them, so that labels sent later with those ids match the logged predictions and give the
model's live accuracy."""

from __future__ import annotations

from serving_support import ROW, local_predictions

from conveyor.monitoring.feedback import GROUND_TRUTH_TYPE

OTHER = {"tenure": 60, "charges": 20.0, "calls": 0}


def test_labels_sent_with_the_ids_the_server_answered_match_its_log(
    churn, endpoints, own_home, serve, trained
):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    own_home.monitors.create(
        "churn-live",
        "churn@production",
        tabular_objective={"model_performance_spec": {}},
        min_samples=1,
    )
    server = serve()
    rows = [ROW, OTHER]
    mine = server.client.post(
        "/v1/endpoints/churn-prod:predict",
        json={"instances": rows},
        headers={"X-Request-Id": "client-7"},
    )
    made = server.client.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
    raw = server.client.post("/v1/endpoints/churn-prod:rawPredict", json=[OTHER])
    oip = server.client.post(
        "/v2/models/churn/infer",
        json={
            "id": "oip-1",
            "inputs": [
                {"name": name, "shape": [1], "datatype": "FP64", "data": [float(OTHER[name])]}
                for name in ("tenure", "charges", "calls")
            ],
        },
    )
    too_long = server.client.post(
        "/v1/endpoints/churn-prod:predict",
        json={"instances": [ROW]},
        headers={"X-Request-Id": "x" * 300},
    )
    for answer in (mine, made, raw, oip, too_long):
        assert answer.status_code == 200, answer.text
    assert mine.headers["x-request-id"] == "client-7"
    generated = made.headers["x-request-id"]
    assert len(generated) == 32 and generated != raw.headers["x-request-id"]
    assert len(too_long.headers["x-request-id"]) == 32
    assert oip.json()["id"] == "oip-1"
    server.stop()  # the log is written

    expected = local_predictions(trained["v1"], rows)
    wrong = 1 - expected[1]  # classes 0 and 1
    labels = [
        {"request_id": "client-7", "instance_index": 0, "label": expected[0]},
        {"request_id": "client-7", "instance_index": 1, "label": wrong},
        {"request_id": generated, "label": expected[0]},
        {"request_id": raw.headers["x-request-id"], "label": wrong},
        {"request_id": "never-sent", "label": expected[0]},
    ]
    summary = own_home.monitors.feedback("churn-live", labels)

    assert (summary.matched, summary.unmatched) == (4, 1)
    assert own_home.store.get_artifact(summary.artifact_id).type == GROUND_TRUTH_TYPE
    accuracy = {r.metric.value: r.value for r in own_home.monitors.live_performance("churn-live")}
    assert accuracy["accuracy"] == 0.5
