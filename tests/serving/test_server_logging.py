"""The prediction log: sampled requests and answers as Parquet under the artifact root,
recorded in the metadata store, flushed every N rows and at shutdown."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
from serving_support import ROW, wait_for

from conveyor.serving.prediction_log import LOG_TYPE, SCHEMA, prediction_logs, read_prediction_logs


def read(records) -> list[dict]:
    rows = []
    for record in records:
        table = read_prediction_logs([record])
        first = pa.schema(list(table.schema)[: len(SCHEMA)])
        assert first.equals(SCHEMA)  # then the typed columns (layout 2)
        rows += table.to_pylist()
    return rows


def test_requests_and_answers_are_written_at_shutdown(churn, endpoints, store, serve, settings):
    endpoints.create("churn-prod")
    deployed = endpoints.deploy("churn-prod", "churn@production")
    server = serve()
    ok = server.client.post(
        "/v1/endpoints/churn-prod:predict",
        json={"instances": [[3, 80.5, 6], [60, 20.0, 0]], "parameters": {"method": "predict"}},
    ).json()
    server.client.post("/v1/endpoints/churn-prod:predict", json={"instances": [{"tenure": "x"}]})
    body = {
        "id": "r-9",
        "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [3, 80.5, 6]}],
    }
    server.client.post("/v2/models/churn/versions/2/infer", json=body)
    assert prediction_logs(store) == []  # buffered until a flush
    server.stop()

    records = prediction_logs(store, "churn-prod")
    assert len(records) == 1
    record = records[0]
    assert record.type == LOG_TYPE and record.state == "LIVE" and record.sha256
    root = Path(settings.artifact_root)
    assert Path(record.uri).is_relative_to(root / "predictions" / "churn-prod")
    assert record.uri.endswith(".parquet")
    assert record.metadata["endpoint"] == "churn-prod"
    assert record.metadata["rows"] == 3 and record.metadata["requests"] == 2
    assert record.metadata["deployed_models"] == [
        {"deployed_model_id": deployed.id, "model": "churn", "model_version": 1}
    ]
    rows = read(records)
    assert [(r["instance_index"], r["status"]) for r in rows] == [(0, 200), (1, 200), (0, 400)]
    first, second, refused = rows
    assert json.loads(first["instance"]) == ROW  # lists are logged by feature name
    assert json.loads(second["instance"]) == {"tenure": 60, "charges": 20.0, "calls": 0}
    assert [json.loads(first["prediction"]), json.loads(second["prediction"])] == ok["predictions"]
    assert json.loads(first["parameters"]) == {"method": "predict"}
    assert first["request_id"] == second["request_id"] != refused["request_id"]
    assert (
        first["endpoint"],
        first["deployed_model_id"],
        first["model"],
        first["model_version"],
    ) == ("churn-prod", deployed.id, "churn", 1)
    assert first["protocol"] == "vertex" and first["timestamp"].tzinfo is not None
    assert refused["prediction"] is None and "'charges'" in refused["error"]

    (oip,) = prediction_logs(store, "")
    assert "/predictions/_models/churn/" in oip.uri
    (row,) = read([oip])
    assert (row["request_id"], row["deployed_model_id"], row["model_version"]) == (
        "r-9",
        "churn@2",
        2,
    )
    assert (row["protocol"], row["endpoint"]) == ("oip", "")


def test_files_are_written_every_n_rows_while_serving(churn, endpoints, store, serve):
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    server = serve(log_flush_rows=5)
    for _ in range(5):
        server.client.post("/v1/endpoints/e:predict", json={"instances": [ROW]})
    records = wait_for(lambda: prediction_logs(store, "e"), "a prediction log file")
    assert sum(r.metadata["rows"] for r in records) == 5
    assert len(read(records)) == 5


def test_the_sample_rate_is_per_endpoint(churn, endpoints, store, serve):
    endpoints.create("all")
    endpoints.create("none", log_sample_rate=0.0)
    endpoints.create("half", log_sample_rate=0.5)
    for name in ("all", "none", "half"):
        endpoints.deploy(name, "churn@1")
    server = serve()
    server.service.log.random = random.Random(7).random
    for _ in range(40):
        for name in ("all", "none", "half"):
            server.client.post(f"/v1/endpoints/{name}:predict", json={"instances": [ROW]})
    server.stop()
    draws = random.Random(7)
    expected = sum(draws.random() < 0.5 for _ in range(40))
    assert len(read(prediction_logs(store, "all"))) == 40
    assert prediction_logs(store, "none") == []
    assert len(read(prediction_logs(store, "half"))) == expected
    assert 0 < expected < 40


def test_the_server_default_rate_applies_where_an_endpoint_sets_none(
    churn, endpoints, store, serve
):
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    server = serve(log_sample_rate=0.0)
    assert (
        server.client.post("/v1/endpoints/e:predict", json={"instances": [ROW]}).status_code == 200
    )
    server.stop()
    assert prediction_logs(store) == []


def test_an_unwritable_root_drops_rows_and_keeps_serving(churn, endpoints, serve, settings):
    endpoints.create("e")
    endpoints.deploy("e", "churn@1")
    server = serve(log_flush_rows=1)
    blocked = Path(settings.artifact_root) / "predictions"
    blocked.write_text("a file where the prediction logs' folder should be")
    for _ in range(3):
        assert (
            server.client.post("/v1/endpoints/e:predict", json={"instances": [ROW]}).status_code
            == 200
        )

    def dropped():
        text = server.client.get("/metrics").text
        line = [
            x
            for x in text.splitlines()
            if x.startswith('conveyor_prediction_log_rows_total{outcome="dropped"}')
        ]
        return line and float(line[0].split()[-1]) >= 3

    wait_for(dropped, "the dropped rows to be counted")
    assert (
        server.client.post("/v1/endpoints/e:predict", json={"instances": [ROW]}).status_code == 200
    )
