"""Resolve what a task receives, and what a DAG gives back, from the run state.

Inputs follow the `TaskInputsSpec` of the IR: a value comes from the enclosing
DAG's inputs, from a sibling task's outputs, from a constant, or (for exit
handlers) from another task's final status; a `parameterExpressionSelector`
then picks a field of it. DAG outputs follow the `DagOutputsSpec`: a
sub-pipeline returns its producer's value, a loop collects one value per
iteration, and a `dsl.OneOf` takes the branch that ran.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.pipelines import expressions, parameters
from conveyor.pipelines.state import FINISHED, SUCCEEDED, Artifact, Node, Scope


class InputError(ConveyorError):
    """A task's input could not be resolved (its producer did not give it)."""


def task_inputs(
    node: Node, render: Callable[[str, dict[str, Any]], str]
) -> tuple[dict[str, Any], dict[str, list[Artifact]]]:
    """The parameters and artifacts a node receives.

    `render(text, parameters)` fills the placeholders of a constant: run values
    like `{{$.pipeline_job_name}}`, and the task's other inputs, which is how an
    f-string argument (`f"{x}-suffix"`) reaches the component.
    """
    scope = node.scope
    given = node.task.get("inputs", {})
    definitions = node.component.get("inputDefinitions", {})
    sources = given.get("parameters", {})
    params: dict[str, Any] = {}
    constants = [name for name, source in sources.items() if "runtimeValue" in source]
    for name, source in sources.items():
        if name in constants:
            continue
        found, value = _parameter(scope, source)
        if found:
            selector = source.get("parameterExpressionSelector")
            params[name] = expressions.select(selector, value) if selector else value
    for name in constants:
        value = sources[name]["runtimeValue"].get("constant")
        params[name] = render(value, params) if isinstance(value, str) else value
    declared = definitions.get("parameters", {})
    # Channels that only fed an f-string are not inputs of the component.
    params = {name: value for name, value in params.items() if name in declared}
    for name, definition in declared.items():
        ptype = definition.get("parameterType")
        if name in params:
            params[name] = parameters.normalize(params[name], ptype)
        elif "defaultValue" in definition:
            params[name] = parameters.normalize(definition["defaultValue"], ptype)
        elif not definition.get("isOptional") and not _is_loop_item(node, name):
            raise InputError(f"task {node.key!r}: input parameter {name!r} has no value")
    arts: dict[str, list[Artifact]] = {}
    for name, source in given.get("artifacts", {}).items():
        found = _artifacts(scope, source)
        if found is not None:
            arts[name] = found
    for name, definition in definitions.get("artifacts", {}).items():
        if name not in arts and not definition.get("isOptional") and not _is_loop_item(node, name):
            raise InputError(f"task {node.key!r}: input artifact {name!r} has no value")
    return params, arts


def _is_loop_item(node: Node, name: str) -> bool:
    iterator = node.task.get("parameterIterator") or node.task.get("artifactIterator") or {}
    return iterator.get("itemInput") == name


def _parameter(scope: Scope, source: dict[str, Any]) -> tuple[bool, Any]:
    if "componentInputParameter" in source:
        name = source["componentInputParameter"]
        return (name in scope.parameters, scope.parameters.get(name))
    if "taskOutputParameter" in source:
        ref = source["taskOutputParameter"]
        producer = scope.nodes[ref["producerTask"]]
        key = ref["outputParameterKey"]
        return (key in producer.outputs, producer.outputs.get(key))
    if "taskFinalStatus" in source:
        producer = scope.nodes[source["taskFinalStatus"]["producerTask"]]
        return (True, final_status(producer))
    return (False, None)


def _artifacts(scope: Scope, source: dict[str, Any]) -> list[Artifact] | None:
    if "componentInputArtifact" in source:
        return scope.artifacts.get(source["componentInputArtifact"])
    if "taskOutputArtifact" in source:
        ref = source["taskOutputArtifact"]
        producer = scope.nodes[ref["producerTask"]]
        return producer.output_artifacts.get(ref["outputArtifactKey"])
    return None


def final_status(node: Node) -> dict[str, Any]:
    """The `PipelineTaskFinalStatus` an exit handler receives about `node`."""
    status: dict[str, Any] = {
        "state": node.status if node.status in FINISHED else "FAILED",
        "pipelineTaskName": node.display_name,
        "pipelineJobResourceName": node.scope.key or node.name,
    }
    if node.status != SUCCEEDED:
        status["error"] = {"code": 2, "message": node.error or f"task {node.key} {node.status}"}
    return status


def scope_outputs(scope: Scope) -> tuple[dict[str, Any], dict[str, list[Artifact]]]:
    """What a finished DAG instance gives back, from its `dag.outputs`."""
    outputs = scope.component.get("dag", {}).get("outputs", {})
    params: dict[str, Any] = {}
    for name, spec in outputs.get("parameters", {}).items():
        if "valueFromParameter" in spec:
            ref = spec["valueFromParameter"]
            producer = scope.nodes[ref["producerSubtask"]]
            if ref["outputParameterKey"] in producer.outputs:
                params[name] = producer.outputs[ref["outputParameterKey"]]
        elif "valueFromOneof" in spec:
            for ref in spec["valueFromOneof"].get("parameterSelectors", []):
                producer = scope.nodes[ref["producerSubtask"]]
                if ref["outputParameterKey"] in producer.outputs:
                    params[name] = producer.outputs[ref["outputParameterKey"]]
                    break
    arts: dict[str, list[Artifact]] = {}
    for name, spec in outputs.get("artifacts", {}).items():
        for ref in spec.get("artifactSelectors", []):
            producer = scope.nodes[ref["producerSubtask"]]
            found = producer.output_artifacts.get(ref["outputArtifactKey"])
            if found is not None:
                arts[name] = found
                break
    return params, arts


def loop_outputs(node: Node) -> tuple[dict[str, Any], dict[str, list[Artifact]]]:
    """A loop's outputs: one value per iteration, in item order (`dsl.Collected`)."""
    outputs = node.component.get("dag", {}).get("outputs", {})
    per_iteration = [scope_outputs(child) for child in node.children]
    params = {
        name: [p[name] for p, _ in per_iteration if name in p]
        for name in outputs.get("parameters", {})
    }
    arts = {
        name: [artifact for _, a in per_iteration for artifact in a.get(name, [])]
        for name in outputs.get("artifacts", {})
    }
    return params, arts


def loop_items(node: Node) -> list[Any]:
    """The items a `ParallelFor` node iterates over."""
    if "parameterIterator" in node.task:
        items = node.task["parameterIterator"]["items"]
        if "raw" in items:
            value = json.loads(items["raw"])
        else:
            value = node.parameters.get(items["inputParameter"])
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, list):
            raise InputError(f"task {node.key!r}: ParallelFor items are {value!r}, not a list")
        return value
    items = node.task["artifactIterator"]["items"]
    return list(node.artifacts.get(items["inputArtifact"], []))
