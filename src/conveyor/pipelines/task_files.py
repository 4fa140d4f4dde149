"""A task's files: what it is given to read and write, and what becomes of its outputs.

For each attempt a task gets a working folder, a file per output parameter,
and a fresh staging path per output artifact. When it succeeds its outputs are
read back and its artifacts published through the recorder (PENDING, bytes
moved into place, LIVE); when it fails its staged bytes are thrown away, so a
half-written artifact never becomes one.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from conveyor.pipelines import parameters
from conveyor.pipelines.executors.base import TaskRequest
from conveyor.pipelines.recorder import Recorder
from conveyor.pipelines.state import Artifact, Node
from conveyor.store.artifacts import ArtifactStore, naming


class TaskFiles:
    """Prepares tasks' inputs and collects their outputs, for one run."""

    def __init__(
        self,
        run_dir: Path,
        artifacts: ArtifactStore,
        recorder: Recorder,
        pipeline: str,
        run_id: str,
        env: dict[str, str] | None = None,
        python_path: list[str] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.env = dict(env or {})
        """Environment variables of every task, under those its spec sets."""
        self.python_path = list(python_path or [])
        self.artifacts = artifacts
        self.recorder = recorder
        self.pipeline = pipeline
        self.run_id = run_id
        self.staged: dict[str, dict[str, tuple[Artifact, str]]] = {}
        """Output artifacts of running tasks at their staging paths, with the URI each
        is published at, by node key."""

    def request(
        self, node: Node, executor_spec: dict[str, Any], fetch_inputs: bool = True
    ) -> TaskRequest:
        """The executor input of a task's next attempt: its inputs (remote ones fetched
        here first unless not `fetch_inputs`), fresh staging paths for its artifacts,
        files for its output parameters."""
        workdir = naming.contained(self.run_dir, self._folder(node))
        workdir.mkdir(parents=True, exist_ok=True)
        outputs_spec = node.component.get("outputDefinitions", {})
        output_parameters = {
            name: {"outputFile": str(workdir / "outputs" / naming.segment(name))}
            for name in outputs_spec.get("parameters", {})
        }
        if output_parameters:
            (workdir / "outputs").mkdir(exist_ok=True)
        output_artifacts = {}
        for name, artifact in self._stage(node).items():
            output_artifacts[name] = {"artifacts": [artifact.to_json()]}
        output_file = workdir / "executor_output.json"
        output_file.unlink(missing_ok=True)
        executor_input = {
            "inputs": {
                "parameterValues": node.parameters,
                "artifacts": {
                    name: {
                        "artifacts": [
                            (self._readable(a) if fetch_inputs else a).to_json() for a in arts
                        ]
                    }
                    for name, arts in node.artifacts.items()
                },
            },
            "outputs": {
                "parameters": output_parameters,
                "artifacts": output_artifacts,
                "outputFile": str(output_file),
            },
        }
        container = executor_spec.get("container", {})
        env = {**self.env, **{e["name"]: e.get("value", "") for e in container.get("env", [])}}
        types = {
            name: d.get("parameterType", "STRING")
            for name, d in outputs_spec.get("parameters", {}).items()
        }
        return TaskRequest(
            key=node.key,
            executor_input=executor_input,
            executor_spec=executor_spec,
            log_path=self.log_path(node),
            workdir=workdir,
            env=env,
            output_parameter_types=types,
            python_path=self.python_path,
        )

    def log_path(self, node: Node) -> Path:
        """Where a task's stdout and stderr go, every attempt appended."""
        return self._folder(node) / "log.txt"

    def _folder(self, node: Node) -> Path:
        """A task's working folder: a folder per enclosing group, each task's name one
        segment (a task named `../../x` or `a/b` stays one folder inside the run's), a loop
        iteration's `[index]` after its loop's (`for-loop-2[3]/train`)."""
        parts = [naming.segment(node.name)]
        scope = node.scope
        while scope.owner is not None:
            group = naming.segment(scope.owner.name)
            parts.append(group if scope.index is None else f"{group}[{scope.index}]")
            scope = scope.owner.scope
        return self.run_dir.joinpath("tasks", *reversed(parts))

    def _stage(self, node: Node) -> dict[str, Artifact]:
        """Fresh staging paths for a task's output artifacts: the task writes there and
        nothing reaches the final URI until the task succeeded."""
        store = self.artifacts
        staged = {}
        definitions = node.component.get("outputDefinitions", {}).get("artifacts", {})
        for name, definition in definitions.items():
            final = store.uri_for(self.pipeline, self.run_id, node.key, name)
            schema = definition.get("artifactType", {})
            artifact = Artifact(
                name,
                str(store.staging_path(final)),
                schema.get("schemaTitle", "system.Artifact"),
                schema.get("schemaVersion", "0.0.1"),
            )
            staged[name] = (artifact, final)
        self.staged[node.key] = staged
        return {name: artifact for name, (artifact, _) in staged.items()}

    def _readable(self, artifact: Artifact) -> Artifact:
        """The artifact as a task reads it: at a local path, fetched first if it is remote."""
        if "://" not in artifact.uri:
            return artifact  # local already; may hold no bytes (metadata-only outputs)
        return replace(artifact, uri=str(self.artifacts.local_path(artifact.uri)))

    def collect(self, node: Node, executor_output: dict[str, Any]) -> None:
        """Read a succeeded task's outputs and publish its artifacts."""
        definitions = node.component.get("outputDefinitions", {})
        values = executor_output.get("parameterValues", {})
        for name, definition in definitions.get("parameters", {}).items():
            if name not in values:
                raise ValueError(f"the task did not produce output parameter {name!r}")
            node.outputs[name] = parameters.normalize(values[name], definition.get("parameterType"))
        produced = executor_output.get("artifacts", {})
        for name, (staged, final) in self.staged.pop(node.key, {}).items():
            returned = (produced.get(name, {}).get("artifacts") or [{}])[0]
            artifact = replace(staged, metadata=dict(returned.get("metadata", {})))
            staging = Path(staged.uri)
            if returned.get("uri", staged.uri) != staged.uri:
                artifact.uri = returned["uri"]  # the component pointed it elsewhere itself
                self.recorder.external(node, artifact)
            elif not staging.exists():
                # Metadata-only outputs (Metrics...) write no bytes; as on Vertex AI the
                # artifact has its URI and nothing is stored there.
                artifact.uri = final
                self.recorder.external(node, artifact)
            else:
                self.recorder.publish(node, artifact, staging, final)
            node.output_artifacts[name] = [artifact]

    def discard(self, node: Node) -> None:
        """A failed attempt's staged outputs never become artifacts."""
        for staged, _ in self.staged.pop(node.key, {}).values():
            path = Path(staged.uri)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
