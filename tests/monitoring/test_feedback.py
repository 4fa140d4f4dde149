"""Ground truth labels: read from Parquet, CSV or rows, checked with messages that name the
problem, kept as a `conveyor.GroundTruth` artifact in the artifact store, and matched
against the predictions the real prediction logger wrote (ids that match nothing are
counted and shown)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conveyor.monitoring import MonitorUsageError
from conveyor.monitoring.feedback import GROUND_TRUTH_TYPE, ground_truth, read_labels
from conveyor.serving.prediction_log import Entry, PredictionLogger
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.metadata import MetadataStore

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Runtime:
    feature_names = ("tenure", "plan")

    def features(self):
        return [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]


def log_requests(
    store: MetadataStore,
    artifacts: ArtifactStore,
    requests: list[tuple[str, list]],
    *,
    version: int = 1,
    model: str = "churn",
    start: datetime = START,
    step: timedelta = timedelta(minutes=1),
) -> None:
    """Log each (request id, predictions) as one request of as many instances, through the
    real prediction logger."""
    logger = PredictionLogger(store, artifacts, max_buffered_rows=10**9)
    for n, (request_id, predictions) in enumerate(requests):
        logger.add(
            Entry(
                timestamp=(start + n * step).timestamp(),
                request_id=request_id,
                endpoint="churn-prod",
                deployed_model_id="1",
                model=model,
                model_version=version,
                protocol="vertex",
                instances=[[i, "basic"] for i in range(len(predictions))],
                predictions=list(predictions),
                parameters=None,
                status=200,
                error=None,
                runtime=Runtime(),
            )
        )
    logger.flush()


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore.open(str(tmp_path / "artifacts"), local_dir=tmp_path)


@pytest.fixture
def home_monitors(monitors, artifacts):
    """The conftest's monitors, with an artifact store to keep labels in (as a home's)."""
    from conveyor.monitoring import Monitors

    found = Monitors(monitors.store, monitors.registry, artifacts=artifacts)
    found.create("churn-live", "churn@production")
    return found


def test_labels_are_kept_as_a_ground_truth_artifact_and_matched_to_logged_predictions(
    home_monitors, artifacts, tmp_path
):
    store = home_monitors.store
    log_requests(store, artifacts, [("a", ["stay", "churn"]), ("b", ["stay"])])
    labels = tmp_path / "labels.parquet"
    pq.write_table(
        pa.table(
            {
                "request_id": ["a", "a", "b", "nope"],
                "instance_index": [0, 1, 0, 0],
                "label": ["stay", "stay", "stay", "churn"],
            }
        ),
        labels,
    )

    summary = home_monitors.feedback("churn-live", labels)

    assert (summary.rows, summary.matched, summary.unmatched) == (4, 3, 1)
    assert summary.examples == [{"request_id": "nope", "instance_index": 0}]
    assert summary.model == "churn" and summary.monitor == "churn-live"
    record = store.get_artifact(summary.artifact_id)
    assert record.type == GROUND_TRUTH_TYPE
    assert record.metadata["model"] == "churn" and record.metadata["rows"] == 4
    assert record.metadata["received_at"] == summary.received_at.isoformat()
    assert "/ground_truth/churn/" in record.uri and record.sha256
    kept = pq.read_table(artifacts.local_path(record.uri))
    assert kept.column_names == ["request_id", "instance_index", "label"]
    assert kept.schema.field("instance_index").type == pa.int32()


def test_a_csv_with_other_column_names_and_no_index(home_monitors, artifacts, tmp_path):
    store = home_monitors.store
    log_requests(store, artifacts, [("007", [1.5]), ("008", [2.5])])
    labels = tmp_path / "truth.csv"
    labels.write_text("id,y\n007,1.0\n008,3.0\n009,4.0\n")

    summary = home_monitors.feedback("churn-live", labels, request_id_column="id", label_column="y")

    # "007" stays text (not the number 7), and the missing index means instance 0
    assert (summary.matched, summary.unmatched) == (2, 1)
    truth = ground_truth(store, "churn")
    assert truth["request_id"].to_pylist() == ["007", "008", "009"]
    assert truth["instance_index"].to_pylist() == [0, 0, 0]
    assert truth["label"].to_pylist() == [1.0, 3.0, 4.0]


def test_ids_that_match_nothing_are_reported(home_monitors, artifacts):
    log_requests(home_monitors.store, artifacts, [("a", ["stay"])])
    rows = [{"request_id": f"wrong-{i}", "label": "stay"} for i in range(8)]

    summary = home_monitors.feedback("churn-live", rows)

    assert (summary.matched, summary.unmatched) == (0, 8)
    assert len(summary.examples) == 5
    assert summary.examples[0] == {"request_id": "wrong-0", "instance_index": 0}


def test_predictions_of_another_model_do_not_match(home_monitors, artifacts):
    log_requests(home_monitors.store, artifacts, [("a", ["stay"])], model="other")
    summary = home_monitors.feedback("churn-live", [{"request_id": "a", "label": "stay"}])
    assert summary.matched == 0


def test_a_later_label_of_an_instance_replaces_the_earlier(home_monitors):
    home_monitors.feedback("churn-live", [{"request_id": "a", "label": "stay"},
                                          {"request_id": "b", "label": "stay"}])  # fmt: skip
    home_monitors.feedback("churn-live", [{"request_id": "a", "label": "churn"}])
    truth = ground_truth(home_monitors.store, "churn")
    assert dict(zip(truth["request_id"].to_pylist(), truth["label"].to_pylist(), strict=True)) == {
        "a": "churn",
        "b": "stay",
    }


def test_duplicates_in_one_file_keep_the_last_row():
    table = read_labels([{"request_id": "a", "label": 1}, {"request_id": "a", "label": 2}])
    assert table["label"].to_pylist() == [2]


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("request_id,label\n", {}, "holds no rows"),
        ("id,label\na,1\n", {}, "has no request id column 'request_id' (its columns: id, label)"),
        ("request_id,y\na,1\n", {}, "has no label column 'label'"),
        ("request_id,label\na,\n", {}, "1 empty labels"),
        ("request_id,instance_index,label\na,-1,x\n", {}, "negative or too large position"),
        ("request_id,instance_index,label\na,first,x\n", {}, "'instance_index' holds string"),
        ("request_id,label\na,1\n", {"index_column": "pos"}, "has no index column 'pos'"),
    ],
)
def test_bad_label_files_are_refused_naming_the_problem(tmp_path, content, options, message):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(MonitorUsageError, match="^labels: ") as caught:
        read_labels(path, **options)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_unreadable_and_unknown_files_are_refused(tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(MonitorUsageError, match="cannot read .*broken.parquet as Parquet"):
        read_labels(broken)
    with pytest.raises(MonitorUsageError, match="neither .parquet nor .csv"):
        read_labels(tmp_path / "labels.json")
    with pytest.raises(MonitorUsageError, match="is not a file"):
        read_labels(tmp_path / "missing.csv")
    with pytest.raises(MonitorUsageError, match="row 1 is not an object"):
        read_labels([{"request_id": "a", "label": 1}, "b"])
    with pytest.raises(MonitorUsageError, match="holds list<item: int64>"):
        read_labels([{"request_id": "a", "label": [1, 2]}])


def test_feedback_for_an_unknown_monitor_or_without_an_artifact_store(home_monitors, monitors):
    from conveyor.monitoring import MonitorNotFound

    with pytest.raises(MonitorNotFound):
        home_monitors.feedback("nobody", [{"request_id": "a", "label": 1}])
    with pytest.raises(MonitorUsageError, match="no artifact store"):
        monitors.feedback("churn-live", [{"request_id": "a", "label": 1}])
