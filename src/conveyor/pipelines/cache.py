"""Cache keys of tasks, with Vertex AI semantics, and why two keys differ.

A task's key covers what determines its outputs: the container spec (image,
command, args, env), the input parameter values, the identities of the input
artifacts, and the output definitions. Entries are shared only within one
pipeline name (the lookup enforces that). An input artifact is identified by
its URI, which names its run, task and output and so stands for its identity
as the store id does on Vertex AI; with `content` identity (opt-in) by its
sha256, so a re-produced identical input still hits.

The key's parts are kept beside it so `conveyor runs explain-cache` can say
which part differs from the nearest earlier execution.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from conveyor.errors import UsageError
from conveyor.pipelines.state import Artifact

BY_ID = "id"
BY_CONTENT = "content"


@dataclass(frozen=True)
class Policy:
    """A run's caching settings.

    `enabled` None keeps each task's compiled `set_caching_options` (on by default);
    True or False applies to every task, as `enable_caching` does on Vertex AI (the
    runner turns it off when the home's `CONVEYOR_DISABLE_CACHE=1` says so).
    """

    enabled: bool | None = None
    max_age: timedelta | None = None
    by_content: bool = False

    def applies_to(self, task: dict[str, Any]) -> bool:
        if self.enabled is not None:
            return self.enabled
        return bool(task.get("cachingOptions", {}).get("enableCache", False))


def parse_age(text: str) -> timedelta:
    """`30m`, `12h`, `7d`, `2w` (or a number of seconds) as a duration."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    text = text.strip().lower()
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number)
    except ValueError:
        raise UsageError(
            f"cache max age {text!r}: give a number with s, m, h, d or w, e.g. 7d"
        ) from None
    if value <= 0:
        raise UsageError(f"cache max age {text!r} must be positive")
    return timedelta(seconds=value * units[unit])


class _Encoded(str):
    """Canonical JSON made already: `_canonical` writes it out as it is."""


@dataclass(frozen=True)
class ComponentParts:
    """The parts of a cache key that a component fixes, with their canonical JSON made once:
    every task of the component, in every iteration of a loop, shares them."""

    container: dict[str, Any]
    outputs: dict[str, Any]
    container_json: _Encoded
    outputs_json: _Encoded


def component_parts(
    container: dict[str, Any], output_definitions: dict[str, Any]
) -> ComponentParts:
    """The key parts a component fixes: its container (image, command, args, env) and the
    types of its outputs. Made once per content: what a key covers, read from the spec
    again at each call, is what the parts are remembered by."""
    env = container.get("env")
    parameters = output_definitions.get("parameters")
    artifacts = output_definitions.get("artifacts")
    return _parts_of(
        container.get("image", ""),
        tuple(container.get("command", ())),
        tuple(container.get("args", ())),
        tuple([(e["name"], e.get("value", "")) for e in env]) if env else (),
        tuple([(n, d.get("parameterType")) for n, d in parameters.items()]) if parameters else (),
        tuple([(n, d.get("artifactType", {}).get("schemaTitle")) for n, d in artifacts.items()])
        if artifacts
        else (),
    )


@lru_cache(maxsize=4096)
def _parts_of(
    image: str,
    command: tuple[str, ...],
    args: tuple[str, ...],
    env: tuple[tuple[str, str], ...],
    parameters: tuple[tuple[str, Any], ...],
    artifacts: tuple[tuple[str, Any], ...],
) -> ComponentParts:
    fixed = {"image": image, "command": list(command), "args": list(args), "env": dict(env)}
    outputs = {"parameters": dict(parameters), "artifacts": dict(artifacts)}
    return ComponentParts(
        fixed, outputs, _Encoded(_canonical(fixed)), _Encoded(_canonical(outputs))
    )


def key_parts(
    component: ComponentParts,
    parameters: dict[str, Any],
    artifacts: dict[str, list[Artifact]],
    identity: str = BY_ID,
) -> dict[str, Any]:
    """The parts of a task's cache key, as plain JSON."""
    return {
        "container": component.container,
        "parameters": parameters,
        "artifacts": {
            name: [_identity(a, identity) for a in arts] for name, arts in artifacts.items()
        },
        "outputs": component.outputs,
    }


def key_of(parts: dict[str, Any], component: ComponentParts | None = None) -> str:
    """The sha256 of the parts' canonical JSON; with the `component` they were made from,
    its parts' JSON is reused rather than made again (the text is the same)."""
    if component is not None:
        parts = {**parts, "container": component.container_json, "outputs": component.outputs_json}
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()


def _canonical(value: Any) -> str:
    """`value` as canonical JSON (keys sorted, no spaces), the one text keys are made of;
    the `_Encoded` values of a dict are canonical JSON already, written out as they are."""
    if type(value) is not dict or _Encoded not in map(type, value.values()):
        return _JSON.encode(value)
    members = [
        f"{_JSON.encode(name)}:{item if type(item) is _Encoded else _JSON.encode(item)}"
        for name, item in sorted(value.items())
    ]
    return "{" + ",".join(members) + "}"


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def _identity(artifact: Artifact, identity: str) -> str:
    # A published artifact's URI names its run, task and output, so it identifies
    # the artifact as its store id would, and imported artifacts (identified by
    # URI on Vertex AI too) need no special case.
    if identity == BY_CONTENT and artifact.sha256:
        return f"sha256:{artifact.sha256}"
    return f"uri:{artifact.uri}"


def differences(before: dict[str, Any], after: dict[str, Any], path: str = "") -> list[str]:
    """Human-readable lines for each leaf that differs between two key parts."""
    if isinstance(before, dict) and isinstance(after, dict):
        lines: list[str] = []
        for name in sorted(set(before) | set(after)):
            where = f"{path}.{name}" if path else name
            if name not in before:
                lines.append(f"{where}: added ({_show(after[name])})")
            elif name not in after:
                lines.append(f"{where}: removed (was {_show(before[name])})")
            else:
                lines.extend(differences(before[name], after[name], where))
        return lines
    if before != after:
        return [f"{path}: {_show(before)} -> {_show(after)}"]
    return []


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
