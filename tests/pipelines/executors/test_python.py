"""Python components through PythonExecutor: warm workers forked by the fork server, which is
forked from the engine's process, or a fresh interpreter when that process runs OpenMP threads."""

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl

from conveyor.pipelines.executors import _forkserver
from conveyor.pipelines.executors.base import TaskRequest
from conveyor.pipelines.executors.python import PythonExecutor

_MAPS = Path("/proc/self/maps")


def make_request(component, tmp_path, parameters=None, key="task", env=None) -> TaskRequest:
    """A TaskRequest shaped the way the engine builds it (parameters only)."""
    path = tmp_path / f"{component.name}.yaml"
    compiler.Compiler().compile(component, str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    workdir = tmp_path / "tasks" / key
    workdir.mkdir(parents=True)
    return TaskRequest(
        key=key,
        executor_input={
            "inputs": {"parameterValues": parameters or {}},
            "outputs": {
                "parameters": {"Output": {"outputFile": str(workdir / "Output")}},
                "outputFile": str(workdir / "executor_output.json"),
            },
        },
        executor_spec=executor,
        log_path=workdir / "log.txt",
        workdir=workdir,
        env=env or {},
    )


def run(executor, request, timeout=60):
    results = queue.Queue()
    executor.submit(request, results.put)
    return results.get(timeout=timeout)


def output(result):
    assert result.succeeded, result.error
    return result.executor_output["parameterValues"]["Output"]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if parent_of(int(entry.name)) == pid:
                    found.append(int(entry.name))
    return found


def wait_until(condition, what: str, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture(params=["engine", "fork server"])
def origin(request, monkeypatch):
    """Where the executor's workers are forked from."""
    _forkserver.stop()
    # Forced either way: the components here use no OpenMP, so a worker forked from
    # this process works even when earlier tests left OpenMP threads in it. Not when
    # they left Arrow's threads (monitoring's tests read Parquet): a worker forked from
    # here would abort (see `_forkserver`); `conveyor run` as a command still forks,
    # which the command's tests cover.
    safe = request.param == "engine"
    if safe and _forkserver._foreign_threads() and b"/libarrow." in _MAPS.read_bytes():
        pytest.skip("this process runs Arrow's threads: no worker can be forked from it")
    monkeypatch.setattr(_forkserver, "fork_is_safe", lambda: safe)
    yield request.param
    _forkserver.stop()


@pytest.fixture
def executor(origin, tmp_path):
    executor = PythonExecutor(tmp_path / "envs")
    yield executor
    executor.close()


# -- in this process: both origins --------------------------------------------------


@dsl.component
def where(name: str) -> str:
    import json
    import os
    import sys

    return json.dumps(
        {
            "parent": os.getppid(),
            "value": os.environ.get(name),
            "cwd": os.getcwd(),
            "path": sys.path,
        }
    )


def test_workers_come_from_the_fork_server_forked_from_here_when_that_is_safe(
    origin, executor, tmp_path
):
    seen = json.loads(output(run(executor, make_request(where, tmp_path, {"name": "HOME"}))))

    server = _forkserver.server_pid()
    assert seen["parent"] == server
    command = Path(f"/proc/{server}/cmdline").read_bytes().split(b"\0")
    if origin == "engine":  # forked from this process: it runs what this one runs
        assert parent_of(server) == os.getpid()
        assert b"--fork-server" not in command
    else:  # a fresh interpreter
        assert b"--fork-server" in command


def test_the_engine_forks_once_however_many_runs(origin, tmp_path):
    for attempt in range(3):
        executor = PythonExecutor(tmp_path / "envs")
        (tmp_path / str(attempt)).mkdir()
        run(executor, make_request(where, tmp_path / str(attempt), {"name": "HOME"}))
        executor.close()
    servers = [p for p in children_of(os.getpid()) if p == _forkserver.server_pid()]
    assert len(servers) == 1


def test_a_worker_sees_the_environment_folder_and_path_of_the_moment(
    origin, executor, tmp_path, monkeypatch
):
    _forkserver.start()  # before the changes below
    folder = tmp_path / "here"
    folder.mkdir()
    monkeypatch.setenv("CONVEYOR_TEST_VALUE", "set late")
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))

    seen = json.loads(
        output(run(executor, make_request(where, tmp_path, {"name": "CONVEYOR_TEST_VALUE"})))
    )

    assert seen["value"] == "set late"
    assert seen["cwd"] == str(folder)
    assert seen["path"][0] == str(folder)


@dsl.component
def chatty(text: str) -> str:
    import subprocess
    import sys

    print(f"out: {text}")
    print(f"err: {text}", file=sys.stderr)
    subprocess.run(["echo", f"child: {text}"], check=True)
    return text.upper()


def test_output_of_the_task_and_its_subprocesses_goes_to_its_log(executor, tmp_path):
    request = make_request(chatty, tmp_path, {"text": "hi"})

    assert output(run(executor, request)) == "HI"
    assert request.log_path.read_text().splitlines() == ["out: hi", "err: hi", "child: hi"]


@dsl.component
def die(how: str) -> str:
    import os
    import signal

    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "os_exit":
        os._exit(4)
    return how


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("kill", "the worker process was killed by signal SIGKILL"),
        ("os_exit", "the worker process exited with code 4"),
    ],
)
def test_a_worker_that_dies_is_named_and_replaced(executor, tmp_path, how, message):
    result = run(executor, make_request(die, tmp_path, {"how": how}, key="dies"))

    assert (result.succeeded, result.error) == (False, message)
    assert output(run(executor, make_request(die, tmp_path, {"how": "fine"}))) == "fine"


@dsl.component
def linger(pid_path: str) -> str:
    import os
    import time

    with open(pid_path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
    return "never"


def test_cancel_kills_the_worker_and_reports_once(executor, tmp_path):
    pid_path = tmp_path / "worker.pid"
    request = make_request(linger, tmp_path, {"pid_path": str(pid_path)})
    results = queue.Queue()
    executor.submit(request, results.put)
    wait_until(lambda: pid_path.exists() and pid_path.read_text(), "the task never started")
    worker = int(pid_path.read_text())

    executor.cancel(request.key)

    result = results.get(timeout=30)
    assert (result.succeeded, result.error) == (False, "cancelled")
    wait_until(lambda: not alive(worker), "the cancelled worker is still running")
    assert results.empty()


# -- in another process: OpenMP threads must not reach this one ----------------------

# Trains a LightGBM model on several OpenMP threads, as a notebook would, and then
# runs a pipeline whose component does the same. GNU OpenMP's thread pool does not
# survive a fork: a worker forked from this process would hang in `fit`.
SCRIPT = """
import json
import sys

from kfp import dsl

import conveyor
from conveyor.pipelines.executors import _forkserver

safe = {"at start": _forkserver.fork_is_safe()}
import numpy as np  # OpenBLAS starts its threads, which prepare for a fork

safe["with numpy"] = _forkserver.fork_is_safe()


def fit_lightgbm():
    import lightgbm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 10))
    y = (x[:, 0] > 0).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=20, num_threads=4, verbose=-1).fit(x, y)
    return int(model.predict(x[:100]).sum())


@dsl.component
def train(pid_path: str, linger: float) -> int:
    import os
    import time

    import lightgbm
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 10))
    y = (x[:, 0] > 0).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=20, num_threads=4, verbose=-1).fit(x, y)
    with open(pid_path, "w") as f:
        f.write(f"{os.getpid()} {os.getppid()}")
    time.sleep(linger)
    return int(model.predict(x[:100]).sum())


@dsl.pipeline
def pipeline(pid_path: str, linger: float = 0.0) -> int:
    return train(pid_path=pid_path, linger=linger).output


expected = fit_lightgbm()
safe["after training"] = _forkserver.fork_is_safe()
print(json.dumps(safe), flush=True)
run = conveyor.run(pipeline, {"pid_path": sys.argv[1], "linger": float(sys.argv[2])})
print(json.dumps({"status": run.status, "error": run.error, "outputs": run.outputs}))
assert run.outputs == {"Output": expected}
"""


def start_script(tmp_path, linger=0.0) -> subprocess.Popen:
    script = tmp_path / "notebook.py"
    script.write_text(textwrap.dedent(SCRIPT))
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "worker.pid"), str(linger)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a hung run can be ended with its workers
    )


def test_a_component_uses_openmp_after_the_process_that_runs_it_did(tmp_path):
    process = start_script(tmp_path)
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the run, its workers and the fork server
        out, err = process.communicate()
        pytest.fail(f"conveyor.run hung after the process trained a model:\n{out}\n{err}")

    assert process.returncode == 0, err
    safe, outcome = (json.loads(line) for line in out.splitlines()[-2:])
    assert safe == {"at start": True, "with numpy": True, "after training": False}
    assert outcome["status"] == "SUCCEEDED", outcome["error"]


def test_workers_and_the_fork_server_end_with_the_process_that_started_them(tmp_path):
    process = start_script(tmp_path, linger=120)
    pid_path = tmp_path / "worker.pid"

    def started():
        assert process.poll() is None, process.communicate()
        return pid_path.exists() and pid_path.read_text()

    try:
        wait_until(started, "no worker ran", 120)
        worker, server = (int(pid) for pid in pid_path.read_text().split())
        assert server != process.pid  # the worker came from the fork server

        process.kill()
        process.communicate()

        wait_until(lambda: not alive(server), "the fork server outlived its engine", 10)
        wait_until(lambda: not alive(worker), "the worker outlived its engine", 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def test_a_fork_server_forked_from_here_holds_none_of_its_files(origin):
    import socket

    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    _forkserver.start()
    listening.close()
    # Were the server holding the socket, the port would still be taken.
    socket.create_server(("127.0.0.1", port)).close()
    server = _forkserver.server_pid()
    # Standard streams, its control socket and its own pipes: a handful, whatever their
    # numbers (its socket keeps the number it had here, high when many files are open).
    assert len(os.listdir(f"/proc/{server}/fd")) <= 7
