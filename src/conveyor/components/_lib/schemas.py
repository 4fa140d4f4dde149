"""The data schema: what `infer_schema` writes and `validate_data` checks data against.

    {"features": [
      {"name": "age", "type": "integer", "required": true, "domain": {"min": 18, "max": 90}},
      {"name": "plan", "type": "string", "required": false,
       "domain": {"values": ["monthly", "yearly"]}},
      {"name": "income", "type": "float", "required": false}]}

As TFX's SchemaGen, the schema is inferred from training statistics and then
meant to be curated by hand (kept in version control, brought back into a
pipeline with `dsl.importer`). `type` is one of float, integer, string,
boolean; `required` means no value may be missing; `domain` holds the allowed
values of a string feature (as counted in statistics: booleans are "true" and
"false") or the range of a number. A feature without `domain` accepts any value.
"""

from __future__ import annotations

from typing import Any

from conveyor.components._lib import features as ftypes
from conveyor.components._lib.errors import ComponentError

_KEYS = {"name", "type", "required", "domain", "description"}


def infer(
    statistics: dict[str, Any], max_domain_size: int = 100, infer_numeric_ranges: bool = False
) -> dict[str, Any]:
    """The schema of the data the statistics describe."""
    inferred = []
    for name, stats in statistics["features"].items():
        feature: dict[str, Any] = {
            "name": name,
            "type": stats["type"],
            "required": stats["missing"] == 0 and stats["count"] > 0,
        }
        categorical = stats.get("categorical")
        if (
            stats["type"] == ftypes.STRING
            and categorical
            and categorical["values_complete"]
            and 0 < categorical["unique"] <= max_domain_size
        ):
            feature["domain"] = {"values": sorted(categorical["values"])}
        numeric = stats.get("numeric")
        if infer_numeric_ranges and numeric and "min" in numeric:
            feature["domain"] = {"min": numeric["min"], "max": numeric["max"]}
        inferred.append(feature)
    return {"features": inferred}


def check(schema: Any) -> dict[str, dict[str, Any]]:
    """The schema's features by name, or ComponentError naming the first bad one."""
    if not isinstance(schema, dict) or not isinstance(schema.get("features"), list):
        raise ComponentError(
            'a schema is {"features": [{"name": ..., "type": ...}, ...]}; this one is not'
        )
    checked: dict[str, dict[str, Any]] = {}
    for position, feature in enumerate(schema["features"]):
        if not isinstance(feature, dict) or not isinstance(feature.get("name"), str):
            raise ComponentError(f"feature {position} of the schema needs a string name")
        name = feature["name"]
        if name in checked:
            raise ComponentError(f"feature {name!r} appears twice in the schema")
        if feature.get("type") not in ftypes.TYPES:
            raise ComponentError(
                f"feature {name!r} of the schema has type {feature.get('type')!r}; "
                f"use one of {', '.join(ftypes.TYPES)}"
            )
        unknown = set(feature) - _KEYS
        if unknown:
            raise ComponentError(
                f"feature {name!r} of the schema has unknown keys {', '.join(sorted(unknown))}; "
                f"a feature has {', '.join(sorted(_KEYS))}"
            )
        domain = feature.get("domain")
        if domain is not None and not _domain_ok(domain):
            raise ComponentError(
                f"the domain of feature {name!r} must be "
                '{"values": [...]} or {"min": ..., "max": ...}, '
                f"not {domain!r}"
            )
        checked[name] = feature
    return checked


def _domain_ok(domain: Any) -> bool:
    if not isinstance(domain, dict) or not domain:
        return False
    if set(domain) == {"values"}:
        return isinstance(domain["values"], list)
    return set(domain) <= {"min", "max"} and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in domain.values()
    )
