"""`PredictionService`: the prediction server's parts, wired together, and the predict path.

The routes (`vertex.py`, `oip.py`) are thin: they parse a request, pick a `Serving`, and
hand it to `predict`, which runs the runtime (on the event loop for small requests, on a
worker thread for large ones and custom predictors), and to `record`, which counts the
request in the metrics and, for a sample, queues it for the prediction log.
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool

from conveyor import config
from conveyor.errors import ConveyorError, UsageError
from conveyor.registry import Registry
from conveyor.registry.errors import RegistryConflict
from conveyor.serving.endpoints import Endpoints
from conveyor.serving.errors import ServingConflict
from conveyor.serving.http import ApiError
from conveyor.serving.live import LiveState, Serving
from conveyor.serving.loading import ModelLoader
from conveyor.serving.metrics import Metrics
from conveyor.serving.prediction_log import Entry, PredictionLogger
from conveyor.serving.runtimes import InvalidInput, ModelLoadError, PredictionError
from conveyor.serving.runtimes.custom_runtime import CustomRuntime
from conveyor.serving.settings import ServerSettings
from conveyor.store.metadata import MetadataStore, NotFound

log = logging.getLogger("conveyor.serving")


class PredictionService:
    """Settings, store, endpoints, live state, metrics and the prediction log of one app."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.store: MetadataStore | None = None
        self.live: LiveState | None = None
        self.endpoints: Endpoints | None = None
        self.log: PredictionLogger | None = None

    # Lifecycle

    def start(self) -> None:
        """Open the store, load every endpoint, start watching and logging."""
        settings = self.settings
        self.store = MetadataStore.open(settings.metadata_url)
        loader = ModelLoader()
        self.endpoints = Endpoints(self.store, Registry(self.store), loader=loader)
        self.log = PredictionLogger(
            self.store,
            settings.artifact_root or config.artifact_root(),
            flush_rows=settings.log_flush_rows,
            flush_seconds=settings.log_flush_seconds,
            max_buffered_rows=settings.log_max_buffered_rows,
            metrics=self.metrics,
        )
        self.log.start()
        self.live = LiveState(
            self.endpoints, loader, poll_seconds=settings.poll_seconds, metrics=self.metrics
        )
        self.live.start()
        # Everything loaded so far lives as long as the server: keep it out of the garbage
        # collector's way, so that its full collections (pauses of milliseconds) stay rare.
        gc.collect()
        gc.freeze()

    def close(self) -> None:
        """Stop watching, write the buffered prediction log, close the store."""
        gc.unfreeze()
        if self.live is not None:
            self.live.stop()
        if self.log is not None:
            self.log.close()
        if self.store is not None:
            self.store.close()

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        await run_in_threadpool(self.start)
        try:
            yield
        finally:
            await run_in_threadpool(self.close)

    # The predict path

    async def predict(self, serving: Serving, instances: Any, parameters: Any) -> list[Any]:
        """The runtime's predictions; ApiError for what the client must fix (400) or what
        failed in the model (500)."""
        if parameters is not None and not isinstance(parameters, dict):
            raise ApiError(400, f'"parameters" must be an object, not {type(parameters).__name__}')
        runtime = serving.runtime
        try:
            if (
                isinstance(instances, list)
                and len(instances) <= self.settings.inline_rows
                and not isinstance(runtime, CustomRuntime)
            ):
                return runtime.predict(instances, parameters)
            return await run_in_threadpool(runtime.predict, instances, parameters)
        except Exception as exc:
            raise api_error(exc) from exc

    def record(
        self,
        serving: Serving | None,
        labels: tuple[str, ...],
        start: float,
        status: int,
        instances: Any = None,
        predictions: Any = None,
        parameters: Any = None,
        error: str | None = None,
        rate: float | None = None,
        request_id: str | None = None,
    ) -> None:
        """Count one answered request; queue it for the prediction log when sampled."""
        count = len(instances) if isinstance(instances, list) else 0
        self.metrics.observe(labels, time.perf_counter() - start, status, count)
        if serving is None or not count or self.log is None:
            return
        if status != 200 and status != 400:
            return
        if not self.log.sampled(self.settings.log_sample_rate if rate is None else rate):
            return
        self.log.add(
            Entry(
                timestamp=time.time(),
                request_id=request_id or uuid.uuid4().hex,
                endpoint=serving.endpoint,
                deployed_model_id=serving.deployed_model_id,
                model=serving.model,
                model_version=serving.version_id,
                protocol=serving.protocol,
                instances=instances,
                predictions=predictions,
                parameters=parameters,
                status=status,
                error=error,
                feature_names=serving.runtime.feature_names,
            )
        )


def api_error(exc: BaseException) -> ApiError:
    """The HTTP answer for a library error: client errors 4xx, the rest 5xx."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NotFound):
        return ApiError(404, str(exc))
    if isinstance(exc, ServingConflict | RegistryConflict):
        return ApiError(409, str(exc), "FAILED_PRECONDITION")
    if isinstance(exc, InvalidInput | UsageError):
        return ApiError(400, str(exc))
    if isinstance(exc, ModelLoadError):
        return ApiError(503, str(exc))
    if isinstance(exc, PredictionError | ConveyorError):
        return ApiError(500, str(exc))
    log.error("serving: unexpected error", exc_info=exc)
    return ApiError(500, f"internal error: {type(exc).__name__}: {exc}")
