"""Parameter types of the KFP IR, and the conversions Vertex AI applies to them.

A pipeline parameter arrives either as a Python value (`conveyor.run(...,
arguments=...)`) or as text (`conveyor run -p name=value`). Both are checked
against the declared `parameterType` and turned into the JSON value the IR
carries (`NUMBER_INTEGER` 3 stays 3, `LIST` and `STRUCT` text is parsed as JSON),
so a bad value is refused before anything runs.
"""

from __future__ import annotations

import json
from typing import Any

from conveyor.errors import UsageError

STRING = "STRING"
NUMBER_INTEGER = "NUMBER_INTEGER"
NUMBER_DOUBLE = "NUMBER_DOUBLE"
BOOLEAN = "BOOLEAN"
LIST = "LIST"
STRUCT = "STRUCT"
TASK_FINAL_STATUS = "TASK_FINAL_STATUS"

_TYPE_WORDS = {
    STRING: "a string",
    NUMBER_INTEGER: "an integer",
    NUMBER_DOUBLE: "a number",
    BOOLEAN: "a boolean (true or false)",
    LIST: "a JSON list",
    STRUCT: "a JSON object",
}


def _bad(name: str, value: Any, ptype: str) -> UsageError:
    return UsageError(
        f"parameter {name!r}: {value!r} is not {_TYPE_WORDS.get(ptype, ptype)} "
        f"(declared type {ptype})"
    )


def from_text(name: str, text: str, ptype: str) -> Any:
    """Convert a command-line value to the declared type."""
    if ptype == STRING:
        return text
    if ptype == NUMBER_INTEGER:
        try:
            return int(text)
        except ValueError:
            raise _bad(name, text, ptype) from None
    if ptype == NUMBER_DOUBLE:
        try:
            return float(text)
        except ValueError:
            raise _bad(name, text, ptype) from None
    if ptype == BOOLEAN:
        lowered = text.strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        raise _bad(name, text, ptype)
    if ptype in {LIST, STRUCT}:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"parameter {name!r}: {text!r} is not valid JSON ({exc.msg})"
            ) from None
        return coerce(name, value, ptype)
    raise UsageError(f"parameter {name!r}: values of type {ptype} cannot be given")


def coerce(name: str, value: Any, ptype: str) -> Any:
    """Check a Python value against the declared type; return its IR form."""
    if ptype == STRING:
        if isinstance(value, str):
            return value
    elif ptype == NUMBER_INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif ptype == NUMBER_DOUBLE:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif ptype == BOOLEAN:
        if isinstance(value, bool):
            return value
    elif ptype == LIST:
        if isinstance(value, list | tuple):
            return _json_roundtrip(name, list(value))
    elif ptype == STRUCT:
        if isinstance(value, dict):
            return _json_roundtrip(name, value)
    else:
        raise UsageError(f"parameter {name!r}: values of type {ptype} cannot be given")
    raise _bad(name, value, ptype)


def normalize(value: Any, ptype: str | None) -> Any:
    """Give an IR value its Python shape: integers that protobuf turned into floats."""
    if ptype == NUMBER_INTEGER and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def to_text(value: Any) -> str:
    """The text form KFP uses where a parameter is spliced into a string."""
    return value if isinstance(value, str) else json.dumps(value)


def _json_roundtrip(name: str, value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"parameter {name!r}: value is not JSON-serializable ({exc})") from None
