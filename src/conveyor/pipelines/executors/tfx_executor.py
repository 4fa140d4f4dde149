"""Running the container tasks that TFX's `KubeflowV2DagRunner` compiles, as local processes.

Each TFX task's container runs `python -m tfx.orchestration.kubeflow.v2.container.
kubeflow_v2_run_executor --executor_class_path <class> --json_serialized_invocation_args
{{$}} <beam args>` in a TFX image; ExampleGen's has a driver too, in the container's
`lifecycle.preCacheCheck`, which Vertex AI runs first to compute the input's span and
fingerprint. `TfxExecutor` does what Vertex AI does, with the cached environment of the
tfx release the image names (`tfx_env`) instead of the image:

1. gives TFX the executor input it reads: the parameter values also in the older
   `parameters` form (`{"intValue": "6"}`), which TFX takes its execution properties from;
2. runs the driver, if any, and applies what it wrote (span, fingerprint, input config,
   the examples' custom properties) to the executor's input, as Vertex AI's backend does;
3. runs the executor; its ExecutorOutput gives each output artifact's properties and
   custom properties as metadata, which the engine records with lineage;
4. after a Pusher pushed (its `pushed_model` says `pushed` 1), registers the pushed
   SavedModel in the registry (`conveyor.components.tfx_push`, through the client).

`pre_cache_check` is the driver's part of a cache key: a digest of the files the
ExampleGen's `input_base` and input config name, so a changed CSV is not served from
the cache. `refusal` says, before a run, what cannot run here (a Beam runner that needs
a cloud service, a tfx release without wheels for this machine).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.pipelines.executors import tfx_env
from conveyor.pipelines.executors.base import Task, TaskRequest, TaskResult
from conveyor.pipelines.executors.container import ContainerExecutor
from conveyor.pipelines.placeholders import Job

ENTRYPOINTS = "tfx.orchestration.kubeflow.v2."
"""The package of TFX's container entrypoints (executor, ExampleGen driver, importer)."""
LOCAL_RUNNERS = frozenset({"directrunner", "direct"})
"""Beam runners that run in the task's own process; others need a service or a cluster."""
MODEL_NAME_KEY = "conveyor_model_name"
"""The key of a Pusher's `custom_config` naming the registered model ("" registers none)."""
_PATTERN_FIELDS = re.compile(r"\{[A-Z]+(:\d+)?\}")


class TfxTaskError(ConveyorError):
    """A TFX task's driver failed, or its pushed model could not be registered."""


def entrypoint(container: dict[str, Any]) -> str | None:
    """The TFX module a container's command runs with `python -m`, if it runs one."""
    command = list(container.get("command") or [])
    for index, word in enumerate(command[:-1]):
        if word == "-m" and command[index + 1].startswith(ENTRYPOINTS):
            return command[index + 1]
    return None


def executor_class(container: dict[str, Any]) -> str | None:
    """The executor class a TFX task runs (`--executor_class_path`)."""
    return _flag(container.get("args") or [], "--executor_class_path")


def beam_runner(container: dict[str, Any]) -> str | None:
    """The Beam runner the task's pipeline args ask for (`--runner=...`), if any."""
    words = list(container.get("args") or [])
    driver = (container.get("lifecycle") or {}).get("preCacheCheck") or {}
    return _flag(words, "--runner") or _flag(list(driver.get("args") or []), "--runner")


def refusal(container: dict[str, Any]) -> str | None:
    """Why this machine cannot run a TFX task, or None (also None for other tasks)."""
    if entrypoint(container) is None:
        return None
    runner = beam_runner(container)
    if runner is not None and runner.lower() not in LOCAL_RUNNERS:
        return (
            f"its Beam pipeline args ask for --runner={runner}, which needs a cloud service "
            "or a cluster; Conveyor runs TFX's Beam pipelines with the DirectRunner here: "
            "drop --runner (and its Dataflow options) from beam_pipeline_args to run locally"
        )
    try:
        tfx_env.release_for(container.get("image", ""))
    except tfx_env.TfxUnsupported as exc:
        return str(exc)
    return None


def unimportable(spec: dict[str, Any], envs_dir: Path, log: tfx_env.Log | None) -> list[str]:
    """Lines naming each TFX component of `spec` whose executor class its tfx environment
    cannot import (building the environment first if need be); [] when all can."""
    by_release: dict[tfx_env.Release, dict[str, str]] = {}
    for name, component in spec.get("components", {}).items():
        executor = (
            spec.get("deploymentSpec", {})
            .get("executors", {})
            .get(component.get("executorLabel", ""))
            or {}
        )
        container = executor.get("container") or {}
        found = executor_class(container) if entrypoint(container) else None
        if found is not None:
            release = tfx_env.release_for(container.get("image", ""))
            by_release.setdefault(release, {})[name] = found
    lines = []
    for release, classes in by_release.items():
        failed = tfx_env.unimportable(tfx_env.ensure(release, envs_dir, log), classes.values())
        lines += [
            f"components.{name}: executor class {path!r} cannot be imported with "
            f"{release.name}: {failed[path]}"
            for name, path in classes.items()
            if path in failed
        ]
    return lines


class TfxExecutor(ContainerExecutor):
    """Runs TFX's container tasks as local processes in the tfx environment of their image;
    environments are built under `envs_dir`, `log` says so; `job` names the run."""

    def __init__(
        self, job: Job | None, envs_dir: Path, log: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(job, runtimes=(), name_ignored_images=False)
        self.run_job = job
        self.envs_dir = envs_dir
        self.log = log

    def accepts(self, spec: dict[str, Any]) -> bool:
        return "container" in spec and entrypoint(spec["container"]) is not None

    def pre_cache_check(self, spec: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        container = spec.get("container") or {}
        if not (container.get("lifecycle") or {}).get("preCacheCheck"):
            return {}
        base = parameters.get("input_base")
        if not isinstance(base, str):
            return {}
        return {"input_fingerprint": input_fingerprint(base, parameters.get("input_config"))}

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        container = request.container
        release = tfx_env.release_for(container.get("image", ""))
        python = tfx_env.ensure(release, self.envs_dir, self.log)
        executor_input = with_legacy_parameters(request.executor_input)
        driver = (container.get("lifecycle") or {}).get("preCacheCheck")
        if driver:
            ran = self._local(request, task, driver, executor_input, python)
            if not ran.succeeded:
                return dataclasses.replace(ran, error=f"the ExampleGen driver {ran.error}")
            executor_input = apply_driver_output(executor_input, ran.executor_output)
        ran = self._local(request, task, container, executor_input, python)
        if ran.succeeded:
            self._register_push(request, executor_input, ran.executor_output)
        return ran

    def _local(
        self,
        request: TaskRequest,
        task: Task,
        container: dict[str, Any],
        executor_input: dict[str, Any],
        python: Path,
    ) -> TaskResult:
        """One TFX entrypoint run by the environment's interpreter rather than the image's."""
        command = list(container.get("command") or [])
        if command and os.path.basename(command[0]).startswith("python"):
            command[0] = str(python)
        local = {"image": request.container.get("image", ""), "command": command}
        local["args"] = list(container.get("args") or [])
        env = {**request.env, "TF_CPP_MIN_LOG_LEVEL": request.env.get("TF_CPP_MIN_LOG_LEVEL", "1")}
        return super().execute(
            dataclasses.replace(
                request,
                executor_spec={"container": local},
                executor_input=executor_input,
                env=env,
            ),
            task,
        )

    def _register_push(
        self, request: TaskRequest, executor_input: dict[str, Any], output: dict[str, Any]
    ) -> None:
        """After a push, register the pushed SavedModel as the next version of its model."""
        pushed = (output.get("artifacts", {}).get("pushed_model", {}).get("artifacts") or [{}])[0]
        metadata = pushed.get("metadata") or {}
        if not metadata.get("pushed") or not metadata.get("pushed_destination"):
            return
        values = executor_input.get("inputs", {}).get("parameterValues", {})
        model_name = model_name_of(values.get("custom_config"))
        if model_name == "":
            return
        if self.run_job is None:
            raise TfxTaskError("a Pusher's model is registered with its run: no run was given")
        argv = [sys.executable, "-m", "conveyor.components.tfx_push", "--run-id", self.run_job.name]
        argv += ["--task", request.key, "--uri", str(metadata["pushed_destination"])]
        if model_name is not None:
            argv += ["--model", model_name]
        with open(request.log_path, "ab") as log:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **request.env},
            )
        if done.returncode != 0:
            raise TfxTaskError(
                f"the model pushed to {metadata['pushed_destination']} could not be "
                f"registered (see the task's log: {request.log_path})"
            )


def model_name_of(custom_config: Any) -> str | None:
    """The model name a Pusher's `custom_config` (JSON text) gives, or None for the default."""
    try:
        config = json.loads(custom_config) if isinstance(custom_config, str) else None
    except ValueError:
        return None
    name = config.get(MODEL_NAME_KEY) if isinstance(config, dict) else None
    return name if isinstance(name, str) else None


def with_legacy_parameters(executor_input: dict[str, Any]) -> dict[str, Any]:
    """The executor input with `inputs.parameters` (older typed values) beside
    `parameterValues`: TFX reads its execution properties from there."""
    inputs = executor_input.get("inputs", {})
    values = inputs.get("parameterValues", {})
    legacy = {name: _typed(value) for name, value in values.items() if value is not None}
    return {**executor_input, "inputs": {**inputs, "parameters": legacy}}


def apply_driver_output(executor_input: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    """What the driver computed, applied to the executor's input as Vertex AI applies it:
    its parameter values override the inputs, its artifacts' metadata the outputs'."""
    inputs = executor_input["inputs"]
    values = {**inputs.get("parameterValues", {}), **output.get("parameterValues", {})}
    outputs = json.loads(json.dumps(executor_input["outputs"]))
    for name, listed in (output.get("artifacts") or {}).items():
        given = (listed.get("artifacts") or [{}])[0].get("metadata") or {}
        for artifact in outputs.get("artifacts", {}).get(name, {}).get("artifacts", []):
            artifact["metadata"] = {**artifact.get("metadata", {}), **given}
    updated = {**executor_input, "inputs": {**inputs, "parameterValues": values}}
    return with_legacy_parameters({**updated, "outputs": outputs})


def input_fingerprint(input_base: str, input_config: Any) -> str:
    """A digest of the files an ExampleGen reads (path, size, modification time), as TFX's
    driver fingerprints them: it changes when the data does."""
    try:
        config = json.loads(input_config) if isinstance(input_config, str) else {}
    except ValueError:
        config = {}
    patterns = [s.get("pattern", "*") for s in (config or {}).get("splits", [])] or ["*"]
    digest = hashlib.sha256()
    for pattern in patterns:
        wildcard = _PATTERN_FIELDS.sub("*", pattern)
        for path in sorted(glob.glob(os.path.join(input_base, wildcard), recursive=True)):
            info = os.stat(path)
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"intValue": str(int(value))}
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return {"intValue": str(int(value))}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"stringValue": json.dumps(value)}


def _flag(words: list[str], name: str) -> str | None:
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
    return None
