"""Names never become paths unescaped: a pipeline or task named to climb out of the home
runs inside it, under the names its author gave; an importer's URI stays where the home
allows."""

import os
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl

import conveyor
from conveyor.client import Client
from conveyor.pipelines.executors.importer import ImporterError, checked_uri
from conveyor.store.artifacts import naming

HOSTILE = [
    "../../../../escaped",
    "a/../../x",
    "..",
    "{tmp}/abs/olute",
    "dots..",
    "名前 with spaces",
]
"""`{tmp}` is the test's folder: an absolute name that escapes, should a build break the
rule, lands where the test looks, not in `/`."""
CLIMB = 40
"""Folders between the test's folder and the home: more than any name here climbs."""


@pytest.fixture
def home(home, tmp_path, monkeypatch):
    """The home deep below the test's folder, so that a name that climbs out of it stays
    in the test's folder (where the test looks) on a build that breaks the rule."""
    deep = tmp_path.joinpath(*["d"] * CLIMB, "home")
    deep.mkdir(parents=True)
    monkeypatch.setenv("CONVEYOR_HOME", str(deep))
    return deep


@dsl.component
def write(text: str) -> str:
    print(f"writing {text}")
    return text


@dsl.pipeline(name="plain")
def plain(text: str = "hi") -> str:
    return write(text=text).output


def renamed(tmp_path: Path, pipeline: str, task: str) -> Path:
    """`plain`, compiled, with its pipeline and its task named as given."""
    compiled = tmp_path / "plain.yaml"
    compiler.Compiler().compile(plain, str(compiled))
    spec = yaml.safe_load(compiled.read_text())
    spec["pipelineInfo"]["name"] = pipeline
    dag = spec["root"]["dag"]
    dag["tasks"][task] = dag["tasks"].pop("write")
    dag["tasks"][task]["taskInfo"]["name"] = task
    dag["outputs"]["parameters"]["Output"]["valueFromParameter"]["producerSubtask"] = task
    compiled.write_text(yaml.safe_dump(spec))
    return compiled


def everything_under(folder: Path) -> set[Path]:
    return {Path(root) / name for root, dirs, files in os.walk(folder) for name in dirs + files}


def beside(folder: Path, home: Path) -> set[Path]:
    """What `folder` holds outside `home`."""
    return everything_under(folder) - everything_under(home) - {home}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_pipeline_and_task_names_stay_inside_the_home(tmp_path, home, name):
    name = name.format(tmp=tmp_path)
    spec = renamed(tmp_path, name, name)
    outside = tmp_path.parent
    before = set(os.listdir(outside)), beside(tmp_path, home)
    run = conveyor.run(spec)
    assert run.status == "SUCCEEDED", run.error
    assert run.outputs["Output"] == "hi"
    assert (set(os.listdir(outside)), beside(tmp_path, home)) == before
    assert not Path("/abs").exists() and not (Path("/") / "escaped").exists()

    (task,) = run.tasks
    assert task.name == name  # users see the names they gave
    assert task.log_path.is_relative_to(home / "runs") and "writing hi" in task.log_path.read_text()
    assert "/" not in run.run_id and not run.run_id.startswith(".")
    with Client() as client:
        assert client.get_run(run.run_id).pipeline_name == name


def test_a_segment_is_safe_and_names_stay_apart():
    long = "x" * 1000
    for name in [*HOSTILE, "", long, long + "y"]:
        segment = naming.segment(name)
        assert "/" not in segment and segment not in {"", ".", ".."}
        assert not segment.startswith(".") and len(segment.encode()) <= naming.MAX_SEGMENT
    assert naming.segment(long) != naming.segment(long + "y")


def test_an_importer_uri_is_normalised_and_held_to_the_allowed_folders(tmp_path):
    allowed = tmp_path / "data"
    (allowed / "sub").mkdir(parents=True)
    assert checked_uri(f"{allowed}/sub/../file.csv", (allowed,)) == f"{allowed}/file.csv"
    assert checked_uri("file://" + f"{allowed}/./f", (allowed,)) == f"file://{allowed}/f"
    with pytest.raises(ImporterError, match="outside the allowed artifact folders"):
        checked_uri(f"{allowed}/../../etc/passwd", (allowed,))
    (allowed / "link").symlink_to("/etc")
    with pytest.raises(ImporterError, match="outside the allowed artifact folders"):
        checked_uri(f"{allowed}/link/passwd", (allowed,))
    with pytest.raises(ImporterError, match="climbs with '..'"):
        checked_uri("s3://bucket/models/../../other/model", ())
    assert checked_uri("/anywhere/../at/all", ()) == "/at/all"  # no folders named: anywhere


def test_a_run_refuses_an_importer_outside_the_allowed_folders(tmp_path, monkeypatch):
    allowed = tmp_path / "data"
    allowed.mkdir()
    (allowed / "ok.csv").write_text("a\n1\n")
    monkeypatch.setenv("CONVEYOR_ALLOWED_ARTIFACT_ROOTS", str(allowed))

    @dsl.pipeline(name="imports")
    def importing(uri: str):
        dsl.importer(artifact_uri=uri, artifact_class=dsl.Dataset)

    good = conveyor.run(importing, {"uri": f"{allowed}/sub/../ok.csv"})
    assert good.status == "SUCCEEDED", good.error
    bad = conveyor.run(importing, {"uri": f"{allowed}/../../etc/passwd"})
    assert bad.status == "FAILED"
    assert "outside the allowed artifact folders" in bad.error
