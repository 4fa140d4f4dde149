"""The Open Inference Protocol (v2, the KServe / Triton REST protocol) on registered models.

    GET  /v2                                        server metadata
    GET  /v2/health/live  /v2/health/ready          200 while alive / once endpoints loaded
    GET  /v2/models/{name}[/versions/{v}]           model metadata: versions, inputs, outputs
    GET  /v2/models/{name}[/versions/{v}]/ready     200 when the model is loaded (loads it)
    POST /v2/models/{name}[/versions/{v}]/infer     tensors in, tensors out

`{name}` is a registered model: its `default` version, or version `{v}` (a version id, or
an alias). Inputs are either one tensor of shape `[rows, features]` (any name), or one
tensor per feature, named as the model's features, of shape `[rows]` or `[rows, 1]`.
`data` is the tensor in row-major order (flat, or nested as the shape). Each output is
one tensor: `[rows]` for one value per row, `[rows, k]` for k (probabilities); a model
with several named outputs (ONNX) answers one tensor per output. `outputs` in the request
picks outputs by name; `parameters` (other than the protocol's own `content_type`,
`headers`, `binary_data_output`) go to the model, as `{"method": "predict_proba"}`.
Errors answer `{"error": "..."}`. Binary tensor data is not supported: send JSON.
"""

from __future__ import annotations

import json
import time
import uuid
from itertools import chain
from math import prod
from typing import Any, NamedTuple

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.serving.http import ApiError, error_response, json_response, read_json
from conveyor.serving.live import Serving
from conveyor.serving.runtimes import Runtime
from conveyor.serving.service import PredictionService, api_error

NUMBERS = {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
FLOATS = {"FP16", "FP32", "FP64"}
DATATYPES = NUMBERS | FLOATS | {"BOOL", "BYTES"}
_RESERVED = {"content_type", "headers", "binary_data_output"}
_INTS = frozenset({int})
_REALS = frozenset({int, float})


class Tensor(NamedTuple):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


def routes(service: PredictionService) -> list[Route]:
    h = _Handlers(service)
    found = [
        Route("/v2", h.server, methods=["GET"]),
        Route("/v2/health/live", h.live, methods=["GET"]),
        Route("/v2/health/ready", h.ready, methods=["GET"]),
    ]
    for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        found += [
            Route(base, h.metadata, methods=["GET"]),
            Route(f"{base}/ready", h.model_ready, methods=["GET"]),
            Route(f"{base}/infer", h.infer, methods=["POST"]),
        ]
    return found


class _Handlers:
    def __init__(self, service: PredictionService) -> None:
        self.service = service
        self.limit = service.settings.max_request_bytes

    async def server(self, _request: Request) -> Response:
        return json_response({"name": "conveyor", "version": _version(), "extensions": []})

    async def live(self, _request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, _request: Request) -> Response:
        ready = self.service.live is not None and self.service.live.ready
        return Response(
            json.dumps({"ready": ready}), status_code=200 if ready else 503,
            media_type="application/json",
        )  # fmt: skip

    async def _serving(self, request: Request) -> Serving:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        live = self.service.live
        found = live.models.get((name, version or "default"))
        if found is not None:
            return found
        try:
            return await run_in_threadpool(live.model, name, version)
        except Exception as exc:
            raise api_error(exc) from exc

    async def metadata(self, request: Request) -> Response:
        try:
            serving = await self._serving(request)
            versions = await run_in_threadpool(
                self.service.endpoints.registry.list_versions, serving.model
            )
        except Exception as exc:
            return error_response(request.url.path, api_error(exc))
        meta = serving.runtime.metadata()
        return json_response(
            {
                "name": request.path_params["name"],
                "versions": [str(v.version_id) for v in versions],
                "platform": meta.get("platform", serving.version.framework),
                "inputs": meta.get("inputs", []),
                "outputs": meta.get("outputs", []),
            }
        )

    async def model_ready(self, request: Request) -> Response:
        try:
            await self._serving(request)
        except ApiError as error:
            return error_response(request.url.path, error)
        return json_response({"name": request.path_params["name"], "ready": True})

    async def infer(self, request: Request) -> Response:
        start = time.perf_counter()
        serving: Serving | None = None
        instances = parameters = None
        try:
            if request.headers.get("inference-header-content-length"):
                raise ApiError(
                    400, "binary tensor data is not supported by this server; send JSON data"
                )
            body = await read_json(request, self.limit)
            serving = await self._serving(request)
            instances, parameters, request_id, wanted = decode(body, serving.runtime)
            predictions = await self.service.predict(serving, instances, parameters)
            outputs = encode(predictions, serving.runtime, wanted)
        except ApiError as error:
            labels = serving.labels if serving else ("", "", "", "", "oip")
            self.service.record(
                serving, labels, start, error.status, instances, None, parameters, error.message
            )
            return error_response(request.url.path, error)
        self.service.record(
            serving, serving.labels, start, 200, instances, predictions, parameters,
            request_id=request_id,
        )  # fmt: skip
        return json_response(
            {
                "model_name": request.path_params["name"],
                "model_version": str(serving.version_id),
                "id": request_id,
                "parameters": {},
                "outputs": outputs,
            }
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("conveyor")
    except PackageNotFoundError:
        return "unknown"


# Tensors in


def decode(body: Any, runtime: Runtime) -> tuple[list[Any], dict | None, str, list[str] | None]:
    """The instances, model parameters, request id and requested output names of an
    inference request; ApiError 400 naming the input (feature) that is wrong."""
    if not isinstance(body, dict):
        raise ApiError(400, 'the request body must be an object with "inputs": [...]')
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ApiError(
            400,
            'the request has no "inputs": send [{"name": ..., "shape": [rows, features], '
            '"datatype": "FP64", "data": [...]}]',
        )
    tensors = [tensor_in(t, i) for i, t in enumerate(inputs)]
    request_id = body.get("id")
    request_id = str(request_id) if request_id is not None else uuid.uuid4().hex
    parameters = body.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise ApiError(400, '"parameters" must be an object')
        parameters = {k: v for k, v in parameters.items() if k not in _RESERVED} or None
    wanted = None
    if body.get("outputs") is not None:
        outputs = body["outputs"]
        if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
        ):
            raise ApiError(400, '"outputs" must be a list of {"name": ...} objects')
        wanted = [o["name"] for o in outputs]
    return instances_of(tensors, runtime), parameters, request_id, wanted


def tensor_in(spec: Any, position: int) -> Tensor:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ApiError(400, f'input {position} needs a "name" (a string)')
    name = spec["name"]
    shape = spec.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise ApiError(
            400, f'input {name!r} needs a "shape": a list of sizes like [rows, features]'
        )
    datatype = spec.get("datatype")
    if datatype not in DATATYPES:
        raise ApiError(
            400,
            f"input {name!r} has datatype {datatype!r}; use one of {', '.join(sorted(DATATYPES))}",
        )
    data = spec.get("data")
    if not isinstance(data, list):
        raise ApiError(400, f'input {name!r} needs "data": a list of values')
    flat = _flatten(data)
    if len(flat) != prod(shape):
        raise ApiError(
            400,
            f"input {name!r} has shape {shape}, so {prod(shape)} values, but its data holds "
            f"{len(flat)}",
        )
    _check_datatype(name, datatype, flat)
    return Tensor(name, shape, datatype, flat)


def _flatten(data: list[Any]) -> list[Any]:
    while data and any(isinstance(v, list) for v in data):
        if not all(isinstance(v, list) for v in data):
            return data  # ragged: the length check names it
        data = list(chain.from_iterable(data))
    return data


def _check_datatype(name: str, datatype: str, flat: list[Any]) -> None:
    if datatype in NUMBERS:
        allowed, wanted = _INTS, "whole numbers"
    elif datatype in FLOATS:
        allowed, wanted = _REALS, "numbers"
    elif datatype == "BOOL":
        allowed, wanted = frozenset({bool}), "true or false"
    else:
        allowed, wanted = frozenset({str}), "strings"
    if set(map(type, flat)) <= allowed:
        return
    for i, value in enumerate(flat):
        if type(value) not in allowed:
            raise ApiError(
                400,
                f"input {name!r} is {datatype}, so its data must be {wanted}; value {i} is "
                f"{json.dumps(value)}",
            )


def instances_of(tensors: list[Tensor], runtime: Runtime) -> list[Any]:
    """Instances for the runtime: rows of one [rows, features] tensor, or one object per
    row from per-feature tensors."""
    names = runtime.feature_names
    if len(tensors) == 1 and (names is None or tensors[0].name not in names):
        t = tensors[0]
        if len(t.shape) == 2:
            width = t.shape[1]
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


# Tensors out


def encode(predictions: list[Any], runtime: Runtime, wanted: list[str] | None) -> list[dict]:
    """The output tensors of `predictions` (one entry per instance)."""
    if predictions and all(isinstance(p, dict) for p in predictions):
        keys = list(dict.fromkeys(chain.from_iterable(predictions)))
        tensors = [tensor_out(k, [p.get(k) for p in predictions]) for k in keys]
    else:
        described = runtime.outputs()
        name = described[0]["name"] if described else "predictions"
        tensors = [tensor_out(name, predictions)]
    if wanted is not None:
        known = {t["name"] for t in tensors}
        for name in wanted:
            if name not in known:
                raise ApiError(
                    400, f"output {name!r} is not one the model gives; it gives: {', '.join(known)}"
                )
        tensors = [t for t in tensors if t["name"] in wanted]
    return tensors


def tensor_out(name: str, values: list[Any]) -> dict[str, Any]:
    rows = len(values)
    shape = [rows]
    flat = values
    if values and all(isinstance(v, list) for v in values):
        widths = {len(v) for v in values}
        if len(widths) == 1 and not any(isinstance(x, list | dict) for v in values for x in v):
            shape = [rows, widths.pop()]
            flat = list(chain.from_iterable(values))
    kinds = set(map(type, flat))
    if kinds <= {bool}:
        datatype = "BOOL"
    elif kinds <= _INTS:
        datatype = "INT64"
    elif kinds <= _REALS | {type(None)} and kinds & _REALS:
        datatype = "FP64"
    elif kinds <= {str}:
        datatype = "BYTES"
    else:
        datatype = "BYTES"
        shape = [rows]
        flat = [v if isinstance(v, str) else json.dumps(v) for v in values]
    return {"name": name, "shape": shape, "datatype": datatype, "data": flat}
