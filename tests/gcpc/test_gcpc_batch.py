"""ModelBatchPredictOp through Conveyor's model runtimes: the instances' formats, Vertex AI's
output layout and artifacts, `instance_config`, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gcpc_support import model_folder, unmanaged, upload
from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp

from conveyor.components.gcpc._launcher import LauncherError

MODEL = {"uri": "", "metadata": {"resourceName": "projects/p/locations/l/models/iris@1"}}
"""A model input for checks made before the model is read."""
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
FIELDS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def write(gcs: Path, name: str, text: str) -> str:
    path = gcs / "bucket" / "batch" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return f"gs://bucket/batch/{name}"


def predict(launch, model: dict | None = None, sources=(), **parameters):
    values = {
        "project": "p",
        "location": "l",
        "job_display_name": "iris-batch",
        "gcs_source_uris": list(sources),
        "gcs_destination_output_uri_prefix": "gs://bucket/predictions",
        **parameters,
    }
    artifacts = {"model": model} if model is not None else parameters.pop("artifacts", {})
    return launch(ModelBatchPredictOp, values, artifacts)


def lines(folder: Path) -> list[dict]:
    return [
        json.loads(line) for line in (folder / "predictions_00001.jsonl").read_text().splitlines()
    ]


def test_jsonl_instances_give_vertex_ai_s_layout_and_artifacts(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    first = write(gcs, "part-1.jsonl", json.dumps(ROWS[0]) + "\n\n")
    write(gcs, "part-2.jsonl", json.dumps(ROWS[1]) + "\n")
    out = predict(launch, model, [first, "gs://bucket/batch/part-2*"], instances_format="jsonl")
    job = out.artifacts["batchpredictionjob"]["metadata"]
    assert job["resourceName"].startswith("projects/p/locations/l/batchPredictionJobs/")
    assert (job["bigqueryOutputTable"], job["bigqueryOutputDataset"]) == ("", "")
    directory = job["gcsOutputDirectory"]
    assert directory.startswith("gs://bucket/predictions/prediction-iris-")
    folder = gcs / directory.removeprefix("gs://")
    assert out.artifacts["gcs_output_directory"]["uri"] == str(folder)  # readable downstream
    assert lines(folder) == [
        {"instance": ROWS[0], "prediction": 0},
        {"instance": ROWS[1], "prediction": 2},
    ]
    [resource] = out.gcp_resources["resources"]
    assert resource["resourceType"] == "BatchPredictionJob"
    assert resource["resourceUri"].endswith(job["resourceName"])


def test_csv_rows_are_list_instances_of_numbers(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    text = ",".join(FIELDS) + "\n" + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n"
    out = predict(launch, model, [write(gcs, "rows.csv", text)], instances_format="csv")
    folder = gcs / out.artifacts["batchpredictionjob"]["metadata"]["gcsOutputDirectory"][5:]
    assert [line["instance"] for line in lines(folder)] == ROWS


def test_instance_config_picks_fields_and_keys(gcs, launch):
    model = upload(launch, gcs).artifacts["model"]
    objects = [
        {"id": f"row-{i}", **dict(zip(FIELDS, row, strict=True))} for i, row in enumerate(ROWS)
    ]
    source = write(gcs, "objects.jsonl", "".join(json.dumps(o) + "\n" for o in objects))
    out = predict(
        launch,
        model,
        [source],
        key_field="id",
        included_fields=FIELDS,
        instance_type="array",
    )
    folder = gcs / out.artifacts["batchpredictionjob"]["metadata"]["gcsOutputDirectory"][5:]
    assert lines(folder) == [{"key": "row-0", "prediction": 0}, {"key": "row-1", "prediction": 2}]


def test_an_unmanaged_container_model_predicts_without_upload(gcs, launch):
    model = unmanaged(model_folder(gcs))
    source = write(gcs, "rows.jsonl", json.dumps(ROWS[1]) + "\n")
    out = predict(launch, None, [source], artifacts={"unmanaged_container_model": model})
    folder = gcs / out.artifacts["batchpredictionjob"]["metadata"]["gcsOutputDirectory"][5:]
    assert folder.name.startswith("prediction-iris-batch-")
    assert lines(folder) == [{"instance": ROWS[1], "prediction": 2}]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"bigquery_source_input_uri": "bq://p.d.t"}, "BigQuery"),
        ({"bigquery_destination_output_uri": "bq://p"}, "BigQuery"),
        ({"instances_format": "tf-record"}, "instances_format 'tf-record'"),
        ({"predictions_format": "csv"}, "predictions_format 'csv'"),
        ({"gcs_destination_output_uri_prefix": ""}, "gcs_destination_output_uri_prefix"),
    ],
)
def test_what_conveyor_cannot_do_is_refused_clearly(gcs, launch, parameters, message):
    source = write(gcs, "rows.jsonl", json.dumps(ROWS[0]) + "\n")
    with pytest.raises(LauncherError, match=message):
        predict(launch, MODEL, [source], **parameters)


def test_a_source_that_names_no_file_says_where_it_looked(gcs, launch):
    with pytest.raises(LauncherError, match="names no file.*CONVEYOR_GCS_ROOT"):
        predict(launch, MODEL, ["gs://bucket/batch/missing-*.jsonl"])
