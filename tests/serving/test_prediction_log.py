"""The prediction log's files: typed feature and prediction columns (layout 2) beside the
JSON ones, read back with pyarrow, and the guarantees every file keeps (atomic publish,
metadata records, dropped rows counted, written at close, one id per instance)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from serving_support import ROW, SCHEMA, wait_for

from conveyor.serving.prediction_log import (
    LAYOUT,
    LOG_TYPE,
    Entry,
    Layout,
    PredictionLogger,
    layout_of,
    prediction_logs,
    read_prediction_logs,
    to_table,
)
from conveyor.serving.prediction_log import SCHEMA as LOG_SCHEMA


class Runtime:
    """What the log asks of a runtime: its feature names and their schema entries."""

    def __init__(self, features: list[dict] | None) -> None:
        self.feature_names = tuple(f["name"] for f in features) if features else None
        self._features = features

    def features(self):
        return self._features


TYPED = Runtime(
    [
        {"name": "tenure", "type": "integer"},
        {"name": "charges", "type": "float"},
        {"name": "city", "type": "string"},
        {"name": "senior", "type": "boolean"},
    ]
)
NUMERIC = Runtime([{"name": n, "type": "float"} for n in ("a", "b")])  # no schema: floats
UNNAMED = Runtime(None)


class Counted:
    """A stand-in for the server's metrics: rows counted by outcome."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}

    def labels(self, outcome):
        counted = self

        class _Counter:
            def inc(self, n):
                counted.rows[outcome] = counted.rows.get(outcome, 0) + n

        return _Counter()

    @property
    def log_rows(self):
        return self


def entry(instances, predictions, *, runtime=TYPED, status=200, error=None, request_id="r-1",
          endpoint="churn-prod", model="churn", version=1, parameters=None):  # fmt: skip
    return Entry(
        timestamp=time.time(),
        request_id=request_id,
        endpoint=endpoint,
        deployed_model_id="7" if endpoint else f"{model}@{version}",
        model=model,
        model_version=version,
        protocol="vertex" if endpoint else "oip",
        instances=instances,
        predictions=predictions,
        parameters=parameters,
        status=status,
        error=error,
        runtime=runtime,
    )


@pytest.fixture
def logger(own_home):
    found = PredictionLogger(own_home.store, own_home.artifacts, metrics=Counted())
    yield found
    found.close()


def read(record) -> pa.Table:
    return read_prediction_logs([record])


def test_features_and_predictions_get_typed_columns(logger, store):
    logger.add(
        entry(
            [[3, 80.5, "Lyon", False], {"tenure": 60, "charges": 20, "city": "Nantes",
                                        "senior": True}],
            [1, 0],
            parameters={"method": "predict"},
        )
    )  # fmt: skip
    logger.add(entry([{"tenure": 5, "charges": 1.5, "city": "Pau", "senior": False}], [1],
                     request_id=None))  # fmt: skip
    (uri,) = logger.flush()
    (record,) = prediction_logs(store, "churn-prod")
    assert record.uri == uri
    table = read(record)
    assert table.schema.names == [
        *LOG_SCHEMA.names,
        "feature.tenure",
        "feature.charges",
        "feature.city",
        "feature.senior",
        "prediction.value",
    ]
    assert pa.schema(list(table.schema)[: len(LOG_SCHEMA)]).equals(LOG_SCHEMA)
    types = {f.name: f.type for f in table.schema}
    assert types["feature.tenure"] == pa.int64()
    assert types["feature.charges"] == pa.float64()
    assert types["feature.city"] == pa.string()
    assert types["feature.senior"] == pa.bool_()
    assert types["prediction.value"] == pa.int64()
    rows = table.to_pylist()
    assert [r["feature.tenure"] for r in rows] == [3, 60, 5]
    assert [r["feature.charges"] for r in rows] == [80.5, 20.0, 1.5]
    assert [r["feature.city"] for r in rows] == ["Lyon", "Nantes", "Pau"]
    assert [r["feature.senior"] for r in rows] == [False, True, False]
    assert [r["prediction.value"] for r in rows] == [1, 0, 1]
    # The JSON columns keep their meaning: an object of feature name to value.
    assert json.loads(rows[0]["instance"]) == {
        "tenure": 3, "charges": 80.5, "city": "Lyon", "senior": False
    }  # fmt: skip
    assert json.loads(rows[1]["instance"])["charges"] == 20
    assert [json.loads(r["prediction"]) for r in rows] == [1, 0, 1]
    assert json.loads(rows[0]["parameters"]) == {"method": "predict"}
    # One stable id per instance: the request's id and the position in it.
    assert [(r["request_id"], r["instance_index"]) for r in rows[:2]] == [("r-1", 0), ("r-1", 1)]
    assert len(rows[2]["request_id"]) == 32 and rows[2]["instance_index"] == 0
    assert rows[0]["timestamp"].tzinfo is not None and rows[0]["status"] == 200


def test_each_file_is_published_and_recorded(logger, store, own_home):
    logger.add(entry([[3, 80.5, "Lyon", False]], [1]))
    logger.add(entry([[1, 2.0]], [0], runtime=NUMERIC, endpoint="", model="m", version=3))
    written = logger.flush()
    assert len(written) == 2
    records = prediction_logs(store)
    assert {r.uri for r in records} == set(written)
    for record in records:
        path = Path(record.uri)
        assert record.type == LOG_TYPE and record.state == "LIVE"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record.sha256
        assert record.size == path.stat().st_size
        assert record.metadata["layout"] == LAYOUT and record.metadata["rows"] == 1
        assert record.metadata["requests"] == 1
    oip = next(r for r in records if r.metadata["endpoint"] == "")
    assert "/predictions/_models/m/" in oip.uri
    assert oip.metadata["deployed_models"] == [
        {"deployed_model_id": "m@3", "model": "m", "model_version": 3}
    ]
    # Nothing is left half-written beside the published files.
    assert not any(p.suffix == ".parquet" for p in own_home.artifacts.staging_area.rglob("*"))


def test_refused_input_keeps_its_json_and_nulls_what_does_not_fit(logger, store):
    logger.add(entry([{"tenure": "x", "charges": 1.0}], None, status=400, error="bad tenure"))
    logger.add(entry([[2.5, 3, "Metz", 1]], [0]))  # answered, but 2.5 is no integer
    logger.add(entry([[4, 4.5, "Caen", True]], [1]))
    logger.flush()
    rows = read(prediction_logs(store)[0]).to_pylist()
    refused, odd, fine = rows
    assert json.loads(refused["instance"]) == {"tenure": "x", "charges": 1.0}
    assert refused["feature.tenure"] is None and refused["feature.charges"] == 1.0
    assert refused["prediction"] is None and refused["prediction.value"] is None
    assert refused["status"] == 400 and refused["error"] == "bad tenure"
    assert odd["feature.tenure"] is None and odd["feature.charges"] == 3.0
    assert odd["feature.senior"] is None  # 1 is not a boolean
    assert json.loads(odd["instance"])["tenure"] == 2.5
    assert (fine["feature.tenure"], fine["feature.senior"], fine["prediction.value"]) == (
        4,
        True,
        1,
    )


def test_predictions_that_are_not_single_values_stay_json(logger, store):
    logger.add(entry([[1.0, 2.0], [3.0, 4.0]], [[0.1, 0.9], [0.8, 0.2]], runtime=NUMERIC))
    logger.flush()
    table = read(prediction_logs(store)[0])
    assert "prediction.value" not in table.schema.names
    assert table.schema.field("feature.a").type == pa.float64()
    assert [json.loads(p) for p in table["prediction"].to_pylist()] == [[0.1, 0.9], [0.8, 0.2]]
    assert table["feature.b"].to_pylist() == [2.0, 4.0]


def test_mixed_predictions_type_their_single_values(logger, store):
    logger.add(entry([[1.0, 2.0]], [1], runtime=NUMERIC))
    logger.add(entry([[3.0, 4.0]], [[0.8, 0.2]], runtime=NUMERIC))
    logger.flush()
    table = read(prediction_logs(store)[0])
    assert table["prediction.value"].to_pylist() == [1, None]
    assert table["prediction"].to_pylist() == ["1", "[0.8,0.2]"]


def test_a_model_without_feature_names_has_json_only(logger, store):
    logger.add(entry([[1, 2, 3]], [0.5], runtime=UNNAMED))
    logger.flush()
    table = read(prediction_logs(store)[0])
    assert not any(n.startswith("feature.") for n in table.schema.names)
    assert table["instance"].to_pylist() == ["[1,2,3]"]
    assert table.schema.field("prediction.value").type == pa.float64()


def test_a_file_keeps_each_value_once_and_the_reader_makes_the_instance(logger, store):
    logger.add(entry([[1.0, 2.5], [3.0, 4.0]], [0, 1], runtime=NUMERIC))
    logger.add(entry([[1.0]], None, runtime=NUMERIC, status=400, error="instance 0 has 1"))
    logger.flush()
    (record,) = prediction_logs(store)
    assert record.metadata["layout"] == LAYOUT == 3
    stored = pq.read_table(record.uri)
    assert stored["instance"].to_pylist() == [None, None, "[1.0]"]  # the refused row as sent
    assert stored["feature.b"].to_pylist() == [2.5, 4.0, None]
    rows = read(record).to_pylist()
    assert [json.loads(r["instance"]) for r in rows] == [
        {"a": 1.0, "b": 2.5},
        {"a": 3.0, "b": 4.0},
        [1.0],
    ]


def test_text_is_stored_as_text_and_columns_without_nulls_as_required(logger):
    logger.add(entry([[1.0, 2.5], [3.0, 4.0]], [0, 1], runtime=NUMERIC))
    logger.add(entry([[5.0, 6.0]], [1], runtime=NUMERIC, request_id="r-2"))
    (answered,) = logger.flush()
    logger.add(entry([[1.0, 2.5]], [1], runtime=NUMERIC))
    logger.add(entry([[1.0]], None, runtime=NUMERIC, status=400, error="instance 0 has 1"))
    (refused,) = logger.flush()
    schema = pq.read_schema(answered)
    assert schema.field("request_id").type == pa.string()  # written as a dictionary
    assert schema.field("prediction").type == pa.string()
    assert not any(schema.field(n).nullable for n in ("request_id", "feature.a", "prediction"))
    assert schema.field("error").nullable  # null in every row
    table = pq.read_table(answered)
    assert table["request_id"].to_pylist() == ["r-1", "r-1", "r-2"]
    assert table["prediction"].to_pylist() == ["0", "1", "1"]
    assert table["feature.a"].to_pylist() == [1.0, 3.0, 5.0]
    schema = pq.read_schema(refused)
    assert schema.field("feature.a").nullable and schema.field("prediction").nullable
    assert pq.read_table(refused)["error"].to_pylist() == [None, "instance 0 has 1"]


def test_nan_is_kept_typed_and_null_in_json(logger, store):
    logger.add(entry([[1.0, float("nan")], [2.0, float("inf")]], [0, 1], runtime=NUMERIC))
    logger.flush()
    rows = read(prediction_logs(store)[0]).to_pylist()
    assert math.isnan(rows[0]["feature.b"]) and rows[1]["feature.b"] == math.inf
    assert json.loads(rows[0]["instance"]) == {"a": 1.0, "b": None}
    assert json.loads(rows[1]["instance"]) == {"a": 2.0, "b": None}


def test_versions_with_other_features_get_files_of_their_own(logger, store):
    logger.add(entry([[3, 80.5, "Lyon", False]], [1]))
    logger.add(entry([[1.0, 2.0]], [0], runtime=NUMERIC, version=2))
    logger.add(entry([[4, 1.5, "Pau", True]], [0]))
    assert len(logger.flush()) == 2
    tables = [read(r) for r in prediction_logs(store, "churn-prod")]
    assert sorted(t.num_rows for t in tables) == [1, 2]
    names = [n for t in tables for n in t.schema.names if n.startswith("feature.")]
    assert sorted(names) == sorted(
        ["feature.tenure", "feature.charges", "feature.city", "feature.senior",
         "feature.a", "feature.b"]
    )  # fmt: skip


def test_rows_beyond_the_buffer_are_dropped_and_counted(own_home, store):
    metrics = Counted()
    logger = PredictionLogger(own_home.store, own_home.artifacts, max_buffered_rows=3,
                              metrics=metrics)  # fmt: skip
    for i in range(5):
        logger.add(entry([[i, 1.0, "x", True]], [0], request_id=f"r-{i}"))
    logger.close()
    assert metrics.rows == {"dropped": 2, "written": 3}
    rows = read(prediction_logs(store)[0]).to_pylist()
    assert [r["request_id"] for r in rows] == ["r-2", "r-3", "r-4"]


def test_a_file_that_cannot_be_written_is_dropped_and_counted(own_home, settings):
    metrics = Counted()
    logger = PredictionLogger(own_home.store, own_home.artifacts, metrics=metrics)
    (Path(settings.artifact_root) / "predictions").write_text("not a folder")
    logger.add(entry([[1, 1.0, "x", True], [2, 2.0, "y", False]], [0, 1]))
    assert logger.flush() == []
    assert metrics.rows == {"dropped": 2}
    logger.close()


def test_the_thread_writes_every_n_rows_and_close_writes_the_rest(own_home, store):
    logger = PredictionLogger(own_home.store, own_home.artifacts, flush_rows=4,
                              flush_seconds=3600)  # fmt: skip
    logger.start()
    try:
        for i in range(4):
            logger.add(entry([[i, 1.0, "x", True]], [0]))
        first = wait_for(lambda: prediction_logs(store), "a file of 4 rows")
        assert first[0].metadata["rows"] == 4
        logger.add(entry([[4, 1.0, "x", True]], [0]))
    finally:
        logger.close()
    assert [r.metadata["rows"] for r in prediction_logs(store)] == [4, 1]


def test_arrays_wait_for_a_file_and_never_for_a_full_buffer(own_home, store):
    metrics = Counted()
    logger = PredictionLogger(own_home.store, own_home.artifacts, flush_rows=10_000,
                              flush_seconds=3600, max_buffered_rows=256,
                              metrics=metrics)  # fmt: skip
    logger.start()
    rows = np.arange(64 * 2, dtype=np.float64).reshape(64, 2)
    try:
        for i in range(8):  # half the buffer wakes the thread, whatever the arrays hold
            logger.add(entry(rows + i, [0] * 64, runtime=NUMERIC, request_id=f"r-{i}"))
            if i % 2:
                wait_for(lambda: not logger._buffer, "the buffer taken by the thread")
    finally:
        logger.close()
    assert metrics.rows == {"written": 8 * 64}
    (record,) = prediction_logs(store)
    table = read(record)
    assert table["feature.a"].to_pylist()[64:66] == [1.0, 3.0]
    assert table["request_id"].to_pylist()[::64] == [f"r-{i}" for i in range(8)]


def test_layout_of_types_features_from_the_schema():
    assert layout_of(TYPED) == Layout(
        ("tenure", "charges", "city", "senior"), ("integer", "float", "string", "boolean")
    )
    assert layout_of(UNNAMED).names is None
    untyped = Runtime([{"name": "x"}, {"name": "y", "type": "double"}])
    assert layout_of(untyped).typed == [(1, "y", "float")]


def test_many_requests_are_columns_as_one_by_one(logger):
    """The columnar path (many requests together) gives what each request alone gives."""
    layout = layout_of(TYPED)
    entries = [
        entry([[i, i / 3, f"c{i}", i % 2 == 0]] * 3, [i % 2] * 3, request_id=f"r-{i}")
        for i in range(3000)
    ]
    together = to_table(entries, layout)
    alone = pa.concat_tables([to_table([e], layout) for e in entries[:50]])
    assert together.num_rows == 9000
    assert (
        together.slice(0, 150).drop_columns(["timestamp"]).equals(alone.drop_columns(["timestamp"]))
    )


def test_old_and_new_files_read_as_one_table(logger, store, tmp_path):
    old = pa.table(
        {
            "timestamp": pa.array([0], pa.timestamp("us", tz="UTC")),
            "request_id": ["old"],
            "endpoint": ["churn-prod"],
            "deployed_model_id": ["7"],
            "model": ["churn"],
            "model_version": pa.array([1], pa.int64()),
            "protocol": ["vertex"],
            "instance_index": pa.array([0], pa.int32()),
            "instance": [json.dumps({"tenure": 9, "charges": 10.5, "extra": "z"})],
            "prediction": ["1"],
            "parameters": pa.array([None], pa.string()),
            "status": pa.array([200], pa.int32()),
            "error": pa.array([None], pa.string()),
        },
        schema=LOG_SCHEMA,
    )
    pq.write_table(old, tmp_path / "old.parquet")
    logger.add(entry([[3, 80.5, "Lyon", False]], [0]))
    logger.flush()
    table = read_prediction_logs([str(tmp_path / "old.parquet"), *prediction_logs(store)])
    assert table.schema.names[: len(LOG_SCHEMA)] == LOG_SCHEMA.names
    rows = table.to_pylist()
    assert [r["feature.tenure"] for r in rows] == [9, 3]
    assert [r["feature.charges"] for r in rows] == [10.5, 80.5]
    assert [r["feature.city"] for r in rows] == [None, "Lyon"]
    assert [r["feature.extra"] for r in rows] == ["z", None]
    assert [r["prediction.value"] for r in rows] == [1, 0]
    assert table.schema.field("feature.tenure").type == pa.int64()


def test_a_served_model_logs_typed_columns(churn, endpoints, store, serve):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    server = serve()
    vertex = server.client.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64",
                        "data": [3, 80.5, 6, 60, 20.0, 0]}]}  # fmt: skip
    oip = server.client.post("/v2/models/churn/infer", json=body)
    assert oip.status_code == 200
    server.stop()
    answers = vertex.json()["predictions"] + oip.json()["outputs"][0]["data"]
    table = read_prediction_logs(prediction_logs(store))
    assert [f"feature.{f['name']}" for f in SCHEMA] == [
        n for n in table.schema.names if n.startswith("feature.")
    ]
    assert table.schema.field("feature.tenure").type == pa.int64()
    assert table.schema.field("feature.charges").type == pa.float64()
    assert table["feature.tenure"].to_pylist() == [3, 3, 60]
    assert table["prediction.value"].to_pylist() == answers
    assert json.loads(table["instance"][2].as_py()) == {"tenure": 60, "charges": 20.0, "calls": 0}
