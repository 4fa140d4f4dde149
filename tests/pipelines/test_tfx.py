"""TFX pipelines compiled by `KubeflowV2DagRunner`, run by Conveyor: the penguin pipeline end
to end in the tfx environment (lineage, properties, the cache, the pushed model registered
and served), and what is refused before a run starts.

One run of the penguin pipeline (`tfx_penguin.py`, compiled here inside the tfx
environment) is shared by the module's tests: it takes minutes, as each TFX component
starts TensorFlow and Beam in a process of its own. The tfx environment comes from PyPI
(or uv's cache), so those tests are marked `network`; the others stand in for tfx with a
few files (`fake_tfx`).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tfx_penguin import FEATURES, MODEL_NAME

import conveyor
from conveyor.client import Client
from conveyor.config import Settings
from conveyor.errors import InvalidPipeline
from conveyor.home import open_home
from conveyor.pipelines import legacy_ir, spec, validate
from conveyor.pipelines.executors import tfx_env, tfx_executor, venvs
from conveyor.store.metadata.records import Direction

pytestmark = pytest.mark.timeout(1500)  # the shared run takes minutes (TensorFlow per task)

PENGUIN = Path(__file__).with_name("tfx_penguin.py")
IMAGE = "gcr.io/tfx-oss-public/tfx:1.16.0"
TASKS = [
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
]


@pytest.fixture(scope="module")
def penguin(tmp_path_factory):
    """The penguin pipeline compiled, run once and run again (cached), in a home of its own:
    (home, compiled JSON path, first run, second run)."""
    folder = tmp_path_factory.mktemp("tfx")
    home = open_home(settings=Settings.from_env(folder / "home", environ={}))
    python = tfx_env.ensure(tfx_env.release_for(IMAGE), home.settings.envs_dir)
    compiled = folder / "penguin.json"
    subprocess.run(
        [str(python), str(PENGUIN), str(folder / "data"), str(folder / "root"), str(compiled)]
        + ["penguin"],
        check=True,
        capture_output=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    first = conveyor.run(compiled, home=home)
    second = conveyor.run(compiled, home=home)
    yield home, compiled, first, second
    home.close()


@pytest.mark.network
def test_the_penguin_pipeline_runs_end_to_end(penguin):
    _, _, first, _ = penguin
    assert first.status == "SUCCEEDED", first.error
    assert {t.name: t.status for t in first.tasks} == dict.fromkeys(TASKS, "SUCCEEDED")


@pytest.mark.network
def test_tfx_properties_and_custom_properties_are_recorded(penguin):
    home, _, first, _ = penguin
    outputs = _outputs(home, first.run_id)
    examples = outputs["CsvExampleGen"]["examples"][0]
    assert json.loads(examples.metadata["split_names"]) == ["train", "eval"]
    assert examples.metadata["input_fingerprint"].startswith("split:single_split,num_files:1")
    assert examples.metadata["custom:span"] == 0
    assert examples.type == "tfx.Examples"
    assert (Path(examples.uri) / "Split-train").is_dir()
    assert outputs["Evaluator"]["blessing"][0].metadata["blessed"] == 1
    pushed = outputs["Pusher"]["pushed_model"][0]
    assert pushed.metadata["pushed"] == 1
    assert (Path(pushed.uri) / "saved_model.pb").is_file()


@pytest.mark.network
def test_the_pushed_model_has_lineage_back_to_the_data(penguin):
    home, _, first, _ = penguin
    pushed = _outputs(home, first.run_id)["Pusher"]["pushed_model"][0]
    with Client(home) as client:
        lineage = client.lineage(pushed.id, depth=10)
    upstream = {
        lineage.executions[e.execution_id].name
        for e in lineage.edges
        if e.direction == Direction.UPSTREAM
    }
    assert set(TASKS) - {"ExampleValidator"} <= upstream


@pytest.mark.network
def test_a_second_run_is_served_from_the_cache(penguin):
    _, _, _, second = penguin
    assert second.status == "SUCCEEDED", second.error
    assert {t.name: t.status for t in second.tasks} == dict.fromkeys(TASKS, "CACHED")


@pytest.mark.network
def test_the_pushed_savedmodel_is_registered_once_with_its_run(penguin):
    home, _, first, _ = penguin
    with Client(home) as client:
        version = client.get_model_version(f"{MODEL_NAME}@default")
        assert client.find_model_version(f"{MODEL_NAME}@2") is None  # the cached run pushed none
    pusher = [e for e in home.store.get_run(first.run_id).executions if e.name == "Pusher"]
    assert version.framework == "tensorflow"
    assert (version.run_id, version.execution_id) == (first.run_id, pusher[0].id)
    assert (Path(version.artifact_uri) / "saved_model.pb").is_file()


@pytest.mark.network
def test_the_registered_model_answers_vertex_instances(penguin):
    home, _, _, _ = penguin
    adelie = dict(zip(FEATURES, (39.0, 18.3, 190.0, 3700.0), strict=True))
    gentoo = dict(zip(FEATURES, (47.5, 15.0, 217.0, 5080.0), strict=True))
    with Client(home) as client:
        client.create_endpoint("penguins")
        client.deploy("penguins", MODEL_NAME)
        answer = client.predict("penguins", [adelie, gentoo])
    assert [p["classes"] for p in answer["predictions"]] == [0, 2]
    assert answer["model"] == MODEL_NAME


def test_a_changed_csv_changes_the_examplegen_cache_key(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.csv").write_text("species,x\n0,1.0\n")
    executor = tfx_executor.TfxExecutor(None, tmp_path / "envs")
    container = {"container": {"lifecycle": {"preCacheCheck": {"command": ["python"]}}}}
    parameters = {"input_base": str(data), "input_config": '{"splits": [{"pattern": "*"}]}'}
    before = executor.pre_cache_check(container, parameters)
    (data / "data.csv").write_text("species,x\n0,1.0\n1,2.0\n")
    after = executor.pre_cache_check(container, parameters)
    assert before["input_fingerprint"] != after["input_fingerprint"]
    assert executor.pre_cache_check({"container": {}}, parameters) == {}


@pytest.mark.network
def test_the_legacy_ir_reads_as_current_ir(penguin):
    _, compiled, _, _ = penguin
    document = json.loads(compiled.read_text())
    component = document["pipelineSpec"]["components"]["CsvExampleGen"]
    assert component["inputDefinitions"]["parameters"]["output_data_format"] == {"type": "INT"}
    loaded = spec.load(compiled)
    upgraded = loaded["components"]["CsvExampleGen"]
    assert upgraded["inputDefinitions"]["parameters"]["output_data_format"] == {
        "parameterType": "NUMBER_INTEGER"
    }
    assert upgraded["outputDefinitions"]["artifacts"]["examples"]["artifactType"] == {
        "schemaTitle": "tfx.Examples",
        "schemaVersion": "0.0.1",
    }
    given = loaded["root"]["dag"]["tasks"]["CsvExampleGen"]["inputs"]["parameters"]
    assert given["output_data_format"] == {"runtimeValue": {"constant": 6}}
    current = copy.deepcopy(dict(loaded))
    assert legacy_ir.upgrade(current) == dict(loaded)  # current IR is left as it is


@pytest.mark.network
def test_a_cloud_beam_runner_is_refused_naming_the_component(penguin):
    _, compiled, _, _ = penguin
    document = json.loads(compiled.read_text())["pipelineSpec"]
    executor = document["deploymentSpec"]["executors"]["StatisticsGen_executor"]
    executor["container"]["args"] += ["--runner=DataflowRunner", "--project=p"]
    with pytest.raises(InvalidPipeline, match=r"components\.StatisticsGen .*DataflowRunner"):
        validate.check_spec(spec.load(document))


@pytest.mark.network
def test_a_tfx_release_without_wheels_here_is_refused_before_the_run(penguin, home):
    _, compiled, _, _ = penguin
    document = json.loads(compiled.read_text())
    for executor in document["pipelineSpec"]["deploymentSpec"]["executors"].values():
        executor["container"]["image"] = "gcr.io/tfx-oss-public/tfx:1.21.0"
    path = home.parent / "tfx-1.21.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidPipeline, match=r"components\.\w+ .*tfx 1\.21\.0") as refused:
        conveyor.run(path)
    if tfx_env.glibc() < tfx_env.GLIBC_OF_NEWER:
        assert "manylinux_2_39" in str(refused.value)
    assert not (home / "runs").exists()


@pytest.mark.network
def test_an_executor_class_that_cannot_be_imported_is_refused_before_the_run(penguin):
    run_home, compiled, _, _ = penguin
    document = json.loads(compiled.read_text())
    executor = document["pipelineSpec"]["deploymentSpec"]["executors"]["Trainer_executor"]
    executor["container"]["args"][1] = "tfx.components.trainer.no_such_executor.Executor"
    path = compiled.with_name("missing-class.json")
    path.write_text(json.dumps(document))
    runs = len(run_home.store.list_runs())
    with pytest.raises(InvalidPipeline, match=r"components\.Trainer: executor class .*no_such"):
        conveyor.run(path, home=run_home)
    assert len(run_home.store.list_runs()) == runs


def _outputs(home, run_id):
    """The output artifacts of a run's executions, by task name and output name."""
    detail = home.store.get_run(run_id)
    return {e.name: e.outputs for e in detail.executions}


FAKE_DRIVER = """
import hashlib, json, sys
given = json.loads(sys.argv[sys.argv.index("--json_serialized_invocation_args") + 1])
base = given["inputs"]["parameters"]["input_base"]["stringValue"]
fingerprint = hashlib.sha256(open(base + "/data.csv", "rb").read()).hexdigest()
output = {
    "parameterValues": {"span": 0, "input_fingerprint": fingerprint},
    "artifacts": {"examples": {"artifacts": [{"metadata": {"span": 0.0}}]}},
}
open(given["outputs"]["outputFile"], "w").write(json.dumps(output))
"""
FAKE_EXECUTOR = """
import json, os, sys
given = json.loads(sys.argv[sys.argv.index("--json_serialized_invocation_args") + 1])
examples = given["outputs"]["artifacts"]["examples"]["artifacts"][0]
os.makedirs(examples["uri"])
fingerprint = given["inputs"]["parameters"]["input_fingerprint"]["stringValue"]
examples["metadata"]["input_fingerprint"] = fingerprint
output = {"artifacts": {"examples": {"artifacts": [examples]}}}
open(given["outputs"]["outputFile"], "w").write(json.dumps(output))
"""


def fake_tfx(envs: Path) -> None:
    """A stand-in for the tfx environment under `envs`: this interpreter, with TFX's
    ExampleGen driver, its executor entrypoint and the CsvExampleGen executor class."""
    package = envs / "fake" / "tfx"
    files = {
        "orchestration/kubeflow/v2/file_based_example_gen/driver.py": FAKE_DRIVER,
        "orchestration/kubeflow/v2/container/kubeflow_v2_run_executor.py": FAKE_EXECUTOR,
        "components/example_gen/csv_example_gen/executor.py": "class Executor: ...\n",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    python = envs / "tfx-1.16.0" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nPYTHONPATH={envs / "fake"} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    (envs / "tfx-1.16.0" / venvs.MANIFEST).write_text("{}")


def example_gen_ir(input_base: Path) -> dict:
    """A CsvExampleGen as tfx 1.16's KubeflowV2DagRunner writes it (older IR fields)."""
    entrypoint = "tfx.orchestration.kubeflow.v2."
    invocation = ["--json_serialized_invocation_args", "{{$}}"]
    examples = {"artifactType": {"instanceSchema": "title: tfx.Examples\ntype: object\n"}}
    return {
        "pipelineInfo": {"name": "csv-only"},
        "schemaVersion": "2.0.0",
        "components": {
            "CsvExampleGen": {
                "executorLabel": "CsvExampleGen_executor",
                "inputDefinitions": {"parameters": {"input_base": {"type": "STRING"}}},
                "outputDefinitions": {"artifacts": {"examples": examples}},
            }
        },
        "deploymentSpec": {
            "executors": {
                "CsvExampleGen_executor": {
                    "container": {
                        "image": IMAGE,
                        "command": [
                            "python",
                            "-m",
                            entrypoint + "container.kubeflow_v2_run_executor",
                        ],
                        "args": ["--executor_class_path"]
                        + ["tfx.components.example_gen.csv_example_gen.executor.Executor"]
                        + invocation,
                        "lifecycle": {
                            "preCacheCheck": {
                                "command": [
                                    "python",
                                    "-m",
                                    entrypoint + "file_based_example_gen.driver",
                                ],
                                "args": invocation,
                            }
                        },
                    }
                }
            }
        },
        "root": {
            "dag": {
                "tasks": {
                    "CsvExampleGen": {
                        "componentRef": {"name": "CsvExampleGen"},
                        "inputs": {
                            "parameters": {
                                "input_base": {
                                    "runtimeValue": {
                                        "constantValue": {"stringValue": str(input_base)}
                                    }
                                }
                            }
                        },
                        "taskInfo": {"name": "CsvExampleGen"},
                        "cachingOptions": {"enableCache": True},
                    }
                }
            }
        },
    }


def test_a_changed_csv_is_read_again_rather_than_served_from_the_cache(tmp_path, home):
    fake_tfx(home / "envs")
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.csv").write_text("species,x\n0,1.0\n")
    compiled = tmp_path / "csv-only.json"
    compiled.write_text(json.dumps({"pipelineSpec": example_gen_ir(data)}))

    first, again = conveyor.run(compiled), conveyor.run(compiled)
    (data / "data.csv").write_text("species,x\n0,1.0\n1,2.5\n")
    changed = conveyor.run(compiled)

    statuses = [run.tasks[0].status for run in (first, again, changed)]
    assert statuses == ["SUCCEEDED", "CACHED", "SUCCEEDED"], first.error
    with Client() as client:
        runs = [client.get_run(run.run_id).executions[0] for run in (first, changed)]
    fingerprints = [e.outputs["examples"][0].metadata["input_fingerprint"] for e in runs]
    assert fingerprints[0] != fingerprints[1]  # the driver's, given to the executor
    assert runs[0].outputs["examples"][0].metadata["span"] == 0


def test_a_tfx_importer_imports_under_its_own_output_key(tmp_path):
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "schema.pbtxt").write_text('feature { name: "x" type: FLOAT }\n')
    title = {"instanceSchema": "title: tfx.Schema\ntype: object\n"}
    uri = {"constantValue": {"stringValue": str(schema)}}
    document = {  # as tfx 1.16's KubeflowV2DagRunner compiles tfx.dsl.Importer
        "pipelineInfo": {"name": "importing"},
        "schemaVersion": "2.0.0",
        "components": {
            "schema_importer": {
                "executorLabel": "schema_importer_executor",
                "inputDefinitions": {"parameters": {"artifact_uri": {"type": "STRING"}}},
                "outputDefinitions": {"artifacts": {"result": {"artifactType": title}}},
            }
        },
        "deploymentSpec": {
            "executors": {
                "schema_importer_executor": {"importer": {"artifactUri": uri, "typeSchema": title}}
            }
        },
        "root": {
            "dag": {
                "tasks": {
                    "schema_importer": {
                        "componentRef": {"name": "schema_importer"},
                        "inputs": {"parameters": {"artifact_uri": {"runtimeValue": uri}}},
                        "taskInfo": {"name": "schema_importer"},
                    }
                }
            }
        },
    }

    run = conveyor.run(spec.load(document))

    assert run.status == "SUCCEEDED", run.error
    with Client() as client:
        (imported,) = client.get_run(run.run_id).executions[0].outputs["result"]
    assert (imported.uri, imported.type) == (str(schema), "tfx.Schema")


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("gcr.io/tfx-oss-public/tfx:1.16.0", (1, 16, 0)),
        ("tfx:1.16.1", (1, 16, 1)),
        ("us-docker.pkg.dev/p/r/tfx-custom:v1.21.0", (1, 21, 0)),
        ("gcr.io/tfx-oss-public/tfx:latest", None),
        ("python:3.10", None),
    ],
)
def test_the_tfx_version_is_read_from_the_image_tag(image, version):
    assert tfx_env.version_of(image) == version


def test_a_release_that_does_not_run_here_says_which_does():
    with pytest.raises(tfx_env.TfxUnsupported, match=r"tfx 1\.14\.0 .*compile the pipeline"):
        tfx_env.release_for("gcr.io/tfx-oss-public/tfx:1.14.0")
    with pytest.raises(tfx_env.TfxUnsupported, match="does not name a tfx version"):
        tfx_env.release_for("gcr.io/tfx-oss-public/tfx:latest")
    assert tfx_env.release_for("tfx:1.16.0").python == "3.10"
