"""The inputs an ONNX model declares, read from its protobuf bytes without loading the model.

Only the fields on the way are decoded (the graph, its inputs and the names of its
initializers); everything else, weights included, is skipped by its length. The inputs
are those ONNX Runtime asks for: graph inputs that no initializer fills.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

Dims = tuple[int | None, ...] | None
"""An input's shape: each dimension's size, None when symbolic; None without a shape."""

_MAX_NAME = 1 << 16
# Field numbers of onnx.proto3.
_MODEL_GRAPH = 7
_GRAPH_INPUT, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 11, 5, 15
_TENSOR_NAME, _SPARSE_VALUES = 8, 1
_VALUE_NAME, _VALUE_TYPE, _TYPE_TENSOR, _TENSOR_SHAPE, _SHAPE_DIM = 1, 2, 1, 2, 1
_DIM_VALUE = 1


def model_inputs(stream: BinaryIO) -> list[tuple[str, Dims]]:
    """Name and shape of each input the model must be fed, in order."""
    end = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    graph = next((span for number, span in _fields(stream, end) if number == _MODEL_GRAPH), None)
    if graph is None:
        return []
    declared: list[tuple[str, Dims]] = []
    filled: set[str] = set()
    for number, span in _fields(stream, graph[1]):
        if number == _GRAPH_INPUT:
            declared.append(_value_info(stream, span[1]))
        elif number == _GRAPH_INITIALIZER:
            filled.add(_field_text(stream, span[1], _TENSOR_NAME))
        elif number == _GRAPH_SPARSE_INITIALIZER:
            values = _field(stream, span[1], _SPARSE_VALUES)
            if values is not None:
                filled.add(_field_text(stream, values[1], _TENSOR_NAME))
    return [(name, dims) for name, dims in declared if name not in filled]


def _value_info(stream: BinaryIO, end: int) -> tuple[str, Dims]:
    name, dims = "", None
    for number, span in _fields(stream, end):
        if number == _VALUE_NAME:
            name = _text(stream, span)
        elif number == _VALUE_TYPE:
            tensor = _field(stream, span[1], _TYPE_TENSOR)
            shape = tensor and _field(stream, tensor[1], _TENSOR_SHAPE)
            if shape:
                dims = tuple(_dim(stream, dim[1]) for dim in _all(stream, shape[1], _SHAPE_DIM))
    return name, dims


def _dim(stream: BinaryIO, end: int) -> int | None:
    value = next((v for number, v in _fields(stream, end) if number == _DIM_VALUE), None)
    if not isinstance(value, int):
        return None
    return value - (1 << 64) if value >= 1 << 63 else value


def _fields(stream: BinaryIO, end: int) -> Iterator[tuple[int, Any]]:
    """Each field from here to `end`: its number and its value, an int for a varint, or the
    (start, end) offsets of a length-delimited one, where the stream is left to read it."""
    while stream.tell() < end:
        key = _varint(stream)
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, _varint(stream)
        elif wire == 2:
            length = _varint(stream)
            start = stream.tell()
            yield number, (start, start + length)
            stream.seek(start + length)
        elif wire in (1, 5):
            stream.seek(8 if wire == 1 else 4, io.SEEK_CUR)
        else:
            raise ValueError(f"protobuf wire type {wire} is not one ONNX uses")


def _all(stream: BinaryIO, end: int, wanted: int) -> Iterator[tuple[int, int]]:
    for number, span in _fields(stream, end):
        if number == wanted:
            yield span


def _field(stream: BinaryIO, end: int, wanted: int) -> tuple[int, int] | None:
    return next(_all(stream, end, wanted), None)


def _field_text(stream: BinaryIO, end: int, wanted: int) -> str:
    span = _field(stream, end, wanted)
    return _text(stream, span) if span else ""


def _text(stream: BinaryIO, span: tuple[int, int]) -> str:
    start, end = span
    if end - start > _MAX_NAME:
        raise ValueError("a name longer than any real one")
    stream.seek(start)
    return stream.read(end - start).decode("utf-8")


def _varint(stream: BinaryIO) -> int:
    value = 0
    for shift in range(0, 70, 7):
        byte = stream.read(1)
        if not byte:
            raise EOFError("the ONNX file ends inside a field")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
    raise ValueError("a protobuf varint longer than 10 bytes")
