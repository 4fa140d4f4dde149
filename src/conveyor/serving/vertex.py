"""Vertex AI's prediction routes on endpoints.

    POST /v1/endpoints/{endpoint}:predict        {"instances": [...], "parameters": {...}}
    POST /v1/endpoints/{endpoint}:rawPredict     the body as the model takes it

Each also answers under `/v1/projects/{project}/locations/{location}/...`, the long form
of Vertex AI's URLs (the project and location are accepted and ignored). A prediction
answers `{"predictions": [...], "deployedModelId", "model", "modelVersionId",
"modelDisplayName"}`; `:rawPredict` answers what the model returns, with the headers
`X-Vertex-AI-Endpoint-Id` and `X-Vertex-AI-Deployed-Model-Id`. Both answer the header
`X-Request-Id`: the client's own (up to 256 characters) or one made here, the id the
prediction log keeps for the request, so that ground truth labels can name its instances
later (`conveyor monitors feedback`). Once a deployed model that has shadows answered
with 200, the request is mirrored to them after the answer has gone
(`conveyor.serving.shadow`; not a custom predictor's raw body). Creating, deploying and
the other endpoint methods are the control API's (`/api/v1/endpoints`, `conveyor.api`).
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.serving.http import (
    ApiError,
    error_response,
    json_response,
    parse_json,
    read_body,
    read_json,
)
from conveyor.serving.live import LiveEndpoint, Serving
from conveyor.serving.runtimes.custom_runtime import CustomRuntime
from conveyor.serving.service import PredictionService, api_error
from conveyor.serving.shadow import Mirror, plain

PREFIXES = ("/v1", "/v1/projects/{project}/locations/{location}")
METHODS = ("predict", "rawPredict")
_NO_MODEL = ("", "", "", "vertex")
MAX_REQUEST_ID = 256
"""The longest client `X-Request-Id` kept; a longer one is replaced by a new id."""


def routes(service: PredictionService) -> list[Route]:
    """The Vertex AI routes of `service`."""
    handlers = _Handlers(service)
    found = []
    for prefix in PREFIXES:
        found.append(Route(f"{prefix}/endpoints/{{target}}", handlers.post, methods=["POST"]))
    return found


class _Handlers:
    def __init__(self, service: PredictionService) -> None:
        self.service = service
        self.limit = service.settings.max_request_bytes
        self.mirror = Mirror(service)

    # Prediction

    async def post(self, request: Request) -> Response:
        start = time.perf_counter()
        name, sep, method = request.path_params["target"].rpartition(":")
        if method == "predict" and sep:
            return await self.predict(request, name, start)
        if method == "rawPredict" and sep:
            return await self.raw_predict(request, name, start)
        shown = f":{method}" if sep else "no method"
        return error_response(
            request.url.path,
            ApiError(
                404,
                f"{request.url.path} names {shown}; endpoints answer POST "
                + ", ".join(f":{m}" for m in METHODS)
                + " here, and their other methods under /api/v1/endpoints (docs/api.md)",
            ),
        )

    async def predict(self, request: Request, name: str, start: float) -> Response:
        live = self.service.live.endpoints.get(name) if self.service.live else None
        if live is None:
            return self.refused(request, None, _unknown(name), start)
        try:
            body = await read_json(request, self.limit)
            if not isinstance(body, dict):
                raise ApiError(
                    400,
                    'the request body must be a JSON object like {"instances": [...], '
                    f'"parameters": {{...}}}}, not {_kind(body)}',
                )
            instances = body.get("instances")
            if instances is None:
                raise ApiError(400, 'the request has no "instances": send {"instances": [...]}')
            serving = pick(live)
        except ApiError as error:
            return self.refused(request, live, error, start)
        request_id = _request_id(request)
        predictions = await self._predict(
            request, live, serving, instances, body.get("parameters"), start, request_id
        )
        if isinstance(predictions, Response):
            return predictions
        version = serving.version
        response = json_response(
            {
                "predictions": predictions,
                "deployedModelId": serving.deployed_model_id,
                "model": version.model,
                "modelVersionId": str(version.version_id),
                "modelDisplayName": version.model,
            },
            {"X-Request-Id": request_id},
        )
        # One dict lookup: all that a request to a model without shadows pays for them.
        shadows = live.shadows.get(serving.deployed_model_id)
        if shadows:
            response.background = self.mirror.task(
                live, shadows, instances, body.get("parameters"), predictions, request_id
            )
        return response

    async def raw_predict(self, request: Request, name: str, start: float) -> Response:
        live = self.service.live.endpoints.get(name) if self.service.live else None
        if live is None:
            return self.refused(request, None, _unknown(name), start)
        try:
            serving = pick(live)
            body = await read_body(request, self.limit)
            headers = {
                "X-Vertex-AI-Endpoint-Id": name,
                "X-Vertex-AI-Deployed-Model-Id": serving.deployed_model_id,
                "X-Request-Id": _request_id(request),
            }
            if isinstance(serving.runtime, CustomRuntime):
                found = await run_in_threadpool(_custom_raw, serving.runtime, body, request)
                self.service.record(serving, serving.labels, start, 200)
                return _raw_answer(found, headers)
            instances, parameters = _raw_instances(body)
        except ApiError as error:
            return self.refused(request, live, error, start)
        except Exception as exc:
            return self.refused(request, live, api_error(exc), start)
        predictions = await self._predict(
            request, live, serving, instances, parameters, start, headers["X-Request-Id"]
        )
        if isinstance(predictions, Response):
            return predictions
        response = json_response({"predictions": predictions}, headers)
        shadows = live.shadows.get(serving.deployed_model_id)
        if shadows:
            response.background = self.mirror.task(
                live, shadows, instances, parameters, predictions, headers["X-Request-Id"]
            )
        return response

    async def _predict(
        self,
        request: Request,
        live: LiveEndpoint,
        serving: Serving,
        instances: Any,
        parameters: Any,
        start: float,
        request_id: str | None = None,
    ) -> list[Any] | Response:
        """The predictions, or the error response; either way recorded in the metrics and
        the endpoint's prediction log."""
        rate = live.log_sample_rate
        try:
            rows = self.service.rows_of(serving, instances, parameters)
            predictions = await self.service.predict(serving, rows, parameters)
        except ApiError as error:
            self.service.record(
                serving, serving.labels, start, error.status, instances, None, parameters,
                error.message, rate, request_id,
            )  # fmt: skip
            return error_response(request.url.path, error)
        self.service.record(
            serving, serving.labels, start, 200, rows, predictions, parameters, None, rate,
            request_id,
        )  # fmt: skip
        return predictions

    def refused(
        self, request: Request, live: LiveEndpoint | None, error: ApiError, start: float
    ) -> Response:
        labels = (live.name if live else "", *_NO_MODEL)
        self.service.record(None, labels, start, error.status)
        return error_response(request.url.path, error)


def _request_id(request: Request) -> str:
    """The request's id: the client's `X-Request-Id`, else 32 new hex digits (as the
    prediction log makes them)."""
    given = request.headers.get("x-request-id")
    if given and len(given) <= MAX_REQUEST_ID:
        return given
    return os.urandom(16).hex()


def pick(live: LiveEndpoint) -> Serving:
    """The deployed model that answers this request, by the endpoint's traffic split."""
    if not live.router:
        raise ApiError(
            400,
            f"endpoint {live.name!r} has no deployed model taking traffic; deploy one with "
            f"`conveyor endpoints deploy {live.name} MODEL`",
            "FAILED_PRECONDITION",
        )
    chosen = live.router.pick()
    serving = live.deployed.get(chosen)
    if serving is None:
        raise ApiError(503, live.failed.get(chosen, f"deployed model {chosen} is not loaded"))
    return serving


def _unknown(name: str) -> ApiError:
    return ApiError(
        404, f"no endpoint {name!r} on this server; GET /api/v1/endpoints lists the endpoints"
    )


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _raw_instances(body: bytes) -> tuple[Any, Any]:
    data = parse_json(body, "the request body (this model takes JSON instances)")
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and "instances" in data:
        return data["instances"], data.get("parameters")
    raise ApiError(400, 'send a JSON array of instances, or {"instances": [...]}, to this model')


def _custom_raw(runtime: CustomRuntime, body: bytes, request: Request) -> Any:
    """A custom predictor's answer to the raw body: parsed when it is JSON, else bytes."""
    content_type = request.headers.get("content-type", "")
    value: Any = body
    if "json" in content_type:
        value = parse_json(body, "the request body (declared JSON)") if body.strip() else None
    elif not content_type:
        with suppress(ApiError):  # not JSON: the predictor gets the bytes
            value = parse_json(body) if body.strip() else None
    predictor = runtime.predictor
    try:
        return predictor.postprocess(predictor.predict(predictor.preprocess(value)))
    except Exception as exc:
        from conveyor.serving.runtimes import InvalidInput, PredictionError

        if isinstance(exc, InvalidInput):
            raise
        raise PredictionError(
            f"{runtime.name} failed on the raw request: {type(exc).__name__}: {exc}"
        ) from exc


def _raw_answer(found: Any, headers: dict[str, str]) -> Response:
    if isinstance(found, bytes):
        return Response(found, media_type="application/octet-stream", headers=headers)
    if isinstance(found, str):
        return Response(found, media_type="text/plain", headers=headers)
    return json_response(plain(found), headers)
