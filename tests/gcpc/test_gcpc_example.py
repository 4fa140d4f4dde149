"""examples/vertex_gcpc.py end to end: compiled with kfp and GCPC, the YAML Vertex AI would
run goes unchanged through Conveyor with `gs://` mapped to a folder; the model is
registered, a real server answers Vertex AI's `:predict` for the endpoint, the batch
prediction's files are laid out as Vertex AI lays them out, and the outputs carry the
metadata GCPC's downstream components read."""

import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
import yaml
from kfp import compiler

import conveyor
from conveyor.client import Client
from conveyor.home import open_home
from conveyor.serving.app import create_app
from conveyor.serving.settings import ServerSettings

EXAMPLE = Path(__file__).parents[2] / "examples" / "vertex_gcpc.py"


def example():
    spec = importlib.util.spec_from_file_location("vertex_gcpc", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serving() -> Iterator[str]:
    """A prediction server of the test's home on a loopback port; its URL."""
    home = open_home()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    app = create_app(home, ServerSettings.from_env(poll_seconds=0.05))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        home.close()


def test_the_vertex_ai_sample_runs_on_conveyor(gcs, tmp_path):
    compiled = tmp_path / "vertex_gcpc.yaml"
    compiler.Compiler().compile(example().pipeline, str(compiled))
    before = compiled.read_text()
    run = conveyor.run(str(compiled), {"project": "my-project", "location": "europe-west4"})
    assert run.status == "SUCCEEDED", run.error
    assert compiled.read_text() == before
    assert yaml.safe_load(before)["deploymentSpec"]  # the YAML Vertex AI takes, as compiled

    with Client() as client:
        executions = {e.task_key: e for e in client.get_run(run.run_id).executions}
        version = client.get_model_version("iris@candidate")
        assert (version.version_id, version.framework, version.labels) == (
            1,
            "sklearn",
            {"team": "ml"},
        )
        assert version.run_id == run.run_id
        assert version.artifact_uri == str(gcs / "conveyor-example" / "iris" / "model")
        endpoint = client.get_endpoint("iris")
        assert [d.reference for d in endpoint.deployed_models] == ["iris@1"]
        assert client.predict("iris", [[5.1, 3.5, 1.4, 0.2]])["predictions"] == [0]
    assert executions["train"].output_parameters["Output"] > 0.8  # the component's own output

    [model] = executions["model-upload"].outputs["model"]
    assert (model.type, model.metadata) == (
        "google.VertexModel",
        {"resourceName": "projects/my-project/locations/europe-west4/models/iris@1"},
    )
    [created] = executions["endpoint-create"].outputs["endpoint"]
    resource = created.metadata["resourceName"]
    assert (created.type, resource) == (
        "google.VertexEndpoint",
        "projects/my-project/locations/europe-west4/endpoints/iris",
    )
    with serving() as url:
        answer = httpx.post(
            f"{url}/v1/{resource}:predict", json={"instances": [[6.7, 3.0, 5.2, 2.3]]}
        ).json()
    assert (answer["predictions"], answer["model"]) == ([2], "iris")

    [job] = executions["model-batch-predict"].outputs["batchpredictionjob"]
    assert job.type == "google.VertexBatchPredictionJob"
    assert job.metadata["resourceName"].startswith(
        "projects/my-project/locations/europe-west4/batchPredictionJobs/"
    )
    directory = job.metadata["gcsOutputDirectory"]
    assert directory.startswith("gs://conveyor-example/iris/predictions/prediction-iris-")
    predictions = gcs / directory.removeprefix("gs://") / "predictions_00001.jsonl"
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    held_out = (gcs / "conveyor-example" / "iris" / "instances.jsonl").read_text().splitlines()
    assert [line["instance"] for line in lines] == [json.loads(row) for row in held_out]
    assert {line["prediction"] for line in lines} <= {0, 1, 2}
    for task in ("train", "model-upload", "endpoint-create", "model-deploy", "model-batch-predict"):
        resources = json.loads(executions[task].output_parameters["gcp_resources"])
        assert resources["resources"][0]["resourceUri"].startswith(
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/"
        )
