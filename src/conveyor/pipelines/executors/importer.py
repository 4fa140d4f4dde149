"""`dsl.importer`: bring an existing artifact into the run without running anything.

`ImporterExecutor` takes the tasks whose executor spec is an `importer`: it
reports the named artifact as the task's output, which the engine records by
reference like any output whose URI a task chose itself.

An importer's URI may come from a run's parameters, so it is held to the home's
allowed artifact folders as registry uploads are: a local path is normalised
(`data/../x` is `x`) and, when the home names allowed folders
(`CONVEYOR_ALLOWED_ARTIFACT_ROOTS`), must lie under one of them or the home's
artifact root, symlinks resolved; a URL may not climb with `..`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.pipelines import placeholders
from conveyor.pipelines.executors.base import Executor, Task, TaskRequest, TaskResult
from conveyor.pipelines.state import Artifact
from conveyor.store.artifacts import naming


class ImporterError(ConveyorError):
    """The importer's URI could not be resolved."""


class ImporterExecutor(Executor):
    """Runs importer tasks at once, on the engine's thread: there is nothing to wait for."""

    threaded = False
    reusable = False

    def __init__(self, roots: tuple[Path, ...] = ()) -> None:
        super().__init__()
        self.roots = roots
        """The folders local URIs must lie under; none: anywhere."""

    def accepts(self, spec: dict[str, Any]) -> bool:
        return "importer" in spec

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        parameters = request.executor_input.get("inputs", {}).get("parameterValues", {})
        artifact = import_artifact(request.executor_spec["importer"], parameters, self.roots)
        with open(request.log_path, "a") as log:
            log.write(f"imported {artifact.uri} as {artifact.schema_title}, by reference\n")
        # KFP names an importer's output `artifact`; TFX's Importer names it by its
        # `output_key` (`result`): the task's one declared output is the imported artifact.
        declared = list(request.executor_input.get("outputs", {}).get("artifacts", {}))
        name = declared[0] if len(declared) == 1 else artifact.name
        output = {"artifacts": {name: {"artifacts": [artifact.to_json()]}}}
        return TaskResult(request.key, True, executor_output=output)


def import_artifact(
    spec: dict[str, Any], parameters: dict[str, Any], roots: tuple[Path, ...] = ()
) -> Artifact:
    """The artifact an `importer` executor spec names, with its declared type and metadata.

    As on Vertex AI, the artifact is registered by reference: its bytes stay
    where they are, and no check is made that the URI exists.
    """
    source = spec.get("artifactUri", {})
    if "constant" in source:
        uri = source["constant"]
    elif "runtimeParameter" in source:
        name = source["runtimeParameter"]
        if name not in parameters:
            raise ImporterError(f"importer: input parameter {name!r} for the URI has no value")
        uri = parameters[name]
    else:
        raise ImporterError("importer: the spec gives no artifactUri")
    if not isinstance(uri, str) or not uri:
        raise ImporterError(f"importer: the artifact URI must be a non-empty string, got {uri!r}")
    schema = spec.get("typeSchema", {})
    return Artifact(
        name="artifact",
        uri=checked_uri(uri, roots),
        schema_title=schema.get("schemaTitle", "system.Artifact"),
        schema_version=schema.get("schemaVersion", "0.0.1"),
        metadata=_filled(spec.get("metadata", {}), parameters),
    )


def checked_uri(uri: str, roots: tuple[Path, ...]) -> str:
    """`uri` normalised, once it is known to stay where the home allows (module doc)."""
    if not naming.is_local(uri):
        if ".." in uri.split("://", 1)[-1].split("/"):
            raise ImporterError(f"importer: {uri} climbs with '..'; give the artifact's own URL")
        return uri
    prefix = "file://" if uri.startswith("file://") else ""
    normal = os.path.normpath(uri.removeprefix(prefix))
    real = naming.local_of(normal).resolve()
    if roots and not any(real.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise ImporterError(
            f"importer: {uri} is outside the allowed artifact folders ({allowed}); "
            "CONVEYOR_ALLOWED_ARTIFACT_ROOTS names them"
        )
    return prefix + normal


def _filled(value: Any, parameters: dict[str, Any]) -> Any:
    """Metadata with `{{$.inputs.parameters[...]}}` (pipeline parameters given to
    the importer) replaced by their values, in keys and values alike."""
    if isinstance(value, dict):
        return {_filled(k, parameters): _filled(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, parameters) for v in value]
    if isinstance(value, str) and "{{$" in value:
        whole = _WHOLE_PARAMETER.fullmatch(value)
        if whole and whole.group(1) in parameters:
            return parameters[whole.group(1)]  # keeps the parameter's type
        return placeholders.resolve_text(value, {"inputs": {"parameterValues": parameters}})
    return value


_WHOLE_PARAMETER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
