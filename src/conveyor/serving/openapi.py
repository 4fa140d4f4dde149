"""The OpenAPI description of the prediction routes: Vertex AI's and the Open Inference
Protocol's, which are Starlette routes that FastAPI does not see.

`prediction_openapi()` gives the `paths` and `components` to merge into the server's
`/openapi.json`. It describes JSON bodies; the binary tensor data extension of `/infer`
(`inference.py`) is named in its descriptions. Every operation declares its errors in
the form its protocol answers them (Google's error object on `/v1`, `{"error": "..."}`
on `/v2`) and `x-conveyor-role`, the least token role that may call it (`auth.py`).
The property tests (tests/serving/test_prediction_properties.py) hold the server to it.
"""

from __future__ import annotations

from typing import Any

from conveyor.serving.tensors import DATATYPES

_VERTEX_PREFIXES = {
    "/v1": [],
    "/v1/projects/{project}/locations/{location}": ["project", "location"],
}
_OIP_MODELS = {
    "/v2/models/{name}": ["name"],
    "/v2/models/{name}/versions/{version}": ["name", "version"],
}
_PARAMETERS = {
    "endpoint": ("the endpoint's name", r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"),
    "project": ("a Google Cloud project: accepted and ignored", None),
    "location": ("a Google Cloud region: accepted and ignored", None),
    "name": ("a registered model", r"^[A-Za-z][A-Za-z0-9_-]{0,127}$"),
    "version": (
        "a version id or an alias",
        r"^([1-9][0-9]{0,17}|[a-z][a-zA-Z0-9-]{0,126}[a-z0-9])$",
    ),
}
PREDICT_EXAMPLE = {"instances": [[3, 80.5, 6], [60, 20.0, 0]]}
INFER_EXAMPLE = {
    "id": "r-1",
    "inputs": [
        {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": [3, 80.5, 6, 60, 20, 0]}
    ],
}
_STATUSES = {
    400: "the request is malformed, or does not fit the model (the message names the field)",
    401: "tokens are configured and the request has none, or an unknown one",
    403: "the token's role is too low for the route",
    404: "no such endpoint, model or version",
    413: "the body is larger than the server's limit",
    500: "the model failed on input it had accepted",
    503: "the model cannot be loaded (the message says why)",
}


def prediction_openapi() -> dict[str, Any]:
    """`{"paths": ..., "components": {"schemas": ...}}` of the prediction routes."""
    paths: dict[str, Any] = {}
    for prefix, names in _VERTEX_PREFIXES.items():
        base = f"{prefix}/endpoints/{{endpoint}}"
        params = [*names, "endpoint"]
        paths[f"{base}:predict"] = {"post": _predict(params)}
        paths[f"{base}:rawPredict"] = {"post": _raw_predict(params)}
    paths["/v2"] = {"get": _oip("Server metadata", "ServerMetadata", [], errors=())}
    paths["/v2/health/live"] = {"get": _oip("Liveness", "Live", [], errors=())}
    paths["/v2/health/ready"] = {"get": _ready()}
    paths["/v2/models/stats"] = {"get": _oip("Statistics of every model", "Statistics", [])}
    paths["/v2/repository/index"] = {"post": _index()}
    for base, params in _OIP_MODELS.items():
        paths[base] = {"get": _oip("Model metadata", "ModelMetadata", params, loads=True)}
        paths[f"{base}/ready"] = {"get": _oip("Model readiness", "ModelReady", params, loads=True)}
        paths[f"{base}/config"] = {"get": _oip("Model configuration", "ModelConfig", params, True)}
        paths[f"{base}/stats"] = {"get": _oip("Model statistics", "Statistics", params)}
        paths[f"{base}/infer"] = {"post": _infer(params)}
    return {"paths": paths, "components": {"schemas": SCHEMAS}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _parameters(names: list[str]) -> list[dict[str, Any]]:
    found = []
    for name in names:
        description, pattern = _PARAMETERS[name]
        schema = {"type": "string", "pattern": pattern} if pattern else {"type": "string"}
        found.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": description,
                "schema": schema,
            }
        )
    return found


def _responses(ok: dict[str, Any], error: str, codes: tuple[int, ...]) -> dict[str, Any]:
    found = {"200": ok}
    for code in (*codes, 401, 403):
        found[str(code)] = {"description": _STATUSES[code], "content": _json(_ref(error))}
    return found


def _operation(
    summary: str, role: str, params: list[str], responses: dict[str, Any], body: Any = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": _parameters(params),
        "responses": responses,
        "x-conveyor-role": role,
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def _predict(params: list[str]) -> dict[str, Any]:
    ok = {"description": "one prediction per instance", "content": _json(_ref("PredictResponse"))}
    return _operation(
        "Vertex AI prediction",
        "predict",
        params,
        _responses(ok, "GoogleError", (400, 404, 413, 500, 503)),
        {"required": True, "content": _json(_ref("PredictRequest"), PREDICT_EXAMPLE)},
    )


def _raw_predict(params: list[str]) -> dict[str, Any]:
    headers = {
        name: {"description": what, "schema": {"type": "string"}}
        for name, what in (
            ("X-Vertex-AI-Endpoint-Id", "the endpoint that answered"),
            ("X-Vertex-AI-Deployed-Model-Id", "the deployed model that answered"),
        )
    }
    ok = {
        "description": "the model's own answer: a custom predictor's as it returns it, else "
        '{"predictions": [...]}',
        "headers": headers,
        "content": {
            **_json({}),
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
    return _operation(
        "Vertex AI raw prediction: the body as the model takes it (a JSON array of "
        'instances, or {"instances": [...]}; anything for a custom predictor)',
        "predict",
        params,
        _responses(ok, "GoogleError", (400, 404, 413, 500, 503)),
        {"required": True, "content": _json({}, PREDICT_EXAMPLE["instances"])},
    )


def _oip(
    summary: str, schema: str, params: list[str], loads: bool = False, errors: tuple = (400, 404)
) -> dict[str, Any]:
    codes = (*errors, 503) if loads else errors
    ok = {"description": summary, "content": _json(_ref(schema))}
    return _operation(summary, "read", params, _responses(ok, "OipError", codes))


def _ready() -> dict[str, Any]:
    operation = _oip("Readiness: 200 once the deployed models are loaded", "Ready", [], errors=())
    operation["responses"]["503"] = {
        "description": "still loading",
        "content": _json(_ref("Ready")),
    }
    return operation


def _index() -> dict[str, Any]:
    ok = {"description": "every registered model version", "content": _json(_ref("Index"))}
    return _operation(
        "Triton's repository index: READY for versions this server has loaded",
        "read",
        [],
        _responses(ok, "OipError", (400, 413)),
        {"required": False, "content": _json(_ref("IndexRequest"))},
    )


def _infer(params: list[str]) -> dict[str, Any]:
    ok = {
        "description": "the output tensors; with binary outputs asked for, the JSON header "
        "(Inference-Header-Content-Length bytes) followed by their data",
        "headers": {
            "Inference-Header-Content-Length": {
                "description": "the length of the JSON header, when binary data follows it",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
        "content": {
            **_json(_ref("InferenceResponse")),
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
    return _operation(
        "Open Inference Protocol inference (binary tensor data: send the header "
        "Inference-Header-Content-Length and parameters.binary_data_size on inputs)",
        "predict",
        params,
        _responses(ok, "OipError", (400, 404, 413, 500, 503)),
        {"required": True, "content": _json(_ref("InferenceRequest"), INFER_EXAMPLE)},
    )


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        found["required"] = list(required)
    return found


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional field that may also be null, which the server reads as left out."""
    return {**schema, "nullable": True}


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_DATATYPE = {"type": "string", "enum": sorted(DATATYPES)}
_SHAPE = {"type": "array", "items": {"type": "integer", "minimum": -1}}
_COUNT = {"type": "integer", "minimum": 0}
_DURATION = _object({"count": _COUNT, "ns": _COUNT}, ("count", "ns"))
_TENSOR = _object({"name": _STRING, "datatype": _DATATYPE, "shape": _SHAPE}, ("name",))
_CONFIG_TENSOR = _object(
    {"name": _STRING, "data_type": _STRING, "dims": _SHAPE}, ("name", "data_type", "dims")
)

SCHEMAS: dict[str, Any] = {
    "GoogleError": _object(
        {
            "error": _object(
                {"code": {"type": "integer"}, "message": _STRING, "status": _STRING},
                ("code", "message", "status"),
            )
        },
        ("error",),
    ),
    "OipError": _object({"error": _STRING}, ("error",)),
    "PredictRequest": _object(
        {
            "instances": {
                "type": "array",
                "description": "objects of feature name to value, or lists of values in the "
                "model's order",
                "items": {},
            },
            "parameters": _optional(
                {"type": "object", "description": "for the model: {'method': ...}"}
            ),
        },
        ("instances",),
    ),
    "PredictResponse": _object(
        {
            "predictions": {"type": "array", "items": {}},
            "deployedModelId": _STRING,
            "model": _STRING,
            "modelVersionId": _STRING,
            "modelDisplayName": _STRING,
        },
        ("predictions", "deployedModelId", "model", "modelVersionId", "modelDisplayName"),
    ),
    "ServerMetadata": _object(
        {"name": _STRING, "version": _STRING, "extensions": _STRINGS},
        ("name", "version", "extensions"),
    ),
    "Live": _object({"live": {"type": "boolean"}}, ("live",)),
    "Ready": _object({"ready": {"type": "boolean"}}, ("ready",)),
    "ModelReady": _object({"name": _STRING, "ready": {"type": "boolean"}}, ("name", "ready")),
    "ModelMetadata": _object(
        {
            "name": _STRING,
            "versions": _STRINGS,
            "platform": _STRING,
            "inputs": {"type": "array", "items": _TENSOR},
            "outputs": {"type": "array", "items": _TENSOR},
        },
        ("name", "versions", "platform", "inputs", "outputs"),
    ),
    "ModelConfig": _object(
        {
            "name": _STRING,
            "platform": _STRING,
            "backend": _STRING,
            "max_batch_size": _COUNT,
            "input": {"type": "array", "items": _CONFIG_TENSOR},
            "output": {"type": "array", "items": _CONFIG_TENSOR},
        },
        ("name", "platform", "backend", "max_batch_size", "input", "output"),
    ),
    "Statistics": _object(
        {
            "model_stats": {
                "type": "array",
                "items": _object(
                    {
                        "name": _STRING,
                        "version": _STRING,
                        "last_inference": _COUNT,
                        "inference_count": _COUNT,
                        "execution_count": _COUNT,
                        "inference_stats": {
                            "type": "object",
                            "additionalProperties": _DURATION,
                        },
                        "batch_stats": {"type": "array"},
                    },
                    ("name", "version", "inference_count", "execution_count", "inference_stats"),
                ),
            }
        },
        ("model_stats",),
    ),
    "IndexRequest": _object({"ready": {"type": "boolean"}}),
    "Index": {
        "type": "array",
        "items": _object(
            {
                "name": _STRING,
                "version": _STRING,
                "state": {"type": "string", "enum": ["READY", "UNAVAILABLE"]},
                "reason": _STRING,
            },
            ("name", "version", "state"),
        ),
    },
    "InferenceRequest": _object(
        {
            "id": _optional(_STRING),
            "parameters": _optional(
                {
                    "type": "object",
                    "description": "for the model, beside the protocol's binary_data_output",
                    "properties": {"binary_data_output": {"type": "boolean"}},
                }
            ),
            "inputs": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "name": _STRING,
                        "shape": {"type": "array", "items": _COUNT, "minItems": 1},
                        "datatype": _DATATYPE,
                        "parameters": _optional(_object({"binary_data_size": _optional(_COUNT)})),
                        "data": {"type": "array", "description": "row-major, flat or nested"},
                    },
                    ("name", "shape", "datatype", "data"),
                ),
            },
            "outputs": _optional(
                {
                    "type": "array",
                    "items": _object(
                        {
                            "name": _STRING,
                            "parameters": _optional(
                                _object({"binary_data": _optional({"type": "boolean"})})
                            ),
                        },
                        ("name",),
                    ),
                }
            ),
        },
        ("inputs",),
    ),
    "InferenceResponse": _object(
        {
            "model_name": _STRING,
            "model_version": _STRING,
            "id": _STRING,
            "parameters": {"type": "object"},
            "outputs": {
                "type": "array",
                "items": _object(
                    {
                        "name": _STRING,
                        "shape": {"type": "array", "items": _COUNT},
                        "datatype": _DATATYPE,
                        "parameters": _object({"binary_data_size": _COUNT}),
                        "data": {"type": "array"},
                    },
                    ("name", "shape", "datatype"),
                ),
            },
        },
        ("model_name", "model_version", "id", "outputs"),
    ),
}
"""The request and answer bodies, under `components.schemas`."""
