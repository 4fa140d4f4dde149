"""The Open Inference Protocol (v2, the KServe / Triton REST protocol) on registered models.

    GET  /v2                                        server metadata
    GET  /v2/health/live  /v2/health/ready          200 while alive / once endpoints loaded
    GET  /v2/models/{name}[/versions/{v}]           model metadata: versions, inputs, outputs
    GET  /v2/models/{name}[/versions/{v}]/ready     200 when the model is loaded (loads it)
    POST /v2/models/{name}[/versions/{v}]/infer     tensors in, tensors out (`inference.py`)
    GET  /v2/models/{name}[/versions/{v}]/config    Triton's model configuration
    GET  /v2/models[/{name}[/versions/{v}]]/stats   Triton's statistics (`statistics.py`)
    POST /v2/repository/index                       Triton's repository index

`{name}` is a registered model: its `default` version, or version `{v}` (a version id, or
an alias). The Triton routes are the extensions its clients (tritonclient) call; binary
tensor data is supported both ways. Errors answer `{"error": "..."}`.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.serving.http import ApiError, error_response, json_response, parse_json, read_body
from conveyor.serving.inference import answer, decode, encode, split_body
from conveyor.serving.live import Serving
from conveyor.serving.service import PredictionService, api_error
from conveyor.store.metadata.kinds import MAX_ID

EXTENSIONS = ["binary_tensor_data", "model_configuration", "statistics"]
_CONFIG_TYPES = {"BYTES": "TYPE_STRING"}


def routes(service: PredictionService) -> list[Route]:
    h = _Handlers(service)
    found = [
        Route("/v2", h.server, methods=["GET"]),
        Route("/v2/health/live", h.live, methods=["GET"]),
        Route("/v2/health/ready", h.ready, methods=["GET"]),
        Route("/v2/models/stats", h.stats, methods=["GET"]),
        Route("/v2/repository/index", h.index, methods=["POST"]),
    ]
    for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        found += [
            Route(base, h.metadata, methods=["GET"]),
            Route(f"{base}/ready", h.model_ready, methods=["GET"]),
            Route(f"{base}/infer", h.infer, methods=["POST"]),
            Route(f"{base}/config", h.config, methods=["GET"]),
            Route(f"{base}/stats", h.stats, methods=["GET"]),
        ]
    return found


class _Handlers:
    def __init__(self, service: PredictionService) -> None:
        self.service = service
        self.registry = service.endpoints.registry
        self.limit = service.settings.max_request_bytes

    async def server(self, _request: Request) -> Response:
        return json_response({"name": "conveyor", "version": _version(), "extensions": EXTENSIONS})

    async def live(self, _request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, _request: Request) -> Response:
        ready = self.service.live is not None and self.service.live.ready
        return Response(
            json.dumps({"ready": ready}), status_code=200 if ready else 503,
            media_type="application/json",
        )  # fmt: skip

    async def _serving(self, request: Request) -> Serving:
        name, selector = _selector(request)
        live = self.service.live
        found = live.models.get((name, selector or "default"))
        if found is not None:
            return found
        try:
            return await run_in_threadpool(live.model, name, selector)
        except Exception as exc:
            raise api_error(exc) from exc

    async def metadata(self, request: Request) -> Response:
        try:
            serving = await self._serving(request)
            versions = await run_in_threadpool(self.registry.list_versions, serving.model)
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

    async def config(self, request: Request) -> Response:
        try:
            serving = await self._serving(request)
        except ApiError as error:
            return error_response(request.url.path, error)
        meta = serving.runtime.metadata()
        return json_response(
            {
                "name": request.path_params["name"],
                "platform": meta["platform"],
                "backend": meta["framework"],
                "max_batch_size": 0,
                "input": [_config_tensor(t) for t in meta["inputs"]],
                "output": [_config_tensor(t) for t in meta["outputs"]],
            }
        )

    async def stats(self, request: Request) -> Response:
        try:
            versions = await run_in_threadpool(self._versions, *_selector(request))
        except ApiError as error:
            return error_response(request.url.path, error)
        stat = self.service.statistics.model_stat
        return json_response({"model_stats": [stat(m, v) for m, v in versions]})

    def _versions(self, name: str | None, selector: str | None) -> list[tuple[str, int]]:
        """(model, version id) of the versions a statistics route names."""
        try:
            if name is None:
                models = [m.name for m in self.registry.list_models()]
            elif selector is not None:
                return [(name, self.registry.get_version(name, selector).version_id)]
            else:
                models = [name]
            return [(v.model, v.version_id) for m in models for v in self.registry.list_versions(m)]
        except Exception as exc:
            raise api_error(exc) from exc

    async def index(self, request: Request) -> Response:
        try:
            body = await read_body(request, self.limit)
            wanted = parse_json(body) if body.strip() else {}
            if not isinstance(wanted, dict) or not isinstance(wanted.get("ready", False), bool):
                raise ApiError(400, 'the body must be empty or {"ready": true or false}')
            entries = await run_in_threadpool(self._index)
        except ApiError as error:
            return error_response(request.url.path, error)
        if wanted.get("ready"):
            entries = [e for e in entries if e["state"] == "READY"]
        return json_response(entries)

    def _index(self) -> list[dict[str, str]]:
        """Every registered version, READY when this server has it loaded."""
        live = self.service.live
        loaded = {(s.model, s.version_id) for s in live.models.values()}
        loaded |= {
            (s.model, s.version_id) for e in live.endpoints.values() for s in e.deployed.values()
        }
        try:
            models = self.registry.list_models()
            versions = [v for m in models for v in self.registry.list_versions(m.name)]
        except Exception as exc:
            raise api_error(exc) from exc
        entries = []
        for v in versions:
            ready = (v.model, v.version_id) in loaded
            entries.append(
                {
                    "name": v.model,
                    "version": str(v.version_id),
                    "state": "READY" if ready else "UNAVAILABLE",
                    "reason": "" if ready else "not loaded; its ready route loads it",
                }
            )
        return entries

    async def infer(self, request: Request) -> Response:
        start = time.perf_counter()
        serving: Serving | None = None
        inference = None
        try:
            body = await read_body(request, self.limit)
            header, binary = split_body(
                body, request.headers.get("inference-header-content-length")
            )
            parsed = parse_json(header)
            serving = await self._serving(request)
            inference = decode(parsed, serving.runtime, binary)
            predictions = await self.service.predict(
                serving, inference.instances, inference.parameters
            )
            outputs = encode(predictions, serving.runtime, inference.outputs)
        except ApiError as error:
            labels = serving.labels if serving else ("", "", "", "", "oip")
            instances, parameters = inference[:2] if inference else (None, None)
            self.service.record(
                serving, labels, start, error.status, instances, None, parameters, error.message
            )
            return error_response(request.url.path, error)
        self.service.record(
            serving, serving.labels, start, 200, inference.instances, predictions,
            inference.parameters, request_id=inference.id,
        )  # fmt: skip
        header = {
            "model_name": request.path_params["name"],
            "model_version": str(serving.version_id),
            "id": inference.id,
            "parameters": {},
            "outputs": outputs,
        }
        return answer(header, inference)


def _selector(request: Request) -> tuple[Any, str | None]:
    """The model name and version selector of a route; ApiError 404 for a version id no
    store can hold (`name@id` paths reach the live state by name, before the registry)."""
    name = request.path_params.get("name")
    selector = request.path_params.get("version")
    model, _, named = (name or "").partition("@")
    number = selector if selector is not None else named
    if number.isascii() and number.isdigit() and int(number) > MAX_ID:
        raise ApiError(404, f"model {model!r} has no version {number}")
    return name, selector


def _config_tensor(tensor: dict[str, Any]) -> dict[str, Any]:
    datatype = tensor["datatype"]
    return {
        "name": tensor["name"],
        "data_type": _CONFIG_TYPES.get(datatype, f"TYPE_{datatype}"),
        "dims": tensor["shape"],
    }


def _version() -> str:
    try:
        return version("conveyor")
    except PackageNotFoundError:
        return "unknown"
