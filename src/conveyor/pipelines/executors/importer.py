"""`dsl.importer`: bring an existing artifact into the run without running anything."""

from __future__ import annotations

import re
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.pipelines import placeholders
from conveyor.pipelines.state import Artifact


class ImporterError(ConveyorError):
    """The importer's URI could not be resolved."""


def import_artifact(spec: dict[str, Any], parameters: dict[str, Any]) -> Artifact:
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
        uri=uri,
        schema_title=schema.get("schemaTitle", "system.Artifact"),
        schema_version=schema.get("schemaVersion", "0.0.1"),
        metadata=_filled(spec.get("metadata", {}), parameters),
    )


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
