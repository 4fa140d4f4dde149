"""What every GCPC implementation shares: the launcher's arguments, Vertex AI resource names,
and the outputs GCPC writes (the executor output's artifacts, `gcp_resources`).

    OPTIONS = ("--parent_model_name",)     # the component's own options, beside GCPC's

    def run(args: Arguments) -> None:
        ...
        args.write_artifacts(model={"resourceName": str(name)})
        args.write_gcp_resources("VertexLro", name.operation())

    if __name__ == "__main__":
        sys.exit(main(run, OPTIONS))
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.components._lib.errors import ComponentError
from conveyor.errors import ConveyorError

DEFAULT_PROJECT = "local"
"""The project of a resource name when the pipeline gives none (Vertex AI's own placeholder
`{{$.pipeline_google_cloud_project_id}}`, which only Vertex AI fills in)."""
DEFAULT_LOCATION = "local"
API = "https://{location}-aiplatform.googleapis.com/v1/"
"""Vertex AI's REST root, which GCPC's `gcp_resources` name resources under."""

_RESOURCE = re.compile(
    r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/(?P<collection>[A-Za-z]+)/(?P<id>[^/]+)"
)


class LauncherError(ComponentError):
    """A GCPC component's arguments cannot work; the message names the argument and the fix."""


@dataclass(frozen=True)
class ResourceName:
    """A Vertex AI resource: `projects/P/locations/L/models/churn@3`."""

    project: str
    location: str
    collection: str
    """`models`, `endpoints`, `batchPredictionJobs`, `customJobs`, `datasets`."""
    id: str

    def __str__(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/{self.collection}/{self.id}"

    @classmethod
    def parse(cls, text: str, collection: str) -> ResourceName:
        """`text` as a resource of `collection`, or LauncherError naming the expected form."""
        found = _RESOURCE.fullmatch(text.strip()) if isinstance(text, str) else None
        if found is None or found["collection"] != collection:
            raise LauncherError(
                f"{text!r} is not a Vertex AI {collection[:-1]} resource name: expected "
                f"projects/PROJECT/locations/LOCATION/{collection}/ID, as the upstream GCPC "
                "component's output artifact carries it in its metadata (resourceName)"
            )
        return cls(found["project"], found["location"], collection, found["id"])

    @property
    def uri(self) -> str:
        """The resource under Vertex AI's REST root, as GCPC names it in `gcp_resources`."""
        return API.format(location=self.location) + str(self)

    def operation(self) -> str:
        """The URI of a long-running operation on this resource (GCPC's `VertexLro`)."""
        return f"{self.uri.split('@', 1)[0]}/operations/{new_id()}"


def new_id() -> str:
    """A numeric id, as Vertex AI gives its jobs and operations."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


@dataclass
class Arguments:
    """A launcher's arguments, parsed as GCPC's launchers parse them."""

    type: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    """`--payload`, with empty fields removed (as GCPC's `recursive_remove_empty`)."""
    project: str = DEFAULT_PROJECT
    location: str = DEFAULT_LOCATION
    gcp_resources: str | None = None
    """The file of the `gcp_resources` output parameter."""
    executor_input: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str | None] = field(default_factory=dict)
    """The component's own options (`--parent_model_name`, `--model_name`...)."""

    def input_artifact(self, name: str) -> dict[str, Any] | None:
        """The runtime artifact of input `name` (`uri`, `metadata`), or None if not given."""
        listed = self.executor_input.get("inputs", {}).get("artifacts", {}).get(name, {})
        artifacts = listed.get("artifacts") or []
        return artifacts[0] if artifacts else None

    def output_artifact(self, name: str) -> dict[str, Any]:
        """The runtime artifact of output `name`: where it is staged (`uri`)."""
        listed = self.executor_input.get("outputs", {}).get("artifacts", {}).get(name, {})
        artifacts = listed.get("artifacts") or []
        if not artifacts:
            raise LauncherError(
                f"the task has no output artifact {name!r}; recompile the pipeline with GCPC"
            )
        return artifacts[0]

    def write_artifacts(
        self, uris: dict[str, str] | None = None, **metadata: dict[str, Any]
    ) -> None:
        """Give output artifacts their metadata in the executor output, as GCPC's
        `update_output_artifacts` does. Each keeps the URI Conveyor gave it (where a
        resource's artifact would hold bytes: it holds none, Vertex AI's resource is named
        by its metadata) unless `uris` points it elsewhere."""
        outputs = self.executor_input.get("outputs", {})
        output_file = outputs.get("outputFile")
        if not output_file:
            raise LauncherError(
                "no --executor_input with an output file was given; recompile the pipeline "
                "with GCPC"
            )
        produced = {}
        for name, values in metadata.items():
            artifact = dict(self.output_artifact(name))
            artifact["metadata"] = {**(artifact.get("metadata") or {}), **values}
            if uris and name in uris:
                artifact["uri"] = uris[name]
            produced[name] = {"artifacts": [artifact]}
        Path(output_file).parent.mkdir(parents=True, exist_ok=True)
        Path(output_file).write_text(json.dumps({"artifacts": produced}))

    def write_gcp_resources(self, resource_type: str, resource_uri: str) -> None:
        """The `gcp_resources` output parameter, the JSON GCPC writes."""
        if self.gcp_resources:
            resources = {
                "resources": [{"resourceType": resource_type, "resourceUri": resource_uri}]
            }
            Path(self.gcp_resources).write_text(json.dumps(resources, indent=2))

    def resource(self, collection: str, id: str) -> ResourceName:
        return ResourceName(self.project, self.location, collection, id)


def parse(argv: Sequence[str], options: Sequence[str] = ()) -> Arguments:
    """The launcher's arguments, with the component's own `options`; unknown ones are
    ignored, as GCPC's launchers ignore them."""
    parser = argparse.ArgumentParser(add_help=False)
    for option in ("--type", "--payload", "--project", "--location", "--gcp_resources"):
        parser.add_argument(option, default="")
    parser.add_argument("--executor_input", default="")
    for option in options:
        parser.add_argument(option, default=None)
    known, _ = parser.parse_known_args(list(argv))
    values = vars(known)
    return Arguments(
        type=values.pop("type"),
        payload=_payload(values.pop("payload")),
        project=given(values.pop("project")) or DEFAULT_PROJECT,
        location=given(values.pop("location")) or DEFAULT_LOCATION,
        gcp_resources=values.pop("gcp_resources") or None,
        executor_input=_json(values.pop("executor_input"), "--executor_input") or {},
        extra=values,
    )


def given(value: str | None) -> str:
    """A parameter's value, or "" when empty or a Vertex AI placeholder only Vertex fills in
    (`{{$.pipeline_google_cloud_project_id}}`)."""
    if not value or "{{$" in value:
        return ""
    return value.strip()


def _payload(text: str) -> dict[str, Any]:
    value = _json(text, "--payload") or {}
    if not isinstance(value, dict):
        raise LauncherError(f"--payload is not a JSON object: {text[:200]!r}")
    return remove_empty(value)


def _json(text: str, option: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text, strict=False)
    except ValueError as exc:
        raise LauncherError(f"{option} is not valid JSON ({exc}): {text[:200]!r}") from None


def remove_empty(value: Any) -> Any:
    """`value` without empty strings, lists and objects (and false, 0), recursively, as GCPC
    cleans a payload before sending it; values in lists are kept."""
    if isinstance(value, dict):
        cleaned = {k: remove_empty(v) for k, v in value.items() if v}
        cleaned = {k: v for k, v in cleaned.items() if v}
        return cleaned
    if isinstance(value, list):
        kept = [remove_empty(v) if isinstance(v, dict | list) else v for v in value]
        return [v for v in kept if not isinstance(v, dict | list) or v]
    return value


def main(run: Callable[[Arguments], None], options: Sequence[str] = ()) -> int:
    """Run one launcher with this process's arguments; exit 1 with a one-line error for
    anything Conveyor refuses (the task's log shows it)."""
    try:
        run(parse(sys.argv[1:], options))
    except ConveyorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
