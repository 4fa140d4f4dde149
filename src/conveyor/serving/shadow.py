"""Shadow deployments as served: each answered request mirrored to the shadows, compared.

A shadow (`Endpoints.deploy(..., shadow_of=ID)`) takes no traffic of its own. When the
deployed model it mirrors has answered a Vertex AI prediction with 200, the answer goes
to the client first; then, in the background of that response (`Mirror.task`, a
Starlette background task), each of its shadows predicts the same instances and
parameters. The client's answer and its latency never wait for a shadow, and a shadow's
failure never reaches the client.

Each shadow call is recorded as a request of the shadow (`PredictionService.record`): its
requests, errors (500 for the model failing, 400 for input it refuses) and latency (its
own prediction's time) are counted under its own deployed model id, and its answers go to
the prediction log under that id, with the request's id, so that they can be joined with
the mirrored model's rows. Its predictions are compared with the mirrored model's,
instance by instance (`compare`): they agree when equal as JSON values (numpy values made
plain Python; numbers equal within a relative 1e-9; lists and objects compared whole;
true is not 1), and where both are numbers, |shadow - mirrored| is observed as a
regression error. Counted in `conveyor_shadow_predictions_total{outcome=agree|disagree|
failed}` and `conveyor_shadow_absolute_error` (`conveyor.serving.metrics`).

Backpressure: at most `MAX_IN_FLIGHT` shadow calls run at once in a server process;
beyond, the request is not mirrored to that shadow and the drop is counted
(`conveyor_shadow_dropped_total`), so that a slow shadow never queues work without bound.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.background import BackgroundTask

from conveyor.serving.http import ApiError

if TYPE_CHECKING:
    from conveyor.serving.live import LiveEndpoint, Serving
    from conveyor.serving.service import PredictionService

log = logging.getLogger("conveyor.serving")

MAX_IN_FLIGHT = 32
"""Shadow calls running at once in one server process (each worker of `--workers N` has
its own); a request mirrored beyond them is dropped for that shadow, and counted."""


class Comparison(NamedTuple):
    """How a shadow's predictions of one request compare with the mirrored model's."""

    agree: int
    disagree: int
    absolute_errors: list[float]
    """|shadow - mirrored| of each instance where both predictions are (finite) numbers."""


def compare(mirrored: Any, shadow: Any) -> Comparison:
    """Compare predictions instance by instance: one per prediction of the mirrored model
    (one in all when they are not lists); a prediction the shadow lacks disagrees."""
    if not isinstance(mirrored, list) or not isinstance(shadow, list):
        mirrored, shadow = [mirrored], [shadow]
    agree, errors = 0, []
    for i, expected in enumerate(mirrored):
        if i >= len(shadow):
            break
        expected, found = plain(expected), plain(shadow[i])
        agree += _equal(expected, found)
        if _number(expected) and _number(found):
            try:
                error = float(abs(found - expected))
            except OverflowError:  # integers beyond a float
                continue
            if math.isfinite(error):
                errors.append(error)
    return Comparison(agree, len(mirrored) - agree, errors)


def plain(value: Any) -> Any:
    """`value` as plain JSON values: numpy arrays and scalars become Python's, tuples lists,
    keys strings."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if not (_number(a) and _number(b)):
            return False
        # NaN is null in JSON: two NaN answers agree.
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or (a != a and b != b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


class Mirror:
    """The shadow calls of one server process, at most `limit` running at once."""

    def __init__(self, service: PredictionService, limit: int = MAX_IN_FLIGHT) -> None:
        self.service = service
        self.limit = limit
        self.in_flight = 0
        """Shadow calls running now (changed on the event loop only: no lock)."""

    def task(
        self,
        live: LiveEndpoint,
        shadows: tuple[Serving, ...],
        instances: list[Any],
        parameters: Any,
        predictions: list[Any],
        request_id: str | None,
    ) -> BackgroundTask:
        """The background task, for the response to an answered request, that mirrors it
        to `shadows`."""
        return BackgroundTask(
            self.mirror, shadows, instances, parameters, predictions, live.log_sample_rate,
            request_id,
        )  # fmt: skip

    async def mirror(
        self,
        shadows: tuple[Serving, ...],
        instances: list[Any],
        parameters: Any,
        predictions: list[Any],
        rate: float | None,
        request_id: str | None,
    ) -> None:
        """Each shadow predicts the request in turn, unless too many calls run already;
        never raises (nobody would hear it once the answer has gone)."""
        metrics = self.service.metrics
        for shadow in shadows:
            if self.in_flight >= self.limit:
                metrics.shadow_dropped.labels(shadow.endpoint, shadow.deployed_model_id).inc()
                continue
            self.in_flight += 1
            try:
                await self._call(shadow, instances, parameters, predictions, rate, request_id)
            except Exception:
                log.exception(
                    "serving: mirroring a request to shadow %s of endpoint %s failed",
                    shadow.deployed_model_id, shadow.endpoint,
                )  # fmt: skip
            finally:
                self.in_flight -= 1

    async def _call(
        self,
        shadow: Serving,
        instances: list[Any],
        parameters: Any,
        mirrored: list[Any],
        rate: float | None,
        request_id: str | None,
    ) -> None:
        service, metrics = self.service, self.service.metrics
        outcomes = metrics.shadow_predictions
        labels = (shadow.endpoint, shadow.deployed_model_id)
        start = time.perf_counter()
        try:
            predictions = await service.predict(shadow, instances, parameters)
        except ApiError as error:
            service.record(
                shadow, shadow.labels, start, error.status, instances, None, parameters,
                error.message, rate, request_id,
            )  # fmt: skip
            outcomes.labels(*labels, "failed").inc(
                len(mirrored) if isinstance(mirrored, list) else 1
            )
            return
        service.record(
            shadow, shadow.labels, start, 200, instances, predictions, parameters, None, rate,
            request_id,
        )  # fmt: skip
        found = compare(mirrored, predictions)
        if found.agree:
            outcomes.labels(*labels, "agree").inc(found.agree)
        if found.disagree:
            outcomes.labels(*labels, "disagree").inc(found.disagree)
        errors = metrics.shadow_error.labels(*labels)
        for error in found.absolute_errors:
            errors.observe(error)
