"""`PredictionService`: the prediction server's parts, wired together, and the predict path.

The service serves one home (`conveyor.home`): its endpoints and registry say what to
serve, its model loader loads the versions, and the prediction log goes to its artifact
store, recorded in its metadata store. The home belongs to whoever built the app, who
closes it after the service stops.

The routes (`vertex.py`, `oip.py`) are thin: they parse a request, pick a `Serving`, and
hand it to `predict`, which runs the runtime (on the event loop for small requests, with
the float arrays of requests that arrive together in one call (`batching.py`), on a
worker thread for large ones and custom predictors), and to `record`, which counts the
request in the metrics and the statistics and, for a sample, queues it for the
prediction log.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from conveyor.errors import ConveyorError
from conveyor.serving.batching import Batches
from conveyor.serving.http import ApiError
from conveyor.serving.live import LiveState, Serving
from conveyor.serving.metrics import Metrics
from conveyor.serving.prediction_log import Entry, PredictionLogger
from conveyor.serving.runtimes.custom_runtime import CustomRuntime
from conveyor.serving.settings import ServerSettings
from conveyor.serving.statistics import Statistics

if TYPE_CHECKING:
    from conveyor.home import Home

log = logging.getLogger("conveyor.serving")

GC_YOUNG_THRESHOLD = 50_000
"""Container allocations between two collections of the youngest generation while the
server runs (Python's default: 700). A logged 64-row request keeps some 70 containers
(its instances) in the log's buffer until the log's thread converts them, a few
milliseconds later: at 700 the collector ran every ten requests, walked them, and
pushed them into the older generations to be walked again (measured: 20 to 40 us of a
64-row request's CPU, none without the log). Garbage without cycles is freed at once
either way; only cycles wait longer."""


class PredictionService:
    """The home served, the settings, live state, metrics, statistics and prediction log of
    one app."""

    def __init__(self, home: Home, settings: ServerSettings) -> None:
        self.home = home
        self.settings = settings
        self.endpoints = home.endpoints
        self.metrics = Metrics()
        self.statistics = Statistics()
        self.live: LiveState | None = None
        self.log: PredictionLogger | None = None
        self.batches = Batches()
        self._gc_threshold: tuple[int, ...] | None = None

    # Lifecycle

    def start(self) -> None:
        """Load every endpoint, start watching and logging."""
        settings = self.settings
        self.log = PredictionLogger(
            self.home.store,
            self.home.artifacts,
            flush_rows=settings.log_flush_rows,
            flush_seconds=settings.log_flush_seconds,
            max_buffered_rows=settings.log_max_buffered_rows,
            metrics=self.metrics,
        )
        self.log.start()
        self.live = LiveState(
            self.endpoints,
            self.home.models,
            poll_seconds=settings.poll_seconds,
            metrics=self.metrics,
        )
        self.live.start()
        # Everything loaded so far lives as long as the server: keep it out of the garbage
        # collector's way, so that its full collections (pauses of milliseconds) stay rare.
        gc.collect()
        gc.freeze()
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *self._gc_threshold[1:])

    def close(self) -> None:
        """Stop watching, write the buffered prediction log."""
        gc.unfreeze()
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None
        if self.live is not None:
            self.live.stop()
        if self.log is not None:
            self.log.close()

    def refresh_endpoint(self, name: str) -> None:
        """Serve endpoint `name` as the store has it now, not at the next poll (a change
        made through this process's control API)."""
        if self.live is not None:
            self.live.refresh_endpoint(name)

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        await run_in_threadpool(self.start)
        try:
            yield
        finally:
            await run_in_threadpool(self.close)

    # The predict path

    def rows_of(self, serving: Serving, instances: Any, parameters: Any) -> Any:
        """Instances as the runtime will predict them: a list as the float64 array that
        the runtime would make of it and take as it is (`Runtime.array_of`), so that it
        is batched with other requests' and logged as an OIP tensor of floats is; other
        instances, and requests too large to convert on the event loop, as they are.
        ApiError 400 for rows the runtime refuses."""
        if parameters is not None or not isinstance(instances, list) or not instances:
            return instances
        if not self._inline(instances):  # converted on a worker thread, by `predict`
            return instances
        try:
            array = serving.runtime.array_of(instances)
        except Exception as exc:
            raise api_error(exc) from exc
        return instances if array is None else array

    async def predict(self, serving: Serving, instances: Any, parameters: Any) -> list[Any]:
        """The runtime's predictions; ApiError for what the client must fix (400) or what
        failed in the model (500)."""
        if parameters is not None and not isinstance(parameters, dict):
            raise ApiError(400, f'"parameters" must be an object, not {type(parameters).__name__}')
        runtime = serving.runtime
        try:
            inline = self._inline(instances)
            if inline and parameters is None and runtime.given_array(instances):
                return await self.batches.predict(runtime, instances)
            if inline and not isinstance(runtime, CustomRuntime):
                return runtime.predict(instances, parameters)
            return await run_in_threadpool(runtime.predict, instances, parameters)
        except Exception as exc:
            raise api_error(exc) from exc

    def _inline(self, instances: Any) -> bool:
        """Whether a request is small enough to predict on the event loop."""
        return (
            isinstance(instances, list | np.ndarray) and len(instances) <= self.settings.inline_rows
        )

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
        count = len(instances) if isinstance(instances, list | np.ndarray) else 0
        seconds = time.perf_counter() - start
        self.metrics.observe(labels, seconds, status, count)
        if serving is None:
            return
        stamp = time.time()
        self.statistics.observe(
            serving.model, serving.version_id, seconds, status == 200, count, stamp
        )
        if not count or self.log is None:
            return
        if status != 200 and status != 400:
            return
        if not self.log.sampled(self.settings.log_sample_rate if rate is None else rate):
            return
        self.log.add(
            Entry(
                timestamp=stamp,
                request_id=request_id,
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
                runtime=serving.runtime,
            )
        )


def api_error(exc: BaseException) -> ApiError:
    """The HTTP answer for an error: a Conveyor error's declared status, else 500."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ConveyorError):
        return ApiError(exc.http_status, str(exc))
    log.error("serving: unexpected error", exc_info=exc)
    return ApiError(500, f"internal error: {type(exc).__name__}: {exc}")
