"""Whole pipelines of GCPC components on Conveyor: a refused component stops the run before
it starts; a custom job, WaitGcpResourcesOp and TabularDatasetCreateOp run as tasks."""

import json
import sys

from google_cloud_pipeline_components.types.artifact_types import VertexDataset
from google_cloud_pipeline_components.v1.bigquery import BigqueryQueryJobOp
from google_cloud_pipeline_components.v1.custom_job import CustomTrainingJobOp
from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp
from google_cloud_pipeline_components.v1.wait_gcp_resources import WaitGcpResourcesOp
from kfp import compiler, dsl

import conveyor
from conveyor.cli import main as cli_main
from conveyor.client import Client

WORKER = """
import json, os, sys
names = ["AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR", "CLOUD_ML_PROJECT_ID",
         "CLOUD_ML_REGION", "CLOUD_ML_JOB_ID", "GREETING"]
seen = {n: os.environ.get(n) for n in names}
seen["python"] = sys.executable
seen["args"] = sys.argv[1:]
with open(os.path.join(os.environ["AIP_MODEL_DIR"], "seen.json"), "w") as f:
    json.dump(seen, f)
print("trained")
"""


@dsl.component(base_image="python:3.11")
def count_rows(dataset: dsl.Input[VertexDataset]) -> int:
    import os

    rows = 0
    for name in sorted(os.listdir(dataset.path)):
        with open(os.path.join(dataset.path, name)) as f:
            rows += len(f.read().splitlines()) - 1  # less the header
    return rows


@dsl.pipeline(name="gcpc-jobs")
def jobs(project: str = "p", location: str = "europe-west4"):
    job = CustomTrainingJobOp(
        project=project,
        location=location,
        display_name="train",
        base_output_directory="gs://bucket/job",
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1,
                "container_spec": {
                    "image_uri": "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest",
                    "command": ["python3", "-c", WORKER],
                    "args": ["--epochs", "3"],
                    "env": [{"name": "GREETING", "value": "hello"}],
                },
            }
        ],
    )
    WaitGcpResourcesOp(gcp_resources=job.outputs["gcp_resources"])
    dataset = TabularDatasetCreateOp(
        project=project,
        location=location,
        display_name="rows",
        gcs_source="gs://bucket/data/part-*.csv",
    )
    count_rows(dataset=dataset.outputs["dataset"])


def test_a_custom_job_a_wait_and_a_dataset_run_as_tasks(gcs):
    (gcs / "bucket" / "data").mkdir(parents=True)
    for part, rows in (("part-1.csv", 2), ("part-2.csv", 3)):
        lines = ["x,y", *(f"{i},{i}" for i in range(rows))]
        (gcs / "bucket" / "data" / part).write_text("\n".join(lines) + "\n")
    run = conveyor.run(jobs)
    assert run.status == "SUCCEEDED", run.error
    seen = json.loads((gcs / "bucket" / "job" / "model" / "seen.json").read_text())
    job = gcs / "bucket" / "job"
    assert seen["AIP_MODEL_DIR"] == f"{job / 'model'}/"
    assert seen["AIP_CHECKPOINT_DIR"] == f"{job / 'checkpoints'}/"
    assert seen["AIP_TENSORBOARD_LOG_DIR"] == f"{job / 'logs'}/"
    assert (seen["CLOUD_ML_PROJECT_ID"], seen["CLOUD_ML_REGION"]) == ("p", "europe-west4")
    assert (seen["GREETING"], seen["args"]) == ("hello", ["--epochs", "3"])
    assert seen["python"].startswith(sys.prefix)  # `python3` is Conveyor's own
    with Client() as client:
        detail = client.get_run(run.run_id)
    executions = {e.task_key: e for e in detail.executions}
    resources = json.loads(executions["custom-training-job"].output_parameters["gcp_resources"])
    [resource] = resources["resources"]
    assert resource["resourceType"] == "CustomJob"
    assert resource["resourceUri"] == (
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/"
        f"customJobs/{seen['CLOUD_ML_JOB_ID']}"
    )
    waited = json.loads(executions["wait-gcp-resources"].output_parameters["gcp_resources"])
    assert waited == resources
    [dataset] = executions["tabular-dataset-create"].outputs["dataset"]
    assert dataset.type == "google.VertexDataset"
    assert dataset.metadata["resourceName"].startswith(
        "projects/p/locations/europe-west4/datasets/"
    )
    assert executions["count-rows"].output_parameters["Output"] == 5


@dsl.pipeline(name="gcpc-bigquery")
def bigquery(project: str = "p"):
    BigqueryQueryJobOp(project=project, query="SELECT 1")


def test_a_component_conveyor_does_not_run_is_refused_before_the_run_starts(
    tmp_path, monkeypatch, capsys
):
    spec = tmp_path / "bigquery.yaml"
    compiler.Compiler().compile(bigquery, str(spec))
    monkeypatch.setattr(sys, "argv", ["conveyor", "run", str(spec)])
    try:
        cli_main.main()
        code = 0
    except SystemExit as exit:
        code = exit.code
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "BigQuery and BigQuery ML (Bigquery*JobOp)" in err
    assert "google_cloud_pipeline_components.container.v1.bigquery.query_job.launcher" in err
    assert "DuckDB" in err
    with Client() as client:
        assert client.list_runs() == []
