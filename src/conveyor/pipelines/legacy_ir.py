"""Older PipelineSpec fields, upgraded to the names the engine reads.

TFX's `KubeflowV2DagRunner` (tfx 1.16) writes IR that Vertex AI still runs but that uses
fields the current `kfp-pipeline-spec` keeps only as deprecated:

- `inputDefinitions`/`outputDefinitions` parameters typed by `type` (`STRING`, `INT`,
  `DOUBLE`) rather than `parameterType` (`STRING`, `NUMBER_INTEGER`, `NUMBER_DOUBLE`);
- constant task inputs as `runtimeValue.constantValue` (`{"intValue": "6"}`) rather than
  `runtimeValue.constant` (a plain JSON value), and `runtimeValue.runtimeParameter`
  rather than `componentInputParameter`;
- artifact types as an `instanceSchema` (a YAML document whose `title` names the type)
  rather than a `schemaTitle`, in definitions and in importers' `typeSchema`;
- an importer's `artifactUri` as a `constantValue`.

`upgrade` rewrites them in place, before the proto parse, so the rest of Conveyor sees
ordinary IR; a spec without them is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES = {"STRING": "STRING", "INT": "NUMBER_INTEGER", "DOUBLE": "NUMBER_DOUBLE"}
_TITLE = re.compile(r"^title:\s*(\S+)\s*$", re.MULTILINE)


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """The spec with its older fields renamed (the same dict, changed in place). Parts of
    the wrong shape are left for the parse to refuse, naming them."""
    components = list(_mapping(document.get("components")).values())
    root = document.get("root")
    for component in [*components, *([root] if isinstance(root, dict) else [])]:
        if not isinstance(component, dict):
            continue
        for side in ("inputDefinitions", "outputDefinitions"):
            definitions = _mapping(component.get(side))
            for parameter in _mapping(definitions.get("parameters")).values():
                _parameter_type(parameter)
            for artifact in _mapping(definitions.get("artifacts")).values():
                if isinstance(artifact, dict):
                    _schema_title(artifact.get("artifactType"))
        for task in _mapping(_mapping(component.get("dag")).get("tasks")).values():
            inputs = _mapping(task.get("inputs")) if isinstance(task, dict) else {}
            for given in _mapping(inputs.get("parameters")).values():
                _runtime_value(given)
    executors = _mapping(_mapping(document.get("deploymentSpec")).get("executors"))
    for executor in executors.values():
        importer = executor.get("importer") if isinstance(executor, dict) else None
        if isinstance(importer, dict):
            _schema_title(importer.get("typeSchema"))
            _constant(importer.get("artifactUri"))
    return document


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parameter_type(parameter: Any) -> None:
    if isinstance(parameter, dict) and "type" in parameter and "parameterType" not in parameter:
        parameter["parameterType"] = _TYPES.get(parameter.pop("type"), "STRING")


def _schema_title(schema: Any) -> None:
    """`instanceSchema` to the `schemaTitle` its YAML names (`title: tfx.Examples`)."""
    if not isinstance(schema, dict) or "instanceSchema" not in schema:
        return
    found = _TITLE.search(str(schema["instanceSchema"]))
    if found:
        del schema["instanceSchema"]
        schema["schemaTitle"] = found.group(1)
        schema.setdefault("schemaVersion", "0.0.1")


def _runtime_value(given: Any) -> None:
    if not isinstance(given, dict):
        return
    value = given.get("runtimeValue")
    if isinstance(value, dict) and "runtimeParameter" in value:
        given.pop("runtimeValue")
        given["componentInputParameter"] = value["runtimeParameter"]
    _constant(value)


def _constant(holder: Any) -> None:
    """`constantValue: {"intValue": "6"}` to `constant: 6`."""
    if not isinstance(holder, dict) or not isinstance(holder.get("constantValue"), dict):
        return
    typed = holder.pop("constantValue")
    if "intValue" in typed:
        holder["constant"] = int(typed["intValue"])
    elif "doubleValue" in typed:
        holder["constant"] = float(typed["doubleValue"])
    else:
        holder["constant"] = typed.get("stringValue", "")
