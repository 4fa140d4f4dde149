"""The contract every executor keeps with the engine (`executors/base.py`).

Each executor runs the tasks of its kind: it reports outputs on success, a
one-line error on failure, "cancelled" for a task stopped midway, each task's
end exactly once, and `close` ends what still runs. An executor joins the suite
with one line in `EXECUTORS`: how to make it, and the kind of tasks it runs (and its
id in `STOPPABLE` and `THREADED` when those clauses apply to it).
"""

import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Artifact, Output, OutputPath

from conveyor.pipelines.executors.base import Executor, TaskRequest, TaskResult
from conveyor.pipelines.executors.container import ContainerExecutor
from conveyor.pipelines.executors.importer import ImporterExecutor
from conveyor.pipelines.executors.inline import InlineExecutor
from conveyor.pipelines.executors.python import PythonExecutor
from conveyor.pipelines.executors.tfx_executor import TfxExecutor
from conveyor.pipelines.placeholders import Job

# -- tasks of each kind -------------------------------------------------------------


@dsl.component
def produce(text: str, data: Output[Artifact]) -> NamedTuple("Outputs", [("upper", str)]):  # noqa: UP014 (kfp reads this form)
    from collections import namedtuple

    with open(data.path, "w") as f:
        f.write(text)
    return namedtuple("Outputs", ["upper"])(text.upper())


@dsl.component
def fail(text: str) -> str:
    raise ValueError(f"no luck with {text}")


@dsl.component
def linger(started: str) -> str:
    import time

    open(started, "w").close()
    time.sleep(60)
    return "never"


@dsl.component
def interrupted(started: str) -> str:
    raise KeyboardInterrupt  # what Ctrl-C raises in the thread that runs the task


@dsl.container_component
def produce_in_shell(text: str, data: Output[Artifact], upper: OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=["sh", "-c", 'printf %s "$0" > "$1"; printf %s "$0" | tr a-z A-Z > "$2"'],
        args=[text, data.path, upper],
    )


@dsl.container_component
def fail_in_shell(text: str):
    return dsl.ContainerSpec(
        image="alpine:3", command=["sh", "-c", 'echo "no luck with $0" >&2; exit 3'], args=[text]
    )


@dsl.container_component
def linger_in_shell(started: str):
    return dsl.ContainerSpec(
        image="alpine:3", command=["sh", "-c", 'touch "$0"; sleep 60'], args=[started]
    )


def tfx_task(executor_class: str, arguments: list) -> dsl.ContainerSpec:
    """A task as TFX's KubeflowV2DagRunner compiles it: TFX's entrypoint in a TFX image."""
    return dsl.ContainerSpec(
        image="gcr.io/tfx-oss-public/tfx:1.16.0",
        command=[
            "python",
            "-m",
            "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor",
        ],
        args=["--executor_class_path", executor_class, "--json_serialized_invocation_args"]
        + ["{{$}}", *arguments],
    )


@dsl.container_component
def produce_in_tfx(text: str, data: Output[Artifact], upper: OutputPath(str)):
    return tfx_task("produce", [text, data.path, upper])


@dsl.container_component
def fail_in_tfx(text: str):
    return tfx_task("fail", [text])


@dsl.container_component
def linger_in_tfx(started: str):
    return tfx_task("linger", [started])


FAKE_TFX_ENTRYPOINT = textwrap.dedent(
    """
    import json, sys, time
    _, _, executor_class, _, executor_input, *rest = sys.argv
    given = json.loads(executor_input)["inputs"]["parameters"]  # TFX reads the older form
    if executor_class == "produce":
        text, data, upper = rest
        assert given["text"] == {"stringValue": text}
        open(data, "w").write(text)
        open(upper, "w").write(text.upper())
    elif executor_class == "fail":
        sys.exit(f"no luck with {rest[0]}")
    else:
        open(rest[0], "w").close()
        time.sleep(60)
    """
)


def tfx_executor() -> Executor:
    """TFX's executor with a stand-in for the tfx environment: this interpreter, and an
    entrypoint that keeps the contract (the real one starts TensorFlow: test_tfx.py)."""
    envs = Path(tempfile.mkdtemp())
    package = envs / "fake" / "tfx/orchestration/kubeflow/v2/container"
    package.mkdir(parents=True)
    (package / "kubeflow_v2_run_executor.py").write_text(FAKE_TFX_ENTRYPOINT)
    env = envs / "tfx-1.16.0"
    (env / "bin").mkdir(parents=True)
    (env / "bin/python").write_text(
        f'#!/bin/sh\nPYTHONPATH={envs / "fake"} exec {sys.executable} "$@"\n'
    )
    (env / "bin/python").chmod(0o755)
    (env / "conveyor-env.json").write_text("{}")
    return TfxExecutor(JOB, envs)


@dsl.pipeline
def importing(uri: str):
    dsl.importer(artifact_uri=uri, artifact_class=dsl.Dataset, metadata={"source": "contract"})


Task = tuple[Any, dict[str, str]]
"""A component (or a pipeline of one importer) and its parameters; `{folder}` in a
parameter stands for the test's folder, where `source.txt` holds "hi"."""


@dataclass(frozen=True)
class Kind:
    """The tasks of one kind, for each clause of the contract."""

    produce: Task
    """Succeeds with output parameters `parameters` and an artifact `artifact` holding "hi"."""
    fail: Task
    failure: str
    """What the one-line error of `fail` says."""
    parameters: dict[str, Any] = field(default_factory=lambda: {"upper": "HI"})
    artifact: str = "data"
    linger: Task | None = None
    """Runs until stopped, once it has created `{folder}/started`; None: nothing to stop."""
    interrupted: Task | None = None
    """Ctrl-C in a task that runs on the caller's thread."""


PYTHON = Kind(
    produce=(produce, {"text": "hi"}),
    fail=(fail, {"text": "hi"}),
    failure="ValueError: no luck with hi",
    linger=(linger, {"started": "{folder}/started"}),
    interrupted=(interrupted, {"started": "{folder}/started"}),
)
CONTAINER = Kind(
    produce=(produce_in_shell, {"text": "hi"}),
    fail=(fail_in_shell, {"text": "hi"}),
    failure="exited with code 3",
    linger=(linger_in_shell, {"started": "{folder}/started"}),
)
TFX = Kind(
    produce=(produce_in_tfx, {"text": "hi"}),
    fail=(fail_in_tfx, {"text": "hi"}),
    failure="exited with code 1",
    linger=(linger_in_tfx, {"started": "{folder}/started"}),
)
IMPORTER = Kind(
    produce=(importing, {"uri": "{folder}/source.txt"}),
    fail=(importing, {"uri": ""}),
    failure="importer: the artifact URI must be a non-empty string, got ''",
    parameters={},
    artifact="artifact",
)

JOB = Job(
    name="contract-20260101-000000-abc123",
    resource_name="contract-20260101-000000-abc123",
    uuid="contract-20260101-000000-abc123",
    pipeline_root="/runs/root",
    create_time_utc="2026-01-01T00:00:00+00:00",
    schedule_time_utc="2026-01-01T00:00:00+00:00",
)


def ray_executor() -> Executor:
    """Python components on the session's Ray cluster (`ray_cluster`), outputs written in
    place as with a local artifact root every node shares."""
    from conveyor.pipelines.executors.ray_executor import RayExecutor
    from conveyor.store.artifacts import ArtifactStore

    folder = Path(tempfile.mkdtemp())
    return RayExecutor(ArtifactStore.open(folder / "artifacts", local_dir=folder / "local"))


EXECUTORS = [
    pytest.param((lambda: PythonExecutor(Path(tempfile.mkdtemp())), PYTHON), id="python"),
    pytest.param(
        (lambda: ContainerExecutor(JOB, runtimes=(), grace=0.5), CONTAINER), id="container"
    ),
    pytest.param((InlineExecutor, PYTHON), id="inline"),
    pytest.param((ImporterExecutor, IMPORTER), id="importer"),
    pytest.param((ray_executor, PYTHON), id="ray"),
    pytest.param((tfx_executor, TFX), id="tfx"),
]
"""(how to make the executor, the kind of tasks it runs)"""


def executors(*ids: str) -> list:
    """The executors named, for a clause that applies to some only (`indirect`)."""
    return [param for param in EXECUTORS if param.id in ids]


STOPPABLE = executors("python", "container", "inline", "ray", "tfx")
"""Their tasks can be stopped midway (an importer only records an artifact)."""
THREADED = executors("python", "container", "ray", "tfx")
"""Their tasks run on threads of their own, so some can still run when `close` is called."""


@dataclass
class Case:
    executor: Executor
    kind: Kind
    folder: Path

    def request(self, task: Task, key: str) -> TaskRequest:
        component, parameters = task
        given = {name: value.format(folder=self.folder) for name, value in parameters.items()}
        return request_for(component, self.folder, given, key)


@pytest.fixture(params=EXECUTORS)
def case(request, tmp_path):
    make, kind = request.param
    if request.node.callspec.id.startswith("ray"):
        request.getfixturevalue("ray_cluster")
    (tmp_path / "source.txt").write_text("hi")
    executor: Executor = make()
    yield Case(executor, kind, tmp_path)
    executor.close()


# -- requests as the engine builds them -------------------------------------------


def compiled(component) -> tuple[dict, dict]:
    """The executor spec and the component definition kfp's compiler writes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "spec.yaml")
        compiler.Compiler().compile(component, str(path))
        spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    (definition,) = spec["components"].values()
    return executor, definition


def request_for(component, folder: Path, parameters: dict[str, Any], key: str) -> TaskRequest:
    executor_spec, definition = compiled(component)
    workdir = folder / "tasks" / key
    (workdir / "outputs").mkdir(parents=True)
    outputs = definition.get("outputDefinitions", {})
    artifacts = {}
    for name, spec in outputs.get("artifacts", {}).items():
        staged = folder / "staged" / key / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        artifact = {"name": name, "uri": str(staged), "type": spec["artifactType"], "metadata": {}}
        artifacts[name] = {"artifacts": [artifact]}
    return TaskRequest(
        key=key,
        executor_input={
            "inputs": {"parameterValues": parameters},
            "outputs": {
                "parameters": {
                    name: {"outputFile": str(workdir / "outputs" / name)}
                    for name in outputs.get("parameters", {})
                },
                "artifacts": artifacts,
                "outputFile": str(workdir / "executor_output.json"),
            },
        },
        executor_spec=executor_spec,
        log_path=workdir / "log.txt",
        workdir=workdir,
        output_parameter_types={
            name: d["parameterType"] for name, d in outputs.get("parameters", {}).items()
        },
    )


def run(executor: Executor, request: TaskRequest) -> TaskResult:
    results: list[TaskResult] = []
    executor.submit(request, results.append)
    wait_until(lambda: results, f"{request.key} never ended")
    return results[0]


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def artifact_text(result: TaskResult, request: TaskRequest, name: str) -> str:
    """An output artifact's contents: at the URI the executor output gives, else where
    the engine staged it."""
    given = result.executor_output.get("artifacts", {}).get(name, {}).get("artifacts")
    staged = request.executor_input["outputs"]["artifacts"].get(name, {}).get("artifacts")
    return Path((given or staged)[0]["uri"]).read_text()


def ended(results: list[TaskResult]) -> list[tuple[str, bool, str | None]]:
    return sorted((r.key, r.succeeded, r.error) for r in results)


# -- the contract --------------------------------------------------------------------


def test_it_accepts_the_tasks_of_its_kind_only(case):
    for kind in (PYTHON, CONTAINER, IMPORTER, TFX):
        spec, _ = compiled(kind.produce[0])
        # Any container suits the container executor: a run offers TFX's tasks to TFX's first.
        expected = kind is case.kind or (kind is TFX and case.kind is CONTAINER)
        assert case.executor.accepts(spec) == expected, kind.produce[0]


def test_a_task_that_succeeds_reports_its_output_parameters_and_artifacts(case):
    request = case.request(case.kind.produce, "produce")

    result = run(case.executor, request)

    assert (result.key, result.succeeded, result.error) == ("produce", True, None)
    assert result.executor_output.get("parameterValues", {}) == case.kind.parameters
    assert artifact_text(result, request, case.kind.artifact) == "hi"


def test_a_task_that_fails_says_why_in_one_line(case):
    result = run(case.executor, case.request(case.kind.fail, "fail"))

    assert (result.key, result.succeeded) == ("fail", False)
    assert case.kind.failure in result.error
    assert "\n" not in result.error


def test_done_is_called_exactly_once_per_task(case):
    results: list[TaskResult] = []
    for key, task in [("a", case.kind.produce), ("b", case.kind.fail), ("c", case.kind.produce)]:
        case.executor.submit(case.request(task, key), results.append)
    wait_until(lambda: len(results) >= 3, "not every task ended")
    time.sleep(0.2)

    assert [(key, ok) for key, ok, _ in ended(results)] == [("a", True), ("b", False), ("c", True)]


@pytest.mark.parametrize("case", STOPPABLE, indirect=True)
def test_a_task_stopped_midway_ends_cancelled_once(case):
    assert case.kind.linger is not None
    results: list[TaskResult] = []
    if case.executor.threaded:
        request = case.request(case.kind.linger, "linger")
        case.executor.submit(request, results.append)
        wait_until((case.folder / "started").exists, "the task never started")
        case.executor.cancel(request.key)
        wait_until(lambda: results, "the cancelled task never ended")
    else:  # it runs on this thread: Ctrl-C stops it, and goes on to stop the run
        assert case.kind.interrupted is not None
        with pytest.raises(KeyboardInterrupt):
            case.executor.submit(case.request(case.kind.interrupted, "linger"), results.append)
    time.sleep(0.2)

    assert ended(results) == [("linger", False, "cancelled")]


def test_cancel_leaves_unknown_and_finished_tasks_alone(case):
    first = run(case.executor, case.request(case.kind.produce, "first"))

    case.executor.cancel(first.key)
    case.executor.cancel("never-submitted")

    assert first.succeeded
    assert run(case.executor, case.request(case.kind.produce, "second")).succeeded


@pytest.mark.parametrize("case", THREADED, indirect=True)
def test_close_ends_running_tasks_as_cancelled(case):
    assert case.kind.linger is not None and case.executor.threaded
    results: list[TaskResult] = []
    for key in ("x", "y"):
        (case.folder / "started").unlink(missing_ok=True)
        case.executor.submit(case.request(case.kind.linger, key), results.append)
        wait_until((case.folder / "started").exists, f"{key} never started")

    case.executor.close()

    wait_until(lambda: len(results) >= 2, "close left a task running")
    assert ended(results) == [("x", False, "cancelled"), ("y", False, "cancelled")]


def test_close_after_the_last_task_reports_nothing_more(case):
    results: list[TaskResult] = []
    case.executor.submit(case.request(case.kind.produce, "only"), results.append)
    wait_until(lambda: results, "the task never ended")

    case.executor.close()
    time.sleep(0.2)

    assert ended(results) == [("only", True, None)]
