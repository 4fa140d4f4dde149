"""Container components through ContainerExecutor: local processes, and the docker command line."""

import logging
import os
import queue
import time
from pathlib import Path
from typing import Optional

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Dataset, IfPresentPlaceholder, Input, Model, Output, OutputPath

from conveyor.pipelines.executors.base import TaskRequest
from conveyor.pipelines.executors.container import (
    ContainerError,
    ContainerExecutor,
    docker_command,
    find_runtime,
    mounts,
    parse_parameter,
)
from conveyor.pipelines.placeholders import Job

JOB = Job(
    name="demo-20260101-000000-abc123",
    resource_name="demo-20260101-000000-abc123",
    uuid="demo-20260101-000000-abc123",
    pipeline_root="/runs/root",
    create_time_utc="2026-01-01T00:00:00+00:00",
    schedule_time_utc="2026-01-01T00:00:00+00:00",
)
GRACE = 0.5


def compiled(component, tmp_path) -> tuple[dict, dict]:
    """The executor spec and the component definition kfp's compiler writes."""
    path = tmp_path / f"{component.name}.yaml"
    compiler.Compiler().compile(component, str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    (definition,) = spec["components"].values()
    return executor, definition


def make_request(component, tmp_path, parameters=None, artifacts=None, key="task", env=None):
    """A TaskRequest shaped the way the engine builds it."""
    executor_spec, definition = compiled(component, tmp_path)
    workdir = tmp_path / "tasks" / key
    (workdir / "outputs").mkdir(parents=True)
    outputs = definition.get("outputDefinitions", {})
    output_artifacts = {}
    for name, spec in outputs.get("artifacts", {}).items():
        uri = tmp_path / "artifacts" / key / name
        uri.parent.mkdir(parents=True, exist_ok=True)
        output_artifacts[name] = {
            "artifacts": [
                {"name": name, "uri": str(uri), "type": spec["artifactType"], "metadata": {}}
            ]
        }
    executor_input = {
        "inputs": {
            "parameterValues": parameters or {},
            "artifacts": {name: {"artifacts": arts} for name, arts in (artifacts or {}).items()},
        },
        "outputs": {
            "parameters": {
                name: {"outputFile": str(workdir / "outputs" / name)}
                for name in outputs.get("parameters", {})
            },
            "artifacts": output_artifacts,
            "outputFile": str(workdir / "executor_output.json"),
        },
    }
    types = {name: d["parameterType"] for name, d in outputs.get("parameters", {}).items()}
    return TaskRequest(
        key=key,
        executor_input=executor_input,
        executor_spec=executor_spec,
        log_path=workdir / "log.txt",
        workdir=workdir,
        env=env or {},
        output_parameter_types=types,
    )


@pytest.fixture
def executor():
    executor = ContainerExecutor(JOB, runtimes=(), grace=GRACE)
    yield executor
    executor.close()


def run(executor, request, timeout=30):
    results = queue.Queue()
    executor.submit(request, results.put)
    return results.get(timeout=timeout)


def wait_for_text(path: Path, text: str, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {path}")


# -- outputs ----------------------------------------------------------------------


@dsl.container_component
def every_type(
    s: OutputPath(str),
    i: OutputPath(int),
    f: OutputPath(float),
    b: OutputPath(bool),
    items: OutputPath(list),
    table: OutputPath(dict),
):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=[
            "sh",
            "-c",
            'printf "hello\\n world\\n" > "$0"; echo " 42 " > "$1"; echo 2.5e1 > "$2"; '
            'echo True > "$3"; echo \'[1, "a"]\' > "$4"; echo \'{"k": [true]}\' > "$5"',
        ],
        args=[s, i, f, b, items, table],
    )


def test_parameter_outputs_of_every_type_are_read_from_their_files(executor, tmp_path):
    result = run(executor, make_request(every_type, tmp_path))

    assert result.succeeded, result.error
    assert result.executor_output["parameterValues"] == {
        "s": "hello\n world\n",
        "i": 42,
        "f": 25.0,
        "b": True,
        "items": [1, "a"],
        "table": {"k": [True]},
    }


@dsl.container_component
def train(data: Input[Dataset], model: Output[Model], stats: Output[Dataset]):
    return dsl.ContainerSpec(
        image="python:3.11",
        command=[
            "python3",
            "-c",
            "import os, sys\n"
            "rows = open(sys.argv[1]).read().split()\n"
            "open(sys.argv[2], 'w').write('weights for %d rows' % len(rows))\n"
            "os.makedirs(sys.argv[3])\n"
            "open(os.path.join(sys.argv[3], 'count.txt'), 'w').write(str(len(rows)))\n",
        ],
        args=[data.path, model.path, stats.path],
    )


def test_artifact_outputs_are_written_to_their_paths(executor, tmp_path):
    data = tmp_path / "in" / "data.txt"
    data.parent.mkdir()
    data.write_text("a\nb\nc\n")
    given = {"data": [{"name": "data", "uri": str(data), "metadata": {}}]}
    request = make_request(train, tmp_path, artifacts=given)

    result = run(executor, request)

    assert result.succeeded, result.error
    outputs = request.executor_input["outputs"]["artifacts"]
    model = Path(outputs["model"]["artifacts"][0]["uri"])
    stats = Path(outputs["stats"]["artifacts"][0]["uri"])
    assert model.read_text() == "weights for 3 rows"
    assert (stats / "count.txt").read_text() == "3"


@dsl.container_component
def greet(name: str, greeting: OutputPath(str), title: Optional[str] = None):  # noqa: UP045 (kfp reads only Optional)
    return dsl.ContainerSpec(
        image="alpine:3",
        command=["sh", "-c", 'printf "%s" "$*" > "$0"'],
        args=[
            greeting,
            IfPresentPlaceholder(input_name="title", then=["dear", title], else_=["hi"]),
            name,
        ],
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [({"name": "Ada", "title": "Dr."}, "dear Dr. Ada"), ({"name": "Ada"}, "hi Ada")],
)
def test_if_present_with_and_without_the_optional_input(executor, tmp_path, given, expected):
    result = run(executor, make_request(greet, tmp_path, parameters=given))

    assert result.succeeded, result.error
    assert result.executor_output["parameterValues"] == {"greeting": expected}


@dsl.container_component
def with_executor_output(a: OutputPath(int), b: OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=[
            "sh",
            "-c",
            'echo \'{"parameterValues": {"a": 7}, "artifacts": {}}\' > "$0"; echo -n from-file > "$1"',
        ],
        args=[dsl.PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER, b],
    )


def test_an_executor_output_file_is_used_and_missing_parameters_come_from_files(executor, tmp_path):
    result = run(executor, make_request(with_executor_output, tmp_path))

    assert result.succeeded, result.error
    assert result.executor_output == {
        "parameterValues": {"a": 7, "b": "from-file"},
        "artifacts": {},
    }


@dsl.container_component
def writes_nothing(count: OutputPath(int)):
    return dsl.ContainerSpec(image="alpine:3", command=["true"])


def test_a_missing_output_parameter_file_fails_the_task_naming_it(executor, tmp_path):
    request = make_request(writes_nothing, tmp_path)
    stale = Path(request.executor_input["outputs"]["parameters"]["count"]["outputFile"])
    stale.write_text("5")  # left by an earlier attempt: must not count

    result = run(executor, request)

    assert not result.succeeded
    assert result.error == f"output parameter 'count' was not written (expected at {stale})"


@dsl.container_component
def writes_bad_number(count: OutputPath(int)):
    return dsl.ContainerSpec(image="alpine:3", command=["sh", "-c", 'echo 4.5 > "$0"', count])


def test_an_output_value_that_does_not_parse_fails_the_task_naming_it(executor, tmp_path):
    result = run(executor, make_request(writes_bad_number, tmp_path))

    assert not result.succeeded
    assert result.error == "output parameter 'count': '4.5\\n' is not a valid NUMBER_INTEGER value"


@pytest.mark.parametrize(
    ("text", "ptype", "value"),
    [
        (" x \n", "STRING", " x \n"),
        ("-12\n", "NUMBER_INTEGER", -12),
        ("+3", "NUMBER_INTEGER", 3),
        ("1e-3", "NUMBER_DOUBLE", 0.001),
        ("7", "NUMBER_DOUBLE", 7.0),
        ("t", "BOOLEAN", True),
        ("FALSE\n", "BOOLEAN", False),
        ("0", "BOOLEAN", False),
        (" [] ", "LIST", []),
        ('{"a": null}', "STRUCT", {"a": None}),
    ],
)
def test_parameter_text_is_parsed_like_the_kfp_launcher(text, ptype, value):
    parsed = parse_parameter("p", text, ptype)

    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("text", "ptype"),
    [
        ("1_000", "NUMBER_INTEGER"),
        ("3.0", "NUMBER_INTEGER"),
        ("", "NUMBER_INTEGER"),
        ("1_0.5", "NUMBER_DOUBLE"),
        ("ten", "NUMBER_DOUBLE"),
        ("yes", "BOOLEAN"),
        ('{"a": 1}', "LIST"),
        ("[1]", "STRUCT"),
        ("[1,", "LIST"),
        ("x", "TASK_FINAL_STATUS"),
    ],
)
def test_parameter_text_that_does_not_parse_is_refused(text, ptype):
    with pytest.raises(ContainerError, match=f"output parameter 'p': .* is not a valid {ptype}"):
        parse_parameter("p", text, ptype)


# -- environment and run values ------------------------------------------------------


@dsl.container_component
def report(out: OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=[
            "sh",
            "-c",
            'printf "%s|%s|%s" "$GREETING" "$1" "$2" > "$0"',
            out,
            dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
            dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
        ],
    )


def test_env_and_run_placeholders_reach_the_process(executor, tmp_path):
    request = make_request(report, tmp_path, key="loop[0]/report", env={"GREETING": "hi"})

    result = run(executor, request)

    assert result.succeeded, result.error
    assert result.executor_output["parameterValues"] == {"out": f"hi|{JOB.name}|report"}


def test_run_placeholders_without_a_job_fail_the_task_naming_them(tmp_path):
    executor = ContainerExecutor(runtimes=())

    result = run(executor, make_request(report, tmp_path))

    assert not result.succeeded
    assert "{{$.pipeline_job_name}} has no value here" in result.error


@dsl.container_component
def missing_tool():
    return dsl.ContainerSpec(image="alpine:3", command=["no-such-tool-on-this-machine", "x"])


def test_a_command_that_does_not_exist_is_named(executor, tmp_path):
    result = run(executor, make_request(missing_tool, tmp_path))

    assert not result.succeeded
    assert result.error == "command 'no-such-tool-on-this-machine' was not found"


# -- failures, signals, cancellation -------------------------------------------------


@dsl.container_component
def shell(script: str):
    return dsl.ContainerSpec(image="alpine:3", command=["sh", "-c", script])


def test_a_non_zero_exit_fails_with_its_code_and_the_log_keeps_both_streams(executor, tmp_path):
    request = make_request(
        shell, tmp_path, parameters={"script": "echo to-stdout; echo to-stderr >&2; exit 3"}
    )

    result = run(executor, request)

    assert not result.succeeded
    assert result.error == "exited with code 3"
    assert request.log_path.read_text().splitlines() == ["to-stdout", "to-stderr"]


def test_a_process_killed_by_a_signal_names_the_signal(executor, tmp_path):
    result = run(executor, make_request(shell, tmp_path, parameters={"script": "kill -9 $$"}))

    assert not result.succeeded
    assert result.error == "killed by signal SIGKILL"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_cancel_stops_the_whole_process_group_and_reports_once(executor, tmp_path, ignores_sigterm):
    trap = "trap '' TERM; " if ignores_sigterm else ""
    script = f"{trap}sleep 60 & echo $! > child.pid; echo started; wait"
    request = make_request(shell, tmp_path, parameters={"script": f"cd {tmp_path}; {script}"})
    results = []
    executor.submit(request, results.append)
    wait_for_text(request.log_path, "started")
    child = int((tmp_path / "child.pid").read_text())

    executor.cancel(request.key)

    deadline = time.monotonic() + 10
    while (not results or alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(GRACE + 0.2)
    assert [(r.succeeded, r.error) for r in results] == [(False, "cancelled")]
    assert not alive(child)


def test_cancel_sends_sigterm_first_so_the_task_can_clean_up(executor, tmp_path):
    script = "trap 'echo cleaning up; exit 0' TERM; echo started; sleep 60 & wait"
    request = make_request(shell, tmp_path, parameters={"script": script})
    results = queue.Queue()
    executor.submit(request, results.put)
    wait_for_text(request.log_path, "started")

    executor.cancel(request.key)

    assert results.get(timeout=10).error == "cancelled"
    assert "cleaning up" in request.log_path.read_text()


def test_close_cancels_every_running_task(tmp_path):
    executor = ContainerExecutor(JOB, runtimes=(), grace=GRACE)
    results = queue.Queue()
    requests = [
        make_request(shell, tmp_path, key=f"t{i}", parameters={"script": "echo started; sleep 60"})
        for i in range(2)
    ]
    for request in requests:
        executor.submit(request, results.put)
    for request in requests:
        wait_for_text(request.log_path, "started")

    executor.close()

    ended = sorted((r.key, r.error) for r in (results.get(timeout=1), results.get(timeout=1)))
    assert ended == [("t0", "cancelled"), ("t1", "cancelled")]


def test_cancel_of_an_unknown_or_finished_task_does_nothing(executor, tmp_path):
    result = run(executor, make_request(shell, tmp_path, parameters={"script": "true"}))

    executor.cancel(result.key)
    executor.cancel("never-submitted")

    assert result.succeeded


# -- container runtimes --------------------------------------------------------------


FAKE_CLIENT = """#!/bin/sh
echo "$1" >> "$FAKE_CALLS"
case "$1" in
  info) exec sh -c "$FAKE_INFO" "$(basename "$0")" ;;
  run) shift; printf '%s\\n' "$@" > "$FAKE_RUN_ARGS"; exit "${FAKE_RUN_EXIT:-0}" ;;
esac
"""


@pytest.fixture
def fake_clients(tmp_path, monkeypatch):
    """`docker` and `podman` clients on PATH; `info` runs $FAKE_INFO with $0 = client name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("docker", "podman"):
        (bin_dir / name).write_text(FAKE_CLIENT)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CALLS", str(tmp_path / "calls.txt"))
    monkeypatch.setenv("FAKE_RUN_ARGS", str(tmp_path / "run_args.txt"))
    monkeypatch.setenv("FAKE_INFO", "echo 'Cannot connect to the Docker daemon' >&2; exit 1")
    return bin_dir


def test_a_client_without_an_engine_is_not_a_runtime(fake_clients):
    assert find_runtime(("docker", "podman")) is None


def test_the_first_runtime_whose_engine_answers_is_used(fake_clients, monkeypatch):
    monkeypatch.setenv("FAKE_INFO", 'test "$0" = podman')

    assert find_runtime(("docker", "podman")) == str(fake_clients / "podman")


def test_an_engine_that_hangs_counts_as_unavailable(fake_clients, monkeypatch):
    monkeypatch.setenv("FAKE_INFO", "exec sleep 10")

    assert find_runtime(("docker",), timeout=0.3) is None


def test_a_runtime_not_on_path_is_skipped(fake_clients):
    assert find_runtime(("no-such-runtime",)) is None


def test_without_an_engine_the_image_is_ignored_with_one_warning_per_image(
    fake_clients, tmp_path, caplog
):
    executor = ContainerExecutor(JOB, grace=GRACE)
    caplog.set_level(logging.WARNING, logger="conveyor.pipelines.executors.container")

    for i in range(2):
        request = make_request(shell, tmp_path, key=f"a{i}", parameters={"script": "true"})
        assert run(executor, request).succeeded
    assert run(executor, make_request(greet, tmp_path, key="b", parameters={"name": "x"})).succeeded

    assert [r.getMessage() for r in caplog.records] == [
        "image 'alpine:3' is ignored: docker/podman was not found or its engine does not "
        "answer, so the task's command runs as a local process"
    ]
    assert (tmp_path / "calls.txt").read_text().split() == ["info", "info"]  # probed once each


@dsl.container_component
def in_image(data: Input[Dataset], model: Output[Model]):
    return dsl.ContainerSpec(
        image="registry.example/train:1",
        command=["python3", "-m", "trainer"],
        args=["--data", data.path, "--model", model.path],
    )


def test_with_an_engine_the_task_runs_through_the_runtime(
    fake_clients, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("FAKE_INFO", "exit 0")
    data = tmp_path / "data.csv"
    data.write_text("x")
    given = {"data": [{"name": "data", "uri": str(data), "metadata": {}}]}
    executor = ContainerExecutor(JOB, grace=GRACE)
    request = make_request(in_image, tmp_path, artifacts=given, env={"SEED": "1"})

    result = run(executor, request)

    assert result.succeeded, result.error
    model = request.executor_input["outputs"]["artifacts"]["model"]["artifacts"][0]["uri"]
    argv = (tmp_path / "run_args.txt").read_text().splitlines()
    name = argv[argv.index("--name") + 1]
    assert name.startswith("conveyor-task-")
    assert (
        argv
        == docker_command(
            "unused",
            name,
            "registry.example/train:1",
            ["python3", "-m", "trainer"],
            ["--data", str(data), "--model", model],
            {"SEED": "1"},
            mounts(request),
        )[2:]
    )
    assert not caplog.records


def test_a_container_killed_by_a_signal_names_it(fake_clients, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_INFO", "exit 0")
    monkeypatch.setenv("FAKE_RUN_EXIT", "137")
    executor = ContainerExecutor(JOB, grace=GRACE)

    result = run(executor, make_request(shell, tmp_path, parameters={"script": "true"}))

    assert result.error == "killed by signal SIGKILL"


def test_docker_command_line():
    argv = docker_command(
        "/usr/bin/docker",
        "conveyor-train-1234",
        "python:3.11",
        ["sh", "-c", "echo $0", "hi"],
        ["--out", "/w/out"],
        {"A": "1", "B": "x=y"},
        [("/art/in.csv", True), ("/w", False)],
    )

    assert argv == [
        "/usr/bin/docker",
        "run",
        "--rm",
        "--name",
        "conveyor-train-1234",
        "--volume",
        "/art/in.csv:/art/in.csv:ro",
        "--volume",
        "/w:/w",
        "--env",
        "A=1",
        "--env",
        "B=x=y",
        "--entrypoint",
        "sh",
        "python:3.11",
        "-c",
        "echo $0",
        "hi",
        "--out",
        "/w/out",
    ]


def test_without_a_command_the_image_entrypoint_gets_the_args():
    argv = docker_command("podman", "n", "img:1", [], ["serve"], {}, [])

    assert argv == ["podman", "run", "--rm", "--name", "n", "img:1", "serve"]


def test_docker_command_refuses_what_it_cannot_express():
    with pytest.raises(ContainerError, match="no image"):
        docker_command("docker", "n", "", ["true"], [], {}, [])
    with pytest.raises(ContainerError, match="'/a:b'"):
        docker_command("docker", "n", "img", ["true"], [], {}, [("/a:b", False)])


def test_mounts_cover_the_workdir_outputs_and_existing_local_inputs(tmp_path):
    data = tmp_path / "in" / "data.csv"
    data.parent.mkdir()
    data.write_text("x")
    given = {
        "data": [{"name": "data", "uri": str(data), "metadata": {}}],
        "gone": [{"name": "gone", "uri": str(tmp_path / "missing"), "metadata": {}}],
        "remote": [{"name": "remote", "uri": "gs://bucket/x", "metadata": {}}],
    }
    request = make_request(in_image, tmp_path, artifacts=given)

    assert mounts(request) == [
        (str(tmp_path / "artifacts" / "task"), False),
        (str(data), True),
        (str(tmp_path / "tasks" / "task"), False),
    ]


# -- which containers ---------------------------------------------------------------


@dsl.component
def lightweight(x: int) -> int:
    return x


@dsl.component(target_image="registry.example/mine:1")
def containerized(x: int) -> int:
    return x


def test_accepts_containers_and_containerized_python_but_not_lightweight_python(tmp_path):
    executor = ContainerExecutor(runtimes=())

    assert executor.accepts(compiled(shell, tmp_path)[0])
    assert executor.accepts(compiled(containerized, tmp_path)[0])
    assert not executor.accepts(compiled(lightweight, tmp_path)[0])
