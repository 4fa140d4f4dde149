"""Fill the KFP placeholders of a container's command line with one task's values.

A compiled container spec carries three kinds of placeholder in its command and args:

- values of the task's ExecutorInput: `{{$}}` (the whole of it, as JSON),
  `{{$.inputs.parameters['x']}}`, `{{$.inputs.artifacts['x'].uri}}` (also `.path`,
  `.metadata`, `.metadata['key']`, and no field at all for a list of artifacts),
  `{{$.outputs.parameters['x'].output_file}}`, `{{$.outputs.artifacts['x'].uri}}`
  (same fields) and `{{$.outputs.output_file}}`;
- values of the run, from a `Context`: `{{$.pipeline_job_name}}`,
  `{{$.pipeline_job_resource_name}}`, `{{$.pipeline_job_uuid}}`,
  `{{$.pipeline_task_name}}`, `{{$.pipeline_task_uuid}}`, `{{$.pipeline_root}}`,
  `{{$.pipeline_job_create_time_utc}}`, `{{$.pipeline_job_schedule_time_utc}}`;
- structures, each a whole argument holding JSON: `{"Concat": [...]}` joins its items
  into one argument, and `{"IfPresent": {"InputName": n, "Then": ..., "Else": ...}}`
  becomes the arguments of `Then` when input `n` was given, else those of `Else` (or
  none). They nest.

Placeholders inside text are replaced where they stand (`--out={{$.outputs...}}`), and
inserted values are never scanned again. String parameters go in as they are, other
types as JSON, as kfp's local runner does. kfp checks at compile time that an
`IfPresent` names a declared input; at run time an input that was not given simply
takes the `Else` branch.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.pipelines import parameters


class PlaceholderError(ConveyorError):
    """A placeholder cannot be resolved: unknown, malformed, or its value is missing."""


@dataclass(frozen=True)
class Job:
    """The run a task belongs to, as the pipeline-level placeholders see it."""

    name: str
    resource_name: str
    uuid: str
    pipeline_root: str
    create_time_utc: str
    schedule_time_utc: str


@dataclass(frozen=True)
class Context:
    """The run values one task's `{{$.pipeline_...}}` placeholders resolve to."""

    job: Job
    task_name: str
    task_uuid: str

    @classmethod
    def for_task(cls, job: Job, key: str) -> Context:
        """The context of the task whose engine key is `key` (`loop[2]/train`).

        Its name is the key's last part, the task's name in its DAG; its UUID is
        derived from the job and the key, so it is stable across retries.
        """
        task_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"conveyor:{job.uuid}/{key}")
        return cls(job, key.rsplit("/", 1)[-1], str(task_uuid))


_RUN_VALUES = {
    "pipeline_job_name": lambda c: c.job.name,
    "pipeline_job_resource_name": lambda c: c.job.resource_name,
    "pipeline_job_uuid": lambda c: c.job.uuid,
    "pipeline_task_name": lambda c: c.task_name,
    "pipeline_task_uuid": lambda c: c.task_uuid,
    "pipeline_root": lambda c: c.job.pipeline_root,
    "pipeline_job_create_time_utc": lambda c: c.job.create_time_utc,
    "pipeline_job_schedule_time_utc": lambda c: c.job.schedule_time_utc,
}
_PLACEHOLDER = re.compile(r"\{\{\$(\.[^{}]*)?\}\}")
_IO = re.compile(
    r"\.(?P<side>inputs|outputs)\.(?P<kind>parameters|artifacts)\['(?P<name>[^']*)'\]"
    r"(?:\.(?P<field>\w+)(?:\['(?P<key>[^']*)'\])?)?"
)
_STRUCTURES = ("Concat", "IfPresent")


def resolve_command(
    items: Sequence[str], executor_input: dict[str, Any], context: Context | None = None
) -> list[str]:
    """A container's `command` or `args` with every placeholder filled in.

    Structures expand in place: an `IfPresent` may give zero or several arguments.
    """
    resolver = _Resolver(executor_input, context)
    return [argument for item in items for argument in resolver.expand(_structure(item))]


def resolve_text(
    text: str, executor_input: dict[str, Any] | None = None, context: Context | None = None
) -> str:
    """One string with its placeholders filled in (`Concat`/`IfPresent` are not expanded).

    Without an executor input, only run values (`{{$.pipeline_job_name}}`, ...) resolve.
    """
    return _Resolver(executor_input, context).text(text)


def _structure(item: str) -> str | dict[str, Any]:
    """The Concat/IfPresent structure an argument holds, or the argument itself."""
    if not item.startswith("{"):
        return item
    try:
        value = json.loads(item)
    except ValueError:
        return item
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _STRUCTURES:
        return value
    return item


class _Resolver:
    def __init__(self, executor_input: dict[str, Any] | None, context: Context | None) -> None:
        self.executor_input = executor_input
        self.context = context

    # -- structures -------------------------------------------------------------

    def expand(self, node: Any) -> list[str]:
        """The arguments a string, a list or a structure stands for."""
        if isinstance(node, str):
            return [self.text(node)]
        if isinstance(node, list):
            return [argument for item in node for argument in self.expand(item)]
        if isinstance(node, dict) and len(node) == 1:
            kind, body = next(iter(node.items()))
            if kind == "Concat" and isinstance(body, list):
                return ["".join(self._single(item) for item in body)]
            if kind == "IfPresent" and isinstance(body, dict) and "InputName" in body:
                branch = body.get("Then") if self._given(body["InputName"]) else body.get("Else")
                return [] if branch is None else self.expand(branch)
        raise PlaceholderError(f"malformed Concat/IfPresent placeholder: {json.dumps(node)}")

    def _single(self, node: Any) -> str:
        arguments = self.expand(node)
        if len(arguments) > 1:
            raise PlaceholderError(
                f"an item of a Concat placeholder gives {len(arguments)} arguments where one "
                f"string is expected: {json.dumps(node)}"
            )
        return arguments[0] if arguments else ""

    def _given(self, name: str) -> bool:
        inputs = self._input(f"IfPresent {name!r}")["inputs"]
        if inputs.get("parameterValues", {}).get(name) is not None:
            return True
        return bool(inputs.get("artifacts", {}).get(name, {}).get("artifacts"))

    # -- single placeholders ----------------------------------------------------

    def text(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self._value(m.group(0), m.group(1) or ""), text)

    def _value(self, placeholder: str, body: str) -> str:
        if body[1:] in _RUN_VALUES:
            if self.context is None:
                raise PlaceholderError(
                    f"{placeholder} has no value here: no pipeline run context was given"
                )
            return _RUN_VALUES[body[1:]](self.context)
        if body == "":
            return json.dumps(self._input(placeholder))
        if body == ".outputs.output_file":
            return self._input(placeholder)["outputs"]["outputFile"]
        io = _IO.fullmatch(body)
        if io is None:
            raise PlaceholderError(f"unknown placeholder {placeholder}")
        side, kind, name, field, key = io.group("side", "kind", "name", "field", "key")
        section = self._input(placeholder)[side]
        if kind == "parameters":
            return _parameter(placeholder, side, section, name, field, key)
        return _artifact(placeholder, side, section, name, field, key)

    def _input(self, placeholder: str) -> dict[str, Any]:
        if self.executor_input is None:
            raise PlaceholderError(
                f"{placeholder} needs the task's inputs and outputs, which are not known here"
            )
        return self.executor_input


def _parameter(
    placeholder: str,
    side: str,
    section: dict[str, Any],
    name: str,
    field: str | None,
    key: str | None,
) -> str:
    if side == "inputs" and field is None:
        value = section.get("parameterValues", {}).get(name)
        if value is None:
            raise PlaceholderError(
                f"{placeholder}: input parameter {name!r} was not given; wrap an optional "
                "input in dsl.IfPresentPlaceholder"
            )
        return parameters.to_text(value)
    if side == "outputs" and field == "output_file" and key is None:
        output = section.get("parameters", {}).get(name)
        if output is None:
            raise PlaceholderError(f"{placeholder}: the task has no output parameter {name!r}")
        return output["outputFile"]
    raise PlaceholderError(f"unknown placeholder {placeholder}")


def _artifact(
    placeholder: str,
    side: str,
    section: dict[str, Any],
    name: str,
    field: str | None,
    key: str | None,
) -> str:
    word = side[:-1]
    listed = section.get("artifacts", {}).get(name)
    if not listed or not listed.get("artifacts"):
        raise PlaceholderError(f"{placeholder}: {word} artifact {name!r} was not given")
    if field is None:
        return json.dumps(listed)
    artifact = listed["artifacts"][0]
    if field == "uri" and key is None:
        return artifact["uri"]
    if field == "path" and key is None:
        if "://" in artifact["uri"]:
            raise PlaceholderError(
                f"{placeholder}: {word} artifact {name!r} is at {artifact['uri']}, "
                "which is not a local path; use .uri"
            )
        return artifact["uri"]
    if field == "metadata":
        metadata = artifact.get("metadata") or {}
        if key is None:
            return json.dumps(metadata)
        if key not in metadata:
            raise PlaceholderError(
                f"{placeholder}: the metadata of {word} artifact {name!r} has no key {key!r}"
            )
        return parameters.to_text(metadata[key])
    raise PlaceholderError(f"unknown placeholder {placeholder}")
