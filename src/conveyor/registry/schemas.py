"""Input and output schemas: the named, typed features a version takes and gives.

A schema is a list of features, in the order a model reads them:

    [{"name": "tenure", "type": "integer"},
     {"name": "plan", "type": "string", "description": "monthly or yearly"}]

(or the same list under a "features" key, as a schema file may hold it). Types
are those of JSON values: `float` (any number), `integer`, `string`,
`boolean`. The server checks prediction requests against the input schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.registry.errors import InvalidSchema

FEATURE_TYPES = ("float", "integer", "string", "boolean")
_KEYS = {"name", "type", "description"}


def check_schema(schema: Any, which: str = "input") -> list[dict[str, str]] | None:
    """`schema` as a list of feature dicts, or InvalidSchema naming the first bad feature."""
    if schema is None:
        return None
    if isinstance(schema, Mapping) and set(schema) == {"features"}:
        schema = schema["features"]
    if isinstance(schema, str | bytes) or not isinstance(schema, Sequence) or not schema:
        raise InvalidSchema(
            f"the {which} schema must be a non-empty list of features like "
            '[{"name": "tenure", "type": "integer"}], not ' + _short(schema)
        )
    features: list[dict[str, str]] = []
    seen: set[str] = set()
    for position, feature in enumerate(schema):
        where = f"feature {position} of the {which} schema"
        if not isinstance(feature, Mapping):
            raise InvalidSchema(
                f'{where} must be an object like {{"name": "tenure", "type": "integer"}}, '
                f"not {_short(feature)}"
            )
        name, kind = feature.get("name"), feature.get("type")
        if not isinstance(name, str) or not name:
            raise InvalidSchema(f'{where} needs a "name" (a non-empty string)')
        if name in seen:
            raise InvalidSchema(f"feature {name!r} appears twice in the {which} schema")
        if kind not in FEATURE_TYPES:
            raise InvalidSchema(
                f"feature {name!r} of the {which} schema has type {kind!r}; "
                f"use one of {', '.join(FEATURE_TYPES)}"
            )
        extra = set(feature) - _KEYS
        if extra:
            raise InvalidSchema(
                f"feature {name!r} of the {which} schema has unknown keys "
                f"{', '.join(sorted(map(str, extra)))}; a feature has name, type and description"
            )
        description = feature.get("description")
        if description is not None and not isinstance(description, str):
            raise InvalidSchema(f"the description of feature {name!r} must be a string")
        seen.add(name)
        features.append({k: feature[k] for k in ("name", "type", "description") if k in feature})
    return features


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
