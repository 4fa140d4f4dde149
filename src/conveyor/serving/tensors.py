"""Tensors of the Open Inference Protocol: datatypes, and tensor data as JSON or as binary.

An input is `{"name", "shape", "datatype", "data"}`, `data` row-major, flat or nested as
the shape. With the binary tensor data extension an input has `parameters.binary_data_size`
instead of `data`, and its bytes follow the JSON header in the body: little-endian,
row-major, BOOL one byte per value, BYTES each value a 4-byte length and its bytes
(UTF-8 text here, as features are). Outputs are the same tensors, their data in JSON or,
when the client asks, as binary data after the header. A value must fit its datatype:
INT8 holds -128 to 127, FP32 what rounds to a finite float32, and so on; the errors name
the input and the value, since a value that fits no datatype would otherwise overflow
later, deep in numpy.
"""

from __future__ import annotations

import json
import math
import struct
from itertools import chain
from math import prod
from typing import Any, NamedTuple

import numpy as np

from conveyor.serving.http import ApiError
from conveyor.serving.runtimes.schema import datatype_of

INTEGERS = {
    **{f"INT{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    **{f"UINT{b}": (0, 2**b - 1) for b in (8, 16, 32, 64)},
}
"""The range of each integer datatype."""
FLOATS = {"FP16": 65520, "FP32": 2**128 - 2**103, "FP64": 2**1024 - 2**970}
"""The least magnitude each float datatype rounds to infinity: values below it fit."""
_LARGEST = {"FP16": "65504", "FP32": "3.4028235e38", "FP64": "1.7976931348623157e308"}
DATATYPES = frozenset({*INTEGERS, *FLOATS, "BOOL", "BYTES"})
DTYPES = {
    **{f"INT{b}": f"<i{b // 8}" for b in (8, 16, 32, 64)},
    **{f"UINT{b}": f"<u{b // 8}" for b in (8, 16, 32, 64)},
    **{"FP16": "<f2", "FP32": "<f4", "FP64": "<f8", "BOOL": "|b1"},
}
"""The numpy dtype of each fixed-size datatype's binary data."""
_KINDS = {
    **dict.fromkeys(INTEGERS, (frozenset({int}), "whole numbers")),
    **dict.fromkeys(FLOATS, (frozenset({int, float}), "numbers")),
    "BOOL": (frozenset({bool}), "true or false"),
    "BYTES": (frozenset({str}), "strings"),
}
_LENGTH = struct.Struct("<I")
_FLOAT = frozenset({float})


class Tensor(NamedTuple):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    """The values, flat, row-major."""
    floats: bool = False
    """Whether the values (JSON data) are all Python floats, which a float64 array holds
    exactly (`inference.instances_of` hands such a tensor to the runtime as one)."""


class Binary:
    """The binary data after the JSON header of a request, handed out input by input."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.offset = 0

    def take(self, name: str, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise ApiError(
                400,
                f"input {name!r} declares {size} bytes of binary data, but the body holds "
                f"only {len(self.data) - self.offset} more after the inputs before it",
            )
        chunk = bytes(self.data[self.offset : end])
        self.offset = end
        return chunk

    def check_used(self) -> None:
        left = len(self.data) - self.offset
        if left:
            raise ApiError(
                400,
                f"the body holds {left} bytes of binary data that no input declares "
                "(parameters.binary_data_size)",
            )


# In


def tensor_in(spec: Any, position: int, binary: Binary | None) -> Tensor:
    """Input `position` of a request, its data checked against its shape and datatype."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ApiError(400, f'input {position} needs a "name" (a string)')
    name = spec["name"]
    shape = spec.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(type(d) is int and 0 <= d < 2**63 for d in shape)
    ):
        raise ApiError(
            400, f'input {name!r} needs a "shape": a list of sizes like [rows, features]'
        )
    datatype = spec.get("datatype")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise ApiError(
            400,
            f"input {name!r} has datatype {datatype!r}; use one of {', '.join(sorted(DATATYPES))}",
        )
    parameters = spec.get("parameters")
    if parameters is None:
        parameters = {}
    elif not isinstance(parameters, dict):
        raise ApiError(400, f'input {name!r} has "parameters" that are not an object')
    size = parameters.get("binary_data_size")
    if size is not None:
        return Tensor(name, shape, datatype, _binary_in(name, shape, datatype, size, spec, binary))
    data = spec.get("data")
    if not isinstance(data, list):
        raise ApiError(400, f'input {name!r} needs "data": a list of values')
    flat, kinds = _flatten(data)
    if len(flat) != prod(shape):
        raise ApiError(
            400,
            f"input {name!r} has shape {shape}, so {prod(shape)} values, but its data holds "
            f"{len(flat)}",
        )
    _check_values(name, datatype, flat, kinds)
    return Tensor(name, shape, datatype, flat, datatype in FLOATS and kinds == _FLOAT)


def _flatten(data: list[Any]) -> tuple[list[Any], set[type]]:
    """`data` flat, row-major, and the set of its values' types (found by C loops: a
    64-row request has 512 values, and a Python loop over them was its dearest step)."""
    kinds = set(map(type, data))
    while list in kinds:
        if len(kinds) > 1:
            return data, kinds  # ragged: the length check names it
        data = list(chain.from_iterable(data))
        kinds = set(map(type, data))
    return data, kinds


def _check_values(name: str, datatype: str, flat: list[Any], kinds: set[type]) -> None:
    """ApiError 400 naming the first value of input `name` that `datatype` cannot hold
    (`kinds`: the types of the values)."""
    allowed, wanted = _KINDS[datatype]
    if not kinds <= allowed:
        for i, value in enumerate(flat):
            if type(value) not in allowed:
                raise ApiError(
                    400,
                    f"input {name!r} is {datatype}, so its data must be {wanted}; value {i} "
                    f"is {_shown(value)}",
                )
    if not flat:
        return
    if datatype in INTEGERS:
        low, high = INTEGERS[datatype]
        if low <= min(flat) and max(flat) <= high:
            return
        i, value = next((i, v) for i, v in enumerate(flat) if not low <= v <= high)
        raise ApiError(
            400,
            f"input {name!r} is {datatype}, which holds {low} to {high}; value {i} is "
            f"{_shown(value)}",
        )
    if datatype in FLOATS:
        if datatype == "FP64" and kinds == {float}:
            return  # a Python float is a double: FP64 holds every one (infinities too)
        limit = FLOATS[datatype]
        if max(map(abs, flat)) < limit:
            return
        for i, value in enumerate(flat):
            if abs(value) >= limit and not (type(value) is float and not math.isfinite(value)):
                raise ApiError(
                    400,
                    f"input {name!r} is {datatype}, and value {i}, {_shown(value)}, is beyond "
                    f"its range (its largest is {_LARGEST[datatype]})",
                )


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"


def _binary_in(
    name: str, shape: list[int], datatype: str, size: Any, spec: dict, binary: Binary | None
) -> list[Any]:
    if type(size) is not int or size < 0:
        raise ApiError(400, f"input {name!r} has a binary_data_size that is not a byte count")
    if "data" in spec:
        raise ApiError(400, f'input {name!r} has both "data" and binary data: send one')
    if binary is None:
        raise ApiError(
            400,
            f"input {name!r} declares binary data, but the request has no "
            "Inference-Header-Content-Length header saying where the JSON ends",
        )
    chunk = binary.take(name, size)
    count = prod(shape)
    if datatype == "BYTES":
        return _strings_in(name, chunk, count)
    dtype = np.dtype(DTYPES[datatype])
    if size != count * dtype.itemsize:
        raise ApiError(
            400,
            f"input {name!r} is {datatype} of shape {shape}, so {count * dtype.itemsize} "
            f"bytes of binary data, but it declares {size}",
        )
    return np.frombuffer(chunk, dtype).tolist()


def _strings_in(name: str, chunk: bytes, count: int) -> list[str]:
    found: list[str] = []
    offset = 0
    while offset < len(chunk):
        if offset + 4 > len(chunk):
            raise ApiError(400, f"input {name!r} has BYTES data cut short in value {len(found)}")
        (length,) = _LENGTH.unpack_from(chunk, offset)
        value = chunk[offset + 4 : offset + 4 + length]
        if len(value) != length:
            raise ApiError(400, f"input {name!r} has BYTES data cut short in value {len(found)}")
        try:
            found.append(value.decode())
        except UnicodeDecodeError:
            raise ApiError(
                400, f"input {name!r} has BYTES value {len(found)} that is not UTF-8 text"
            ) from None
        offset += 4 + length
    if len(found) != count:
        raise ApiError(
            400,
            f"input {name!r} has a shape of {count} values, but its BYTES data holds {len(found)}",
        )
    return found


# Out


def tensor_out(name: str, values: list[Any], declared: str | None = None) -> dict[str, Any]:
    """The output tensor of one value per row: its shape from how the values nest, its
    datatype the one the model declares (`declared`) when the values fit it, else the
    one they are; values no datatype holds go as BYTES, JSON text per row."""
    shape, flat = [len(values)], values
    while flat and set(map(type, flat)) == {list} and len(set(map(len, flat))) == 1:
        shape.append(len(flat[0]))
        flat = list(chain.from_iterable(flat))
    datatype = datatype_of(flat)
    if datatype is None:
        text = [v if isinstance(v, str) else json.dumps(v, default=str) for v in values]
        return {"name": name, "shape": [len(values)], "datatype": "BYTES", "data": text}
    if declared is not None and _fits(datatype, declared):
        datatype = declared
    return {"name": name, "shape": shape, "datatype": datatype, "data": flat}


def _fits(found: str, declared: str) -> bool:
    if found == "INT64":
        return declared in INTEGERS or declared in FLOATS
    if found == "FP64":
        return declared in FLOATS
    return found == declared


def binary_out(tensor: dict[str, Any]) -> bytes:
    """The binary data of an output tensor."""
    if tensor["datatype"] == "BYTES":
        return b"".join(
            _LENGTH.pack(len(b)) + b for b in (v.encode(errors="replace") for v in tensor["data"])
        )
    return np.asarray(tensor["data"], DTYPES[tensor["datatype"]]).tobytes()
