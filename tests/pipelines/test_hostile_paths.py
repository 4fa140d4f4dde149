"""Every path a run builds from a name stays inside the home: pipeline, task, loop and
output names made to climb out, to look absolute, to be odd unicode or too long, in a real
run (a container task, a loop of Python tasks in worker processes). The run succeeds and
shows and records the names as their author wrote them.

The tests are safe on a build that breaks the rule: the home lies `CLIMB` folders below
the test's folder, deeper than every name here climbs, and absolute names point into the
test's folder, so a name that escapes lands where the test looks, never above it."""

import os
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl

import conveyor
from conveyor.client import Client
from conveyor.store.artifacts import naming

CLIMB = 40
PIPELINE = "a/../../../../x"
PRODUCER = "../../../../../../../../produced"
LOOP = "{tmp}/abs/loop"  # an absolute name, into the test's folder (see the module doc)
ECHO = "名前 with spaces ☃ " + "y" * 300
OUT = "../" * 16 + "pwned-out"  # more than a task folder per name part would be deep
DATA = "../" * 16 + "pwned-data-" + "z" * 300  # and too long for a file name


@dsl.container_component
def produce(out: dsl.OutputPath(str), data: dsl.Output[dsl.Dataset]):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=["sh", "-c", 'printf hi > "$0"; printf rows > "$1"', out, data.path],
    )


@dsl.component
def echo(text: str) -> str:
    print(f"echo {text}")
    return text


@dsl.pipeline(name="plain")
def plain(items: list = ["a", "b"]) -> str:  # noqa: B006 (a pipeline default)
    made = produce()
    with dsl.ParallelFor(items) as item:
        echo(text=item)
    return made.outputs["out"]


def _rename_in(value, old: str, new: str):
    """`value` with every reference to task `old` (producer, dependency) made `new`."""
    if isinstance(value, dict):
        return {
            k: (
                new
                if k in {"producerTask", "producerSubtask"} and v == old
                else _rename_in(v, old, new)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [new if v == old else _rename_in(v, old, new) for v in value]
    return value


def rename_task(dag: dict, old: str, new: str) -> dict:
    dag = _rename_in(dag, old, new)
    dag["tasks"][new] = dag["tasks"].pop(old)
    dag["tasks"][new]["taskInfo"]["name"] = new
    return dag


@pytest.fixture
def home(home, tmp_path, monkeypatch):
    """The home, `CLIMB` folders below the test's folder (see the module doc)."""
    deep = tmp_path.joinpath(*["d"] * CLIMB, "home")
    deep.mkdir(parents=True)
    monkeypatch.setenv("CONVEYOR_HOME", str(deep))
    return deep


def hostile_spec(tmp_path: Path) -> Path:
    """`plain`, compiled, then with its pipeline, its tasks, its loop and the producer's
    outputs named to climb out of every folder they make."""
    loop_name = LOOP.format(tmp=tmp_path)
    compiled = tmp_path / "plain.yaml"
    compiler.Compiler().compile(plain, str(compiled))
    spec = yaml.safe_load(compiled.read_text())
    spec["pipelineInfo"]["name"] = PIPELINE
    root = rename_task(spec["root"]["dag"], "produce", PRODUCER)
    loop = next(name for name in root["tasks"] if name.startswith("for-loop"))
    spec["root"]["dag"] = rename_task(root, loop, loop_name)
    body = spec["components"][f"comp-{loop}"]["dag"]
    spec["components"][f"comp-{loop}"]["dag"] = rename_task(body, "echo", ECHO)
    outputs = spec["components"]["comp-produce"]["outputDefinitions"]
    outputs["parameters"][OUT] = outputs["parameters"].pop("out")
    outputs["artifacts"][DATA] = outputs["artifacts"].pop("data")
    selector = spec["root"]["dag"]["outputs"]["parameters"]["Output"]["valueFromParameter"]
    selector["outputParameterKey"] = OUT
    container = spec["deploymentSpec"]["executors"]["exec-produce"]["container"]
    container["command"] = [
        c.replace("['out']", f"['{OUT}']").replace("['data']", f"['{DATA}']")
        for c in container["command"]
    ]
    compiled.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return compiled


def listing(folder: Path) -> set[Path]:
    return {Path(top) / name for top, dirs, files in os.walk(folder) for name in dirs + files}


@pytest.fixture
def snapshot(tmp_path, home):
    """What the run may not change: everything in the test's folder outside the home, and
    the names in the folder around it and in `/`."""

    def take():
        outside = listing(tmp_path) - listing(home) - {home}
        return outside, set(os.listdir(tmp_path.parent)), set(os.listdir("/"))

    return take


def test_a_run_of_hostile_names_writes_only_inside_the_home(tmp_path, home, snapshot):
    spec, loop = hostile_spec(tmp_path), LOOP.format(tmp=tmp_path)
    before = snapshot()
    run = conveyor.run(spec)
    assert run.status == "SUCCEEDED", run.error
    assert snapshot() == before
    for path in listing(home):  # nothing in the home leads out of it either
        assert path.resolve().is_relative_to(home.resolve()), path

    # Outputs under hostile names were collected: the parameter's value, the artifact's bytes.
    assert run.outputs["Output"] == "hi"
    # Users see the names they gave; only paths are escaped.
    logs = {task.name: task.log_path for task in run.tasks}
    assert set(logs) == {PRODUCER, loop, f"{loop}[0]/{ECHO}", f"{loop}[1]/{ECHO}"}
    # Each task's name is one folder, a loop iteration its loop's folder and `[index]`.
    tasks = home / "runs" / naming.segment(run.run_id) / "tasks"
    assert logs[PRODUCER] == tasks / naming.segment(PRODUCER) / "log.txt"
    echoed = tasks / f"{naming.segment(loop)}[1]" / naming.segment(ECHO) / "log.txt"
    assert logs[f"{loop}[1]/{ECHO}"] == echoed and "echo b" in echoed.read_text()
    assert "/" not in run.run_id and not run.run_id.startswith(".")
    with Client() as client:
        recorded = client.get_run(run.run_id)
        assert recorded.pipeline_name == PIPELINE
    artifacts = home / "artifacts"
    published = [p for p in listing(artifacts) if p.is_file() and p.read_bytes() == b"rows"]
    assert len(published) == 1 and ".staging" not in published[0].parts


def test_hostile_names_run_again_in_the_same_home(tmp_path, home, snapshot):
    """The same pipeline twice in one home, the second time from the cache: its escaped
    paths are found again, and still nothing is written outside the home."""
    spec = hostile_spec(tmp_path)
    before = snapshot()
    first = conveyor.run(spec)
    second = conveyor.run(spec)
    assert first.status == second.status == "SUCCEEDED", (first.error, second.error)
    assert second.outputs["Output"] == "hi"
    assert snapshot() == before
