"""Input schemas: the features a model takes, and the check of a request's instances.

A schema is what the registry stores for a model version (`conveyor.registry.schemas`):
a list of features in order, or the same list under a "features" key,

    [{"name": "age", "type": "integer"}, {"name": "city", "type": "string"},
     {"name": "income", "type": "float", "description": "yearly, in euros"}]

with types `float` (any number; `double` is taken as a synonym), `integer`, `string` and
`boolean`. `nullable` (default false) lets a feature be `null`. An instance is a list of
values in schema order or an object of feature name to value (Vertex AI `instances`).

`validate_instances` raises `InvalidInput` naming the instance and the feature for a
missing, unknown or mistyped feature. It works a column at a time: the set of Python types
in a column is computed by C loops (`map`, `set`), and only a column that fails is walked
value by value to find the culprit, so checking a 1000-row batch costs well under a
millisecond.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from conveyor.serving.runtimes.errors import InvalidInput, InvalidSchema

FLOAT, INTEGER, STRING, BOOLEAN = "float", "integer", "string", "boolean"
TYPES = (FLOAT, INTEGER, STRING, BOOLEAN)
SYNONYMS = {"double": FLOAT}
KEYS = frozenset({"name", "type", "description", "nullable"})

# Exact Python types accepted without a closer look (JSON gives int, float, str, bool).
_FAST: dict[str, frozenset[type]] = {
    FLOAT: frozenset({float, int, np.float64, np.float32, np.int64, np.int32}),
    INTEGER: frozenset({int, np.int64, np.int32}),
    STRING: frozenset({str, np.str_}),
    BOOLEAN: frozenset({bool, np.bool_}),
}

# The Open Inference Protocol's datatype of each schema type.
DATATYPES = {FLOAT: "FP64", INTEGER: "INT64", STRING: "BYTES", BOOLEAN: "BOOL"}
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Feature:
    """One input feature: its name, its type (one of `TYPES`), whether null is allowed,
    and the description the registry keeps with it."""

    name: str
    type: str
    nullable: bool = False
    description: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description is not None:
            found["description"] = self.description
        if self.nullable:
            found["nullable"] = True
        return found


class InputSchema:
    """The ordered features of a model, compiled for fast checks of instances."""

    def __init__(self, features: Sequence[Feature]) -> None:
        if not features:
            raise InvalidSchema("an input schema needs at least one feature")
        self.features = tuple(features)
        self.names = tuple(f.name for f in self.features)
        if len(set(self.names)) != len(self.names):
            twice = sorted({n for n in self.names if self.names.count(n) > 1})
            raise InvalidSchema(f"input schema names feature {twice[0]!r} more than once")
        self._keys = dict.fromkeys(self.names).keys()
        self._allowed = [
            _FAST[f.type] | {type(None)} if f.nullable else _FAST[f.type] for f in self.features
        ]

    @classmethod
    def parse(cls, spec: InputSchema | Iterable[dict[str, Any]]) -> InputSchema:
        """A schema from the stored list of `{"name", "type"[, "description", "nullable"]}`
        entries (or a `{"features": [...]}` object holding it)."""
        if isinstance(spec, InputSchema):
            return spec
        if isinstance(spec, dict) and set(spec) == {"features"}:
            spec = spec["features"]
        if isinstance(spec, str | bytes | dict) or not isinstance(spec, Iterable):
            raise InvalidSchema(
                'an input schema is a list of {"name": ..., "type": ...} entries, '
                f"not a {type(spec).__name__}"
            )
        features = []
        for i, entry in enumerate(spec):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise InvalidSchema(f"input schema entry {i} needs a string 'name': {entry!r}")
            kind = SYNONYMS.get(entry.get("type"), entry.get("type"))
            if kind not in TYPES:
                raise InvalidSchema(
                    f"input schema feature {entry['name']!r} has type {kind!r}; "
                    f"use one of {', '.join(TYPES)}"
                )
            unknown = set(entry) - KEYS
            if unknown:
                raise InvalidSchema(
                    f"input schema feature {entry['name']!r} has unknown keys "
                    f"{', '.join(sorted(map(str, unknown)))}; allowed: {', '.join(sorted(KEYS))}"
                )
            nullable, description = entry.get("nullable", False), entry.get("description")
            features.append(Feature(entry["name"], kind, bool(nullable), description))
        return cls(features)

    def as_list(self) -> list[dict[str, Any]]:
        """The schema in the stored format."""
        return [f.as_dict() for f in self.features]

    def __len__(self) -> int:
        return len(self.features)

    def __repr__(self) -> str:
        return f"InputSchema({self.as_list()!r})"

    def validate(self, instances: Any) -> None:
        """Raise `InvalidInput` naming the instance and feature unless every instance fits."""
        require_instances(instances)
        columns = self.columns(instances)
        for feature, allowed, column in zip(self.features, self._allowed, columns, strict=True):
            found = set(map(type, column))
            if not found <= allowed:
                _check_slowly(feature, column)

    def columns(self, instances: list) -> list[Sequence[Any]]:
        """The instances as one sequence of values per feature, in schema order; raises
        `InvalidInput` for a missing or unknown feature or a wrong number of values."""
        first = instances[0]
        if isinstance(first, dict):
            return self._dict_columns(instances)
        if isinstance(first, list | tuple):
            return self._row_columns(instances)
        if len(self.names) == 1:
            kinds = set(map(type, instances))
            if kinds & {list, tuple, dict}:
                raise mixed_forms(instances)
            return [instances]
        raise InvalidInput(
            f"instance 0 is a single {json_type(first)}; the model takes {len(self.names)} "
            f"features ({', '.join(self.names)}): send each instance as a list of values "
            "or an object of feature name to value",
            instance=0,
        )

    def _dict_columns(self, instances: list) -> list[Sequence[Any]]:
        if set(map(type, instances)) != {dict}:
            raise mixed_forms(instances)
        if not all(map(self._keys.__eq__, map(dict.keys, instances))):
            raise key_error(instances, self.names)
        return [list(map(itemgetter(name), instances)) for name in self.names]

    def _row_columns(self, instances: list) -> list[Sequence[Any]]:
        kinds = set(map(type, instances))
        if not kinds <= {list, tuple}:
            raise mixed_forms(instances)
        if set(map(len, instances)) != {len(self.names)}:
            raise length_error(instances, self.names)
        return list(zip(*instances, strict=True))


def validate_instances(schema: InputSchema | Iterable[dict[str, Any]], instances: Any) -> None:
    """Check `instances` against `schema` (an `InputSchema` or its stored list form)."""
    InputSchema.parse(schema).validate(instances)


def datatype_of(values: list[Any]) -> str | None:
    """The Open Inference Protocol datatype of plain values, as a JSON answer holds them:
    BOOL, INT64, FP64 (numbers, null for NaN) or BYTES (strings); None when no datatype
    holds them all (objects, arrays, numbers with text, integers beyond INT64)."""
    kinds = set(map(type, values))
    if not kinds:
        return None
    if kinds == {bool}:
        return "BOOL"
    if kinds == {int}:
        return "INT64" if _INT64[0] <= min(values) and max(values) <= _INT64[1] else None
    if kinds <= {int, float, type(None)} and kinds & {int, float}:
        return "FP64"
    if kinds == {str}:
        return "BYTES"
    return None


def require_instances(instances: Any) -> None:
    """Raise `InvalidInput` unless `instances` is a non-empty list."""
    if not isinstance(instances, list):
        raise InvalidInput(f"instances must be a list, not {json_type(instances)}")
    if not instances:
        raise InvalidInput("instances is empty: send at least one instance")


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, numbers.Integral):
        return "integer"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple | np.ndarray):
        return "array"
    return type(value).__name__


def mixed_forms(instances: list) -> InvalidInput:
    """The error for instances that are not all lists or all objects."""
    first = json_type(instances[0])
    for i, instance in enumerate(instances):
        if json_type(instance) != first and not (
            first in ("integer", "number") and json_type(instance) in ("integer", "number")
        ):
            return InvalidInput(
                f"instance {i} is {_an(json_type(instance))} but instance 0 is {_an(first)}: "
                "send every instance as a list of values or every one as an object",
                instance=i,
            )
    return InvalidInput("instances mix lists and objects: send them all in one form")


def key_error(instances: list, names: Sequence[str]) -> InvalidInput:
    """The error naming the first missing or unknown feature among object instances."""
    known = set(names)
    for i, instance in enumerate(instances):
        if not isinstance(instance, dict):
            return mixed_forms(instances)
        for name in names:
            if name not in instance:
                return InvalidInput(
                    f"instance {i} is missing feature {name!r}", feature=name, instance=i
                )
        for name in instance:
            if name not in known:
                return InvalidInput(
                    f"instance {i} has unknown feature {name!r}; the model takes: "
                    f"{', '.join(names)}",
                    feature=str(name),
                    instance=i,
                )
    return InvalidInput("instances do not name the model's features")


def length_error(instances: list, names: Sequence[str]) -> InvalidInput:
    """The error naming the first list instance with the wrong number of values."""
    for i, instance in enumerate(instances):
        if not isinstance(instance, list | tuple):
            return mixed_forms(instances)
        if len(instance) != len(names):
            return InvalidInput(
                f"instance {i} has {len(instance)} value{'' if len(instance) == 1 else 's'}; "
                f"the model takes {len(names)} "
                f"features, in order: {', '.join(names)}",
                instance=i,
            )
    return InvalidInput(f"each instance needs {len(names)} values")


def _check_slowly(feature: Feature, column: Sequence[Any]) -> None:
    for i, value in enumerate(column):
        if value is None:
            if feature.nullable:
                continue
            raise InvalidInput(
                f"feature {feature.name!r} of instance {i} is null; it must be {_an(feature.type)}",
                feature=feature.name,
                instance=i,
            )
        if not _fits(feature.type, value):
            raise InvalidInput(
                f"feature {feature.name!r} of instance {i} must be {_an(feature.type)}, "
                f"not {_an(json_type(value))} ({value!r})",
                feature=feature.name,
                instance=i,
            )


def _fits(kind: str, value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return kind == BOOLEAN
    if kind == FLOAT:
        return isinstance(value, numbers.Real)
    if kind == INTEGER:
        return isinstance(value, numbers.Integral) or (
            isinstance(value, numbers.Real) and float(value).is_integer()
        )
    if kind == STRING:
        return isinstance(value, str)
    return False


def _an(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"
