"""An Open Inference Protocol request as a runtime's instances, and predictions as its answer.

Inputs are either one tensor of shape `[rows, features]` (any name), or one tensor per
feature, named as the model's features, of shape `[rows]` or `[rows, 1]`. Each output is
one tensor, `[rows]` for one value per row or `[rows, k]` for k; a model with several
named outputs (ONNX) answers one tensor each. `outputs` in the request picks outputs by
name; `parameters`, other than the protocol's own, go to the model
(`{"method": "predict_proba"}`).

With the binary tensor data extension the body is a JSON header of the length the
`Inference-Header-Content-Length` header gives, then the inputs' bytes. Outputs go as
binary data when the request asks: `parameters.binary_data_output` for all of them, or
`parameters.binary_data` on a requested output, which overrides it. The answer is then
the JSON header, with `binary_data_size` on those outputs, followed by their bytes.
"""

from __future__ import annotations

import os
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
from starlette.responses import Response

from conveyor.serving.http import ApiError, json_bytes, json_response
from conveyor.serving.runtimes import Runtime
from conveyor.serving.tensors import Binary, Tensor, binary_out, tensor_in, tensor_out

RESERVED = frozenset({"content_type", "headers", "binary_data_output"})
"""Request parameters that are the protocol's, not the model's."""


class Inference(NamedTuple):
    """What an inference request asks."""

    instances: list[Any] | np.ndarray
    """The rows (`instances_of`): lists or objects, or one float64 array."""
    parameters: dict[str, Any] | None
    id: str
    outputs: list[str] | None
    """The outputs asked for by name; None: all."""
    binary: dict[str, bool]
    """Outputs asked for as binary data (True) or JSON (False) by name."""
    binary_output: bool
    """Whether outputs not named in `binary` go as binary data."""


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, Binary | None]:
    """The JSON header of a request body and the binary data after it, if any."""
    if header_length is None:
        return body, None
    text = header_length.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > len(body):
        raise ApiError(
            400,
            f"the Inference-Header-Content-Length header is {header_length!r}: it must be the "
            f"byte length of the JSON at the start of the body, which has {len(body)} bytes",
        )
    return body[: int(text)], Binary(body[int(text) :])


def decode(body: Any, runtime: Runtime, binary: Binary | None = None) -> Inference:
    """The request `body` (its JSON header, and the binary data after it); ApiError 400
    naming the input (feature) or field that is wrong."""
    if not isinstance(body, dict):
        raise ApiError(400, 'the request body must be an object with "inputs": [...]')
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ApiError(
            400,
            'the request has no "inputs": send [{"name": ..., "shape": [rows, features], '
            '"datatype": "FP64", "data": [...]}]',
        )
    tensors = [tensor_in(t, i, binary) for i, t in enumerate(inputs)]
    if binary is not None:
        binary.check_used()
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ApiError(400, '"id" must be a string')
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ApiError(400, '"parameters" must be an object')
    parameters = parameters or {}
    binary_output = parameters.get("binary_data_output", False)
    if not isinstance(binary_output, bool):
        raise ApiError(400, "parameters.binary_data_output must be true or false")
    wanted, as_binary = _outputs(body.get("outputs"))
    return Inference(
        instances_of(tensors, runtime),
        {k: v for k, v in parameters.items() if k not in RESERVED} or None,
        request_id or os.urandom(16).hex(),  # 32 new hex digits, as Vertex AI routes make
        wanted,
        as_binary,
        binary_output,
    )


def _outputs(outputs: Any) -> tuple[list[str] | None, dict[str, bool]]:
    if outputs is None:
        return None, {}
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise ApiError(400, '"outputs" must be a list of {"name": ...} objects')
    binary = {}
    for output in outputs:
        name, parameters = output["name"], output.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ApiError(400, f"output {name!r} has parameters that are not an object")
        if parameters.get("classification"):
            raise ApiError(
                400, f"output {name!r} asks for classification, which this server does not do"
            )
        wanted = parameters.get("binary_data")
        if wanted is not None and not isinstance(wanted, bool):
            raise ApiError(400, f"output {name!r} has a binary_data that is not true or false")
        if wanted is not None:
            binary[name] = wanted
    return [o["name"] for o in outputs], binary


def instances_of(tensors: list[Tensor], runtime: Runtime) -> list[Any] | np.ndarray:
    """Instances for the runtime: rows of one [rows, features] tensor, or one object per
    row from per-feature tensors.

    A [rows, features] tensor of floats goes as one float64 array when the runtime takes
    one (`Runtime.takes_array`): the array it would have made of the rows itself, made in
    one call from the flat values, without a Python list per row (which the prediction
    log then holds as it is, `conveyor.serving._log_columns`)."""
    names = runtime.feature_names
    if len(tensors) == 1 and (names is None or tensors[0].name not in names):
        t = tensors[0]
        if len(t.shape) == 2 and t.shape[1]:
            width = t.shape[1]
            if t.floats and runtime.takes_array(width):
                return np.array(t.data, np.float64).reshape(-1, width)
            return [t.data[i : i + width] for i in range(0, len(t.data), width)]
        if len(t.shape) == 1 and (runtime.n_features == 1 or (names and len(names) == 1)):
            return [[v] for v in t.data]
        features = runtime.n_features or (len(names) if names else "k")
        raise ApiError(
            400,
            f"input {t.name!r} has shape {t.shape}; send one tensor of shape [rows, "
            f"{features}], or one tensor per feature named as the model's features",
        )
    if names is None:
        raise ApiError(
            400,
            "the model records no feature names, so it takes one input tensor of shape "
            "[rows, features]",
        )
    columns: dict[str, list[Any]] = {}
    for t in tensors:
        if t.name not in names:
            raise ApiError(
                400,
                f"input {t.name!r} is not a feature of the model; it takes: {', '.join(names)}",
            )
        if t.name in columns:
            raise ApiError(400, f"input {t.name!r} is sent twice")
        if len(t.shape) > 2 or (len(t.shape) == 2 and t.shape[1] != 1):
            raise ApiError(
                400, f"input {t.name!r} has shape {t.shape}; a feature is [rows] or [rows, 1]"
            )
        columns[t.name] = t.data
    for name in names:
        if name not in columns:
            raise ApiError(400, f"the request has no input for feature {name!r}")
    rows = {len(c) for c in columns.values()}
    if len(rows) != 1:
        sizes = ", ".join(f"{n}: {len(c)}" for n, c in columns.items())
        raise ApiError(400, f"the feature inputs have different numbers of rows ({sizes})")
    ordered = [columns[n] for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*ordered, strict=True)]


def encode(predictions: list[Any], runtime: Runtime, wanted: list[str] | None) -> list[dict]:
    """The output tensors of `predictions` (one entry per instance), of the datatypes the
    runtime declares in its metadata."""
    declared = {o["name"]: o.get("datatype") for o in runtime.outputs()}
    if predictions and all(isinstance(p, dict) for p in predictions):
        keys = list(dict.fromkeys(chain.from_iterable(predictions)))
        tensors = [
            tensor_out(str(k), [p.get(k) for p in predictions], declared.get(str(k))) for k in keys
        ]
    else:
        name = next(iter(declared), "predictions")
        tensors = [tensor_out(name, predictions, declared.get(name))]
    if wanted is not None:
        known = {t["name"] for t in tensors}
        for name in wanted:
            if name not in known:
                raise ApiError(
                    400, f"output {name!r} is not one the model gives; it gives: {', '.join(known)}"
                )
        tensors = [t for t in tensors if t["name"] in wanted]
    return tensors


def answer(header: dict[str, Any], inference: Inference) -> Response:
    """The answer to `inference`: `header` as JSON, or followed by the binary data of the
    outputs asked for as binary."""
    outputs, data = [], []
    for tensor in header["outputs"]:
        if inference.binary.get(tensor["name"], inference.binary_output):
            data.append(binary_out(tensor))
            tensor = {k: v for k, v in tensor.items() if k != "data"}
            tensor["parameters"] = {"binary_data_size": len(data[-1])}
        outputs.append(tensor)
    if not data:
        return json_response(header)
    head = json_bytes({**header, "outputs": outputs})
    return Response(
        head + b"".join(data),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
