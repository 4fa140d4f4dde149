"""A task's resources, from its compiled container spec, as the options of a Ray task.

KFP compiles `set_cpu_request`/`set_cpu_limit`, `set_memory_request`/`set_memory_limit`,
`set_accelerator_type` and `set_accelerator_limit` into the container's `resources`
(`resourceCpuLimit: "2"`, `resourceMemoryLimit: "1G"`, `accelerator.resourceType`), each
a Kubernetes quantity or a placeholder of a pipeline parameter. A Ray task reserves what
it asks for, as Kubernetes schedules a pod by its requests: the request when the task has
one, else its limit (`num_cpus`, `memory` in bytes). Accelerators become `num_gpus` and
Ray's `accelerator_type` (`ACCELERATORS`), TPUs Ray's `TPU` resource.

`unsatisfiable` says why no node of the cluster could ever run a task, so that it fails
with that reason instead of waiting for a node that will not come.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from conveyor.errors import UsageError

ACCELERATORS: dict[str, tuple[str, str | None]] = {
    # KFP / Vertex AI name: (Ray resource, Ray accelerator_type)
    "NVIDIA_TESLA_K80": ("GPU", "K80"),
    "NVIDIA_TESLA_P4": ("GPU", "P4"),
    "NVIDIA_TESLA_P100": ("GPU", "P100"),
    "NVIDIA_TESLA_V100": ("GPU", "V100"),
    "NVIDIA_TESLA_T4": ("GPU", "T4"),
    "NVIDIA_TESLA_A100": ("GPU", "A100"),
    "NVIDIA_A100_80GB": ("GPU", "A100-80G"),
    "NVIDIA_TESLA_A10G": ("GPU", "A10G"),
    "NVIDIA_L4": ("GPU", "L4"),
    "NVIDIA_H100_80GB": ("GPU", "H100"),
    "NVIDIA_H100_MEGA_80GB": ("GPU", "H100"),
    "nvidia.com/gpu": ("GPU", None),
    "NVIDIA_GPU": ("GPU", None),
    "TPU_V2": ("TPU", "TPU-V2"),
    "TPU_V3": ("TPU", "TPU-V3"),
    "TPU_V4_POD": ("TPU", "TPU-V4"),
    "TPU_V5_LITEPOD": ("TPU", "TPU-V5LITEPOD"),
    "cloud-tpus.google.com/v2": ("TPU", "TPU-V2"),
    "cloud-tpus.google.com/v3": ("TPU", "TPU-V3"),
}
"""Accelerator names a pipeline may set, and what Ray calls them."""

_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_SUFFIXES = {
    "": 1, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_PARAMETER = re.compile(r"^\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}$")


def options_of(container: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The Ray task options (`num_cpus`, `memory`, `num_gpus`, `accelerator_type`,
    `resources`) of a task with this container spec; `parameters` are the task's input
    parameter values, for resources set from pipeline parameters."""
    resources = container.get("resources") or {}
    options: dict[str, Any] = {}
    cpus = _pick(resources, parameters, ("resourceCpuRequest", "cpuRequest")) or _pick(
        resources, parameters, ("resourceCpuLimit", "cpuLimit")
    )
    if cpus is not None:
        options["num_cpus"] = quantity(cpus, "CPU")
    memory = _memory(resources, parameters, "Request") or _memory(resources, parameters, "Limit")
    if memory is not None:
        options["memory"] = memory
    accelerator = resources.get("accelerator") or {}
    kind = _value(accelerator.get("resourceType") or accelerator.get("type"), parameters)
    if kind:
        count = quantity(
            _value(accelerator.get("resourceCount") or accelerator.get("count") or 1, parameters),
            "accelerator",
        )
        if str(kind) not in ACCELERATORS:
            known = ", ".join(sorted(ACCELERATORS))
            raise UsageError(f"accelerator type {kind!r} has no Ray equivalent; known: {known}")
        resource, ray_type = ACCELERATORS[str(kind)]
        if resource == "GPU":
            options["num_gpus"] = count
        else:
            options["resources"] = {resource: count}
        if ray_type is not None:
            options["accelerator_type"] = ray_type
    return options


def quantity(text: Any, what: str) -> float:
    """A Kubernetes quantity (`"500m"`, `"2"`, `"1G"`, `"512Mi"`) as a number."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    match = _QUANTITY.match(str(text))
    if match is None or match.group(2) not in _SUFFIXES:
        raise UsageError(f"{what} {text!r} is not a quantity such as 2, 500m, 1G or 512Mi")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def unsatisfiable(options: Mapping[str, Any], nodes: Iterable[Mapping[str, Any]]) -> str | None:
    """Why no alive node (`ray.nodes()`) can run a task with these options; None if one can."""
    wanted = _wanted(options)
    alive = [n for n in nodes if n.get("Alive")]
    for node in alive:
        have = node.get("Resources") or {}
        if all(have.get(name, 0) >= amount for name, amount in wanted.items()):
            return None
    asked = ", ".join(f"{name} {_shown(name, amount)}" for name, amount in sorted(wanted.items()))
    largest = {
        name: max((n.get("Resources") or {}).get(name, 0) for n in alive) if alive else 0
        for name in wanted
    }
    most = ", ".join(f"{name} {_shown(name, amount)}" for name, amount in sorted(largest.items()))
    return (
        f"no node of the Ray cluster can run it: it asks for {asked}; the most any of its "
        f"{len(alive)} node(s) has is {most}"
    )


def _wanted(options: Mapping[str, Any]) -> dict[str, float]:
    wanted = {"CPU": float(options.get("num_cpus", 1))}
    if options.get("memory"):
        wanted["memory"] = float(options["memory"])
    if options.get("num_gpus"):
        wanted["GPU"] = float(options["num_gpus"])
    if options.get("accelerator_type"):
        wanted[f"accelerator_type:{options['accelerator_type']}"] = 0.001
    wanted.update({k: float(v) for k, v in (options.get("resources") or {}).items()})
    return {name: amount for name, amount in wanted.items() if amount > 0}


def _shown(name: str, amount: float) -> str:
    if name == "memory":
        return f"{amount / 2**30:.1f} GiB"
    if name.startswith("accelerator_type:"):
        return "present" if amount else "absent"
    return f"{amount:g}"


def _memory(resources: Mapping[str, Any], parameters: Mapping[str, Any], kind: str) -> int | None:
    text = _value(resources.get(f"resourceMemory{kind}"), parameters)
    if text not in (None, ""):
        return int(quantity(text, "memory"))
    gigabytes = resources.get(f"memory{kind}")  # the older field: decimal gigabytes
    return int(float(gigabytes) * 1e9) if gigabytes else None


def _pick(
    resources: Mapping[str, Any], parameters: Mapping[str, Any], names: tuple[str, ...]
) -> Any:
    """The first of the fields `names` that is set."""
    for name in names:
        value = _value(resources.get(name), parameters)
        if value not in (None, "", 0, 0.0):
            return value
    return None


def _value(text: Any, parameters: Mapping[str, Any]) -> Any:
    """`text`, or the parameter it is a placeholder of."""
    if not isinstance(text, str):
        return text
    match = _PARAMETER.match(text.strip())
    if match is None:
        return text
    name = match.group(1)
    if name not in parameters:
        raise UsageError(f"resource placeholder {text} names no input parameter of the task")
    return parameters[name]
