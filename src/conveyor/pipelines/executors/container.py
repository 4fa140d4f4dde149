"""Container components: run the image with docker or podman, or its command locally.

A task's command line is its container spec's `command` and `args` with the KFP
placeholders filled in (`conveyor.pipelines.placeholders`). When docker or podman
answers, the image runs with the task's folders (its workdir, the folders of its
outputs, its input artifacts) mounted at the same paths, so every path in the
command line means the same inside and out. Otherwise the command runs as a local
process and a warning says, once per image, that the image is ignored: enough for
components whose tools the machine has too (`sh`, `python3`).

A finished task's outputs are what it wrote to `outputs.outputFile` (an
ExecutorOutput JSON) and, for parameters not in it, the files their
`output_file` placeholders named, read as the KFP launcher reads them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.pipelines import parameters
from conveyor.pipelines.executors import python_component
from conveyor.pipelines.executors.base import CANCELLED, Executor, Task, TaskRequest, TaskResult
from conveyor.pipelines.placeholders import Context, Job, resolve_command

logger = logging.getLogger(__name__)

RUNTIMES = ("docker", "podman")
"""Container runtimes tried in order; the first whose engine answers is used."""
GRACE_SECONDS = 3.0
"""How long a cancelled task has between SIGTERM and SIGKILL."""
PROBE_SECONDS = 5.0
"""How long `docker info` may take before the engine counts as not answering."""


class ContainerError(ConveyorError):
    """A container task could not start, or did not leave its declared outputs."""


def find_runtime(
    candidates: Sequence[str] = RUNTIMES, timeout: float = PROBE_SECONDS
) -> str | None:
    """The path of the first container client whose engine answers `info`, or None.

    A client alone is not enough: `docker` without a running daemon fails every `run`.
    """
    for name in candidates:
        client = shutil.which(name)
        if client is None:
            continue
        try:
            probe = subprocess.run(
                [client, "info"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return client
    return None


def mounts(request: TaskRequest) -> list[tuple[str, bool]]:
    """The host paths a task's container sees at the same place, as (path, read_only).

    Output folders and the workdir are writable; input artifacts are read-only. A
    path inside a writable folder needs no mount of its own.
    """
    inputs = request.executor_input.get("inputs", {})
    outputs = request.executor_input.get("outputs", {})
    files = [outputs.get("outputFile")]
    files += [spec.get("outputFile") for spec in outputs.get("parameters", {}).values()]
    files += [a.get("uri") for a in _artifacts(outputs)]
    writable = {os.path.abspath(request.workdir)}
    writable |= {os.path.dirname(os.path.abspath(f)) for f in files if f and "://" not in f}
    readable = {
        os.path.abspath(a["uri"])
        for a in _artifacts(inputs)
        if "://" not in a.get("uri", "://") and os.path.exists(a["uri"])
    }
    writable = {p for p in writable if not any(_inside(p, q) for q in writable if q != p)}
    readable = {p for p in readable if not any(_inside(p, q) for q in writable)}
    return sorted([(p, False) for p in writable] + [(p, True) for p in readable])


def _artifacts(section: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a for listed in section.get("artifacts", {}).values() for a in listed.get("artifacts", [])
    ]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def docker_command(
    runtime: str,
    name: str,
    image: str,
    command: Sequence[str],
    args: Sequence[str],
    env: dict[str, str],
    volumes: Sequence[tuple[str, bool]],
) -> list[str]:
    """The `docker run` (or `podman run`) command line of one task.

    The spec's `command` replaces the image's entrypoint, as on Kubernetes: its first
    word becomes `--entrypoint`, the rest go before `args`.
    """
    if not image:
        raise ContainerError("the container spec has no image to run")
    argv = [runtime, "run", "--rm", "--name", name]
    for path, read_only in volumes:
        if ":" in path:
            raise ContainerError(f"cannot mount {path!r} into a container: the path holds a ':'")
        argv += ["--volume", f"{path}:{path}:ro" if read_only else f"{path}:{path}"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    if command:
        argv += ["--entrypoint", command[0]]
    return [*argv, image, *command[1:], *args]


def read_outputs(request: TaskRequest) -> dict[str, Any]:
    """The ExecutorOutput of a task that exited 0: its output file, then parameter files."""
    outputs = request.executor_input.get("outputs", {})
    produced: dict[str, Any] = {}
    output_file = outputs.get("outputFile")
    if output_file and os.path.exists(output_file):
        try:
            produced = json.loads(Path(output_file).read_text())
        except ValueError as exc:
            raise ContainerError(
                f"the executor output {output_file} is not valid JSON ({exc})"
            ) from None
        if not isinstance(produced, dict):
            raise ContainerError(f"the executor output {output_file} is not a JSON object")
    values = produced.setdefault("parameterValues", {})
    for name, spec in outputs.get("parameters", {}).items():
        if name in values:
            continue
        path = Path(spec["outputFile"])
        if not path.exists():
            raise ContainerError(f"output parameter {name!r} was not written (expected at {path})")
        ptype = request.output_parameter_types.get(name, parameters.STRING)
        values[name] = parse_parameter(name, path.read_text(), ptype)
    return produced


_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE = {"1", "t", "T", "true", "True", "TRUE"}
_FALSE = {"0", "f", "F", "false", "False", "FALSE"}


def parse_parameter(name: str, text: str, ptype: str) -> Any:
    """An output parameter's value from its file's text, as the KFP launcher parses it.

    Strings are taken whole; numbers and booleans may have surrounding whitespace;
    lists and structs are JSON.
    """
    stripped = text.strip()
    if ptype == parameters.STRING:
        return text
    if ptype == parameters.NUMBER_INTEGER and _INTEGER.fullmatch(stripped):
        return int(stripped)
    if ptype == parameters.NUMBER_DOUBLE and "_" not in stripped:
        try:
            return float(stripped)
        except ValueError:
            pass
    if ptype == parameters.BOOLEAN and stripped in _TRUE | _FALSE:
        return stripped in _TRUE
    if ptype in (parameters.LIST, parameters.STRUCT):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list if ptype == parameters.LIST else dict):
            return value
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise ContainerError(f"output parameter {name!r}: {shown!r} is not a valid {ptype} value")


class ContainerExecutor(Executor):
    """Runs container components: in docker/podman when one answers, else as local processes.

    `job` gives the values of `{{$.pipeline_job_name}}` and the other run
    placeholders; without it, a command that uses them fails with a clear error.
    `runtimes` are the container clients to try (`()` always runs locally); with
    `name_ignored_images`, the log says once per image that it runs as a local process.
    """

    def __init__(
        self,
        job: Job | None = None,
        *,
        runtimes: Sequence[str] = RUNTIMES,
        grace: float = GRACE_SECONDS,
        name_ignored_images: bool = True,
    ) -> None:
        super().__init__()
        self._job = job
        self._name_ignored_images = name_ignored_images
        self._runtimes = tuple(runtimes)
        self._grace = grace
        self.close_seconds = grace + PROBE_SECONDS
        self._once_lock = threading.Lock()
        """The runtime is probed, and each ignored image named, once per executor."""
        self._runtime: str | None = None
        self._probed = False
        self._warned: set[str] = set()

    def accepts(self, spec: dict[str, Any]) -> bool:
        if "container" not in spec:
            return False
        try:
            return python_component.parse(spec["container"]) is None
        except python_component.ComponentParseError:
            return False

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        spec = request.container
        image = spec.get("image", "")
        context = Context.for_task(self._job, request.key) if self._job else None
        command = resolve_command(spec.get("command") or [], request.executor_input, context)
        args = resolve_command(spec.get("args") or [], request.executor_input, context)
        _clear_outputs(request.executor_input)
        runtime = self._probe()
        container, env = None, None
        if runtime is not None:
            container = _container_name(request.key)
            argv = docker_command(
                runtime, container, image, command, args, request.env, mounts(request)
            )
        else:
            self._warn(image)
            argv = [*command, *args]
            if not argv:
                raise ContainerError(
                    f"image {image!r}: the spec gives no command or args to run locally"
                )
            env = {**os.environ, **request.env}
        if task.cancelled:
            return TaskResult(request.key, False, error=CANCELLED)
        process = _Process(_start(argv, env, request.log_path), runtime, container, self._grace)
        with self.holding(task, process):
            code = process.wait()
        if code < 0:
            return TaskResult(request.key, False, error=f"killed by signal {_signal_name(-code)}")
        if code != 0:
            return TaskResult(request.key, False, error=f"exited with code {code}")
        return TaskResult(request.key, True, executor_output=read_outputs(request))

    def _probe(self) -> str | None:
        with self._once_lock:  # tasks wait for the first answer
            if not self._probed:
                self._runtime = find_runtime(self._runtimes)
                self._probed = True
            return self._runtime

    def _warn(self, image: str) -> None:
        if not self._name_ignored_images:
            return
        with self._once_lock:
            if image in self._warned:
                return
            self._warned.add(image)
        reason = (
            f"{'/'.join(self._runtimes)} was not found or its engine does not answer"
            if self._runtimes
            else "container runtimes are turned off"
        )
        logger.warning(
            "image %r is ignored: %s, so the task's command runs as a local process",
            image,
            reason,
        )


def _start(argv: list[str], env: dict[str, str] | None, log_path: Path) -> subprocess.Popen[bytes]:
    """The task's process, writing to its log, in a process group of its own."""
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: cancel stops all of it
            )
        except FileNotFoundError:
            raise ContainerError(f"command {argv[0]!r} was not found") from None


class _Process:
    """A container task's process (the command, or the runtime's client) and its group."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        runtime: str | None,
        container: str | None,
        grace: float,
    ) -> None:
        self.process = process
        self.runtime = runtime
        self.container = container
        """The container's name, when a runtime runs it."""
        self.grace = grace

    def wait(self) -> int:
        code = self.process.wait()
        if self.container is not None and 128 < code < 128 + signal.NSIG:
            code = -(code - 128)  # a runtime reports a container killed by signal N as 128+N
        return code

    def kill(self) -> None:
        """SIGTERM now, SIGKILL (and removal of the container) after the grace period."""
        _signal_group(self.process, signal.SIGTERM)
        timer = threading.Timer(self.grace, self._force)
        timer.daemon = True
        timer.start()

    def _force(self) -> None:
        if self.runtime is not None and self.container is not None:
            # The client may be gone while its container runs on: remove that too.
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(
                    [self.runtime, "rm", "--force", self.container],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=PROBE_SECONDS * 2,
                    check=False,
                )
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _container_name(key: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", key).strip("-.")[:40]
    return f"conveyor-{slug}-{secrets.token_hex(4)}"


def _clear_outputs(executor_input: dict[str, Any]) -> None:
    """Remove output files a previous attempt left, so they are not taken for this one's."""
    outputs = executor_input.get("outputs", {})
    files = [outputs.get("outputFile")]
    files += [spec.get("outputFile") for spec in outputs.get("parameters", {}).values()]
    for file in files:
        if file:
            Path(file).unlink(missing_ok=True)
