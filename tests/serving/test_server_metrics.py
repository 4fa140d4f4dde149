"""`GET /metrics`: requests, errors and latency per endpoint and deployed model, in
Prometheus' text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from serving_support import ROW


def samples(server) -> dict:
    answer = server.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def labels(**values) -> tuple:
    base = {
        "endpoint": "",
        "deployed_model_id": "",
        "model": "",
        "model_version": "",
        "protocol": "",
    }
    return tuple(sorted({**base, **values}.items()))


def test_requests_errors_and_latency_per_deployed_model(churn, endpoints, serve):
    endpoints.create("ab")
    a = endpoints.deploy("ab", "churn@1")
    b = endpoints.deploy("ab", "churn@2", traffic_percentage=50)
    server = serve()
    for _ in range(4):
        server.client.post("/v1/endpoints/ab:predict", json={"instances": [ROW, ROW]})
    for _ in range(2):  # one to each model: the router alternates
        server.client.post("/v1/endpoints/ab:predict", json={"instances": [{"tenure": 1}]})
    server.client.post("/v1/endpoints/ab:predict", content=b"{")
    server.client.post("/v1/endpoints/nowhere:predict", json={"instances": [ROW]})
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [3, 80.5, 6]}]}
    server.client.post("/v2/models/churn/infer", json=body)

    found = samples(server)
    one = labels(
        endpoint="ab", deployed_model_id=a.id, model="churn", model_version="1", protocol="vertex"
    )
    two = labels(
        endpoint="ab", deployed_model_id=b.id, model="churn", model_version="2", protocol="vertex"
    )
    for served in (one, two):
        assert found[("conveyor_prediction_requests_total", served)] == 3
        assert found[("conveyor_prediction_instances_total", served)] == 5
        assert found[("conveyor_prediction_latency_seconds_count", served)] == 3
        assert found[("conveyor_prediction_latency_seconds_sum", served)] > 0
        assert (
            found[("conveyor_prediction_errors_total", tuple(sorted((*served, ("code", "400")))))]
            == 1
        )
        inf = tuple(sorted((*served, ("le", "+Inf"))))
        assert found[("conveyor_prediction_latency_seconds_bucket", inf)] == 3
    malformed = labels(endpoint="ab", protocol="vertex")
    assert (
        found[("conveyor_prediction_errors_total", tuple(sorted((*malformed, ("code", "400")))))]
        == 1
    )
    unknown = labels(protocol="vertex")  # the unknown name is not kept as a label
    assert (
        found[("conveyor_prediction_errors_total", tuple(sorted((*unknown, ("code", "404")))))] == 1
    )
    oip = labels(deployed_model_id="churn@1", model="churn", model_version="1", protocol="oip")
    assert found[("conveyor_prediction_requests_total", oip)] == 1
    assert not any("nowhere" in str(key) for key in found)
