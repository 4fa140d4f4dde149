"""Semantic checks of a PipelineSpec and of the arguments of a run.

The proto parse (see `spec`) guarantees the shape; these checks guarantee that
the spec holds together before anything runs: every reference resolves, every
required input is fed, and every argument fits its declared type. Each error
names the field, so `conveyor run` can stop with exit code 2 and a useful line.
"""

from __future__ import annotations

from typing import Any

from conveyor.errors import InvalidPipeline, UsageError
from conveyor.pipelines import parameters
from conveyor.pipelines.executors import gcpc, tfx_executor
from conveyor.pipelines.spec import PipelineSpec


def check_spec(spec: PipelineSpec) -> None:
    """Raise InvalidPipeline naming the first broken reference of the spec."""
    if getattr(spec, "checked", False):
        return
    components = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    for name, component in components.items():
        label = component.get("executorLabel")
        if label and label not in executors:
            raise InvalidPipeline(
                f"components.{name}.executorLabel: executor {label!r} is not in "
                "deploymentSpec.executors"
            )
        if not label and "dag" not in component:
            raise InvalidPipeline(f"components.{name}: has neither an executorLabel nor a dag")
        container = executors[label].get("container", {}) if label else {}
        refused = label and (gcpc.refusal(container) or tfx_executor.refusal(container))
        if refused:
            raise InvalidPipeline(f"components.{name} (executor {label}): {refused}")
    _check_dag(spec["root"], "root", components)
    for name, component in components.items():
        if "dag" in component:
            _check_dag(component, f"components.{name}", components)
    if isinstance(spec, PipelineSpec):
        spec.checked = True


def _check_dag(component: dict[str, Any], where: str, components: dict[str, Any]) -> None:
    tasks = component.get("dag", {}).get("tasks", {})
    for task_name, task in tasks.items():
        at = f"{where}.dag.tasks.{task_name}"
        ref = task.get("componentRef", {}).get("name")
        if ref not in components:
            raise InvalidPipeline(f"{at}.componentRef: component {ref!r} is not defined")
        for upstream in task.get("dependentTasks", []):
            if upstream not in tasks:
                raise InvalidPipeline(f"{at}.dependentTasks: no task {upstream!r} in this DAG")
        for kind in ("parameters", "artifacts"):
            for input_name, source in task.get("inputs", {}).get(kind, {}).items():
                producer = _producer(source)
                if producer is not None and producer not in tasks:
                    raise InvalidPipeline(
                        f"{at}.inputs.{kind}.{input_name}: producer task {producer!r} "
                        "is not in this DAG"
                    )
        _check_task_inputs(task, at, components[ref])
    _check_acyclic(tasks, where)


def _producer(source: dict[str, Any]) -> str | None:
    for key in ("taskOutputParameter", "taskOutputArtifact", "taskFinalStatus"):
        if key in source:
            return source[key].get("producerTask")
    return None


def _check_task_inputs(task: dict[str, Any], at: str, component: dict[str, Any]) -> None:
    definitions = component.get("inputDefinitions", {})
    given = task.get("inputs", {})
    iterator = task.get("parameterIterator") or task.get("artifactIterator") or {}
    loop_item = iterator.get("itemInput")
    for kind in ("parameters", "artifacts"):
        declared = definitions.get(kind, {})
        provided = given.get(kind, {})
        for name in provided:
            # f-string arguments bring `pipelinechannel--` inputs the component does not declare.
            if name not in declared and not name.startswith("pipelinechannel--"):
                raise InvalidPipeline(f"{at}.inputs.{kind}.{name}: the component has no such input")
        for name, definition in declared.items():
            required = not definition.get("isOptional") and "defaultValue" not in definition
            if required and name not in provided and name != loop_item:
                raise InvalidPipeline(f"{at}.inputs.{kind}: required input {name!r} is not given")


def _check_acyclic(tasks: dict[str, Any], where: str) -> None:
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise InvalidPipeline(f"{where}.dag: tasks depend on each other in a cycle: {cycle}")
        state[name] = "visiting"
        for upstream in tasks[name].get("dependentTasks", []):
            visit(upstream, [*path, name])
        state[name] = "done"

    for name in tasks:
        visit(name, [])


def bind_arguments(spec: PipelineSpec, arguments: dict[str, Any], *, as_text: bool) -> dict:
    """Check run arguments against the root inputs; return values with defaults applied.

    `as_text` means the values came from the command line and are converted
    from text; otherwise they are Python values checked against the type. The
    values of a PipelineJob's `runtimeConfig` (`spec.job_arguments`) come before
    the spec's defaults and after `arguments`, as Vertex AI applies them.
    """
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    for given, where in ((arguments, ""), (spec.job_arguments, " in the job's runtimeConfig")):
        unknown = sorted(set(given) - set(declared))
        if unknown:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(
                f"unknown parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}{where} (the pipeline's parameters: {known})"
            )
    bound: dict[str, Any] = {}
    for name, definition in declared.items():
        ptype = definition.get("parameterType", parameters.STRING)
        if name in arguments:
            value = arguments[name]
            if as_text:
                bound[name] = parameters.from_text(name, value, ptype)
            else:
                bound[name] = parameters.coerce(name, value, ptype)
        elif name in spec.job_arguments:
            bound[name] = parameters.coerce(name, spec.job_arguments[name], ptype)
        elif "defaultValue" in definition:
            bound[name] = parameters.normalize(definition["defaultValue"], ptype)
        elif not definition.get("isOptional"):
            raise UsageError(
                f"missing required parameter {name!r} ({ptype}); give it with -p {name}=..."
            )
    root_artifacts = spec["root"].get("inputDefinitions", {}).get("artifacts", {})
    if root_artifacts:
        names = ", ".join(sorted(root_artifacts))
        raise InvalidPipeline(
            f"root.inputDefinitions.artifacts: pipeline-level artifact inputs ({names}) are not supported; use dsl.importer"
        )
    return bound
