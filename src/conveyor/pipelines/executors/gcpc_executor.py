"""Running Google Cloud Pipeline Components' tasks with Conveyor's implementations.

`GcpcExecutor` runs a supported GCPC task (`gcpc.SUPPORTED`) as `ContainerExecutor` runs a
container's command without a container runtime (placeholders, log, executor output),
with the container `gcpc.local_container` makes of it: the command `python -m
conveyor.components.gcpc.<module>` in Conveyor's interpreter, GCPC's arguments. For a
custom job it first does what Vertex AI's backend does to the worker pools: fills the
placeholders of their command and args with the task's values. A worker pool that is a
KFP Python component (`create_custom_training_job_from_component`) runs kfp's executor in
Conveyor's interpreter, or in the cached environment of its `packages_to_install`
(`venvs`), instead of pip-installing into an image.

`GcsImporterExecutor` imports a `gs://` URI as the local path it stands for when the run's
settings map Cloud Storage to a folder (`CONVEYOR_GCS_ROOT`, `conveyor.config.local_gcs_path`),
so the tasks after it read files, not Cloud Storage. See docs/gcpc.md.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.config import local_gcs_path
from conveyor.pipelines.executors import python_component, venvs
from conveyor.pipelines.executors.base import Task, TaskRequest, TaskResult
from conveyor.pipelines.executors.container import ContainerExecutor
from conveyor.pipelines.executors.gcpc import GcpcError, implementation, local_container
from conveyor.pipelines.executors.importer import ImporterExecutor
from conveyor.pipelines.placeholders import Context, Job, resolve_command

JSON_ESCAPED_EXECUTOR_INPUT = "{{$.json_escape[1]}}"
"""How GCPC writes `{{$}}` inside a worker pool's spec, which sits inside a JSON payload."""


class GcpcExecutor(ContainerExecutor):
    """Runs the GCPC containers of `SUPPORTED` with Conveyor's implementations, as local
    processes. `job` fills run placeholders; environments for the `packages_to_install` of a
    custom job's Python component are built under `envs_dir`, `log` shows that."""

    def __init__(
        self,
        job: Job | None = None,
        envs_dir: Path | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        # Google's image is replaced by Conveyor's implementation by design: nothing to say.
        super().__init__(job, runtimes=(), name_ignored_images=False)
        self.run_job = job
        self.envs_dir = envs_dir
        self.log = log

    def accepts(self, spec: dict[str, Any]) -> bool:
        return "container" in spec and implementation(spec["container"]) is not None

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        found = implementation(request.container)
        given = request.executor_input.get("inputs", {}).get("parameterValues", {})
        container = local_container(request.container, given)
        executor_input = request.executor_input
        if found is not None and found.custom_job:
            executor_input = self._local_worker_pools(request)
        local = dataclasses.replace(
            request,
            executor_spec={**request.executor_spec, "container": container},
            executor_input=executor_input,
            env={**request.env, "_KFP_RUNTIME": "true"},  # a task's `Client()`: the run's home
        )
        return super().execute(local, task)

    def _local_worker_pools(self, request: TaskRequest) -> dict[str, Any]:
        """The executor input with the `worker_pool_specs` parameter ready to run here, as
        Vertex AI's backend makes it: placeholders filled, Python components made local."""
        executor_input = copy.deepcopy(request.executor_input)
        values = executor_input.get("inputs", {}).get("parameterValues", {})
        pools = values.get("worker_pool_specs")
        if not isinstance(pools, list):
            return executor_input
        context = Context.for_task(self.run_job, request.key) if self.run_job else None
        for index, pool in enumerate(pools):
            spec = pool.get("container_spec") if isinstance(pool, dict) else None
            if not isinstance(spec, dict):
                continue
            words = {
                part: [
                    "{{$}}" if word == JSON_ESCAPED_EXECUTOR_INPUT else word
                    for word in spec.get(part) or []
                ]
                for part in ("command", "args")
            }
            component = python_component.parse(words)
            filled = {
                part: resolve_command(w, request.executor_input, context)
                for part, w in words.items()
            }
            if component is not None:
                filled = self._python_component(request, component, filled["args"], index)
                spec["env"] = [*(spec.get("env") or []), {"name": "_KFP_RUNTIME", "value": "true"}]
            spec.update(filled)
        return executor_input

    def _python_component(
        self,
        request: TaskRequest,
        component: python_component.PythonComponent,
        args: list[str],
        index: int,
    ) -> dict[str, list[str]]:
        """A KFP Python component's command, as kfp's own runner script runs it, with an
        interpreter that has its packages rather than an install into the image."""
        python = sys.executable
        if component.packages and not venvs.satisfied(component.packages):
            if self.envs_dir is None:
                raise GcpcError(
                    f"the worker pool's component {component.function!r} needs "
                    f"{', '.join(component.packages)}, and no folder for environments was given"
                )
            python = str(
                venvs.ensure_env(
                    component.packages,
                    component.index_urls,
                    root=self.envs_dir,
                    log=self.log,
                )
            )
        source = request.workdir / f"worker_pool_{index}_component.py"
        source.write_text(component.source)
        command = [python, "-m", "kfp.dsl.executor_main", "--component_module_path", str(source)]
        return {"command": command, "args": args}


class GcsImporterExecutor(ImporterExecutor):
    """The importer, with a `gs://` URI imported as the local path it stands for when the
    run maps Cloud Storage to a folder (`CONVEYOR_GCS_ROOT` in the tasks' settings)."""

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        root = request.env.get("CONVEYOR_GCS_ROOT")
        importer = request.executor_spec.get("importer", {})
        source = importer.get("artifactUri", {})
        parameters = request.executor_input.get("inputs", {}).get("parameterValues", {})
        uri = source.get("constant", parameters.get(source.get("runtimeParameter", ""), ""))
        local = local_gcs_path(uri, root) if isinstance(uri, str) else None
        if local is None:
            return super().execute(request, task)
        mapped = {**importer, "artifactUri": {"constant": str(local)}}
        with open(request.log_path, "a") as log:
            log.write(f"{uri} is {local} (CONVEYOR_GCS_ROOT)\n")
        return super().execute(
            dataclasses.replace(
                request, executor_spec={**request.executor_spec, "importer": mapped}
            ),
            task,
        )
