"""What changed between two compiled pipeline specs, as a reviewer asks it: which
components were added, removed or changed (by the digest of their spec and executor),
which parameters were added, removed or given another type or default, which images
changed.

    diff = SpecDiff.between(registered_spec, compiled_spec)
    diff.summary()   # "components changed: comp-train; parameters added: epochs"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.pipelines.parameters import normalize
from conveyor.store.metadata import spec_digest


@dataclass(frozen=True)
class ParameterChange:
    """A parameter of the pipeline both specs have, with another `type` or `default`."""

    name: str
    field: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "field": self.field, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class ImageChange:
    """A component whose container image changed."""

    component: str
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, Any]:
        return {"component": self.component, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class SpecDiff:
    """The changes from spec `before` to spec `after`; `changed` is False only when their
    digests are equal."""

    changed: bool
    components_added: list[str] = field(default_factory=list)
    components_removed: list[str] = field(default_factory=list)
    components_changed: list[str] = field(default_factory=list)
    parameters_added: list[str] = field(default_factory=list)
    parameters_removed: list[str] = field(default_factory=list)
    parameters_changed: list[ParameterChange] = field(default_factory=list)
    images_changed: list[ImageChange] = field(default_factory=list)

    @classmethod
    def between(cls, before: dict[str, Any], after: dict[str, Any]) -> SpecDiff:
        if spec_digest(before) == spec_digest(after):
            return cls(changed=False)
        old, new = _components(before), _components(after)
        old_parameters, new_parameters = _parameters(before), _parameters(after)
        old_images, new_images = _images(before), _images(after)
        return cls(
            changed=True,
            components_added=sorted(new.keys() - old.keys()),
            components_removed=sorted(old.keys() - new.keys()),
            components_changed=sorted(n for n in old.keys() & new.keys() if old[n] != new[n]),
            parameters_added=sorted(new_parameters.keys() - old_parameters.keys()),
            parameters_removed=sorted(old_parameters.keys() - new_parameters.keys()),
            parameters_changed=[
                ParameterChange(
                    name, key, old_parameters[name].get(key), new_parameters[name].get(key)
                )
                for name in sorted(old_parameters.keys() & new_parameters.keys())
                for key in ("parameterType", "defaultValue")
                if old_parameters[name].get(key) != new_parameters[name].get(key)
            ],
            images_changed=[
                ImageChange(name, old_images[name], new_images[name])
                for name in sorted(old_images.keys() & new_images.keys())
                if old_images[name] != new_images[name]
            ],
        )

    def summary(self) -> str:
        """One line for a table: each kind of change with what it touched."""
        if not self.changed:
            return "unchanged"
        parts = [
            f"{what}: {', '.join(names)}"
            for what, names in (
                ("components added", self.components_added),
                ("components removed", self.components_removed),
                ("components changed", self.components_changed),
                ("parameters added", self.parameters_added),
                ("parameters removed", self.parameters_removed),
                (
                    "parameters changed",
                    [
                        f"{c.name} {_short(c.field)} {c.before!r} -> {c.after!r}"
                        for c in self.parameters_changed
                    ],
                ),
                ("images", [f"{c.component} {c.before} -> {c.after}" for c in self.images_changed]),
            )
            if names
        ]
        return "; ".join(parts) or "changed elsewhere (tasks, outputs or pipeline info)"

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "components": {
                "added": self.components_added,
                "removed": self.components_removed,
                "changed": self.components_changed,
            },
            "parameters": {
                "added": self.parameters_added,
                "removed": self.parameters_removed,
                "changed": [c.to_json() for c in self.parameters_changed],
            },
            "images": [c.to_json() for c in self.images_changed],
        }


def _short(field: str) -> str:
    return {"parameterType": "type", "defaultValue": "default"}.get(field, field)


def _components(spec: dict[str, Any]) -> dict[str, str]:
    """Each component's digest: its spec and, for a task's component, its executor."""
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    return {
        name: spec_digest(
            {"spec": component, "executor": executors.get(component.get("executorLabel"))}
        )
        for name, component in spec.get("components", {}).items()
    }


def _parameters(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each parameter's definition, its default as a run binds it (`2`, not the IR's `2.0`)."""
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    return {
        name: {
            **definition,
            "defaultValue": normalize(definition["defaultValue"], definition.get("parameterType")),
        }
        if "defaultValue" in definition
        else definition
        for name, definition in declared.items()
    }


def _images(spec: dict[str, Any]) -> dict[str, str | None]:
    """The image of each component that runs in a container, by component name."""
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    found = {}
    for name, component in spec.get("components", {}).items():
        executor = executors.get(component.get("executorLabel"), {})
        if "container" in executor:
            found[name] = executor["container"].get("image")
    return found
