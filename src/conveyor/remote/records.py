"""`rebuild`: a record (a frozen dataclass) from the JSON its `to_json()` made, as a server
sent it.

    >>> from conveyor.registry.records import Evaluation
    >>> rebuild(Evaluation, {"id": 1, "model": "churn", "version_id": 3, "metrics":
    ...     {"auc": 0.9}, "slice": None, "run_id": None, "created_by": "dana",
    ...     "created_at": "2026-03-01T12:00:00Z"}).created_at.year
    2026

The fields' annotations say what each value becomes: ISO 8601 text a `datetime`, a value
an enum member, a mapping a nested record, element by element through lists, dicts and
optional (`X | None`) types. Keys the record has no field for (a server newer than this
client, or a field the API adds, such as `reference`) are left out; a field the answer
lacks takes its default, and a required one missing is a `ServerError`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from conveyor.remote.errors import ServerError

Record = TypeVar("Record")


def rebuild(cls: type[Record], data: Any) -> Record:
    """The record of class `cls` that `data` (its `to_json()` shape) describes."""
    if not isinstance(data, Mapping):
        raise ServerError(
            f"the server answered {type(data).__name__} where a {cls.__name__} was expected"
        )
    hints = _hints(cls)
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            values[field.name] = _value(hints[field.name], data[field.name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ServerError(
                f"the server's {cls.__name__} has no {field.name!r}: is it an older Conveyor?"
            )
    return cls(**values)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(kind: Any, value: Any) -> Any:
    """`value` as the annotation `kind` says."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return _first_fitting([a for a in args if a is not type(None)], value)
    if origin is list:
        return [_value(args[0], v) for v in value] if args else list(value)
    if origin is dict:
        return {k: _value(args[1], v) for k, v in value.items()} if args else dict(value)
    if isinstance(kind, type):
        if issubclass(kind, Enum):
            return kind(value)
        if issubclass(kind, datetime):
            return datetime.fromisoformat(value)
        if dataclasses.is_dataclass(kind):
            return rebuild(kind, value)
    return value  # Any, Literal, str, int, float, bool: as JSON has them


def _first_fitting(kinds: list[Any], value: Any) -> Any:
    """`value` as the first of a union's `kinds` it fits (`MetricType | PerformanceMetric`)."""
    for kind in kinds[:-1]:
        try:
            return _value(kind, value)
        except (ValueError, TypeError):
            continue
    return _value(kinds[-1], value)
