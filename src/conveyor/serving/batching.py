"""Requests predicted together: the float arrays of requests for one model that reach the
predict path in the same turn of the event loop go to the model in one call.

A scikit-learn model spends most of a small request in its own checks (input validation,
feature names, data-frame detection: some 250 us a call, whatever its rows), so when
several requests are ready at once, as under concurrent load, one call for all of them
costs little more than one call for the first. Nothing waits for a batch to fill (as
MLServer's adaptive batching waits up to `max_batch_time`): a batch is what had already
arrived when the loop comes back to it, so a lone request is answered as soon as before.

Only arrays a runtime takes as they are (`Runtime.given_array`: scikit-learn, XGBoost
and LightGBM models of numeric features, whose frameworks predict each row on its own)
and requests without parameters are batched. When the batch's call fails, each request is
predicted alone, so that each gets its own answer or its own error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from conveyor.serving.runtimes import Runtime

_Waiting = list[tuple[np.ndarray, asyncio.Future[list[Any]]]]


class Batches:
    """The requests waiting for their model's next call, by runtime."""

    def __init__(self) -> None:
        self.waiting: dict[int, tuple[Runtime, _Waiting]] = {}

    async def predict(self, runtime: Runtime, array: np.ndarray) -> list[Any]:
        """`runtime.predict(array)`, in one call with the arrays of other requests for
        `runtime` that arrive before the loop turns."""
        loop = asyncio.get_running_loop()
        found = self.waiting.get(id(runtime))
        if found is None:
            found = self.waiting[id(runtime)] = (runtime, [])
            loop.call_soon(self._flush, id(runtime))
        answer: asyncio.Future[list[Any]] = loop.create_future()
        found[1].append((array, answer))
        return await answer

    def _flush(self, key: int) -> None:
        runtime, batch = self.waiting.pop(key)
        if len(batch) > 1 and _together(runtime, batch):
            return
        for array, answer in batch:
            try:
                predictions = runtime.predict(array)
            except Exception as exc:  # the request's own error, to its caller
                if not answer.done():
                    answer.set_exception(exc)
            else:
                if not answer.done():
                    answer.set_result(predictions)


def _together(runtime: Runtime, batch: _Waiting) -> bool:
    """Answer every request of `batch` from one call; False, answering none, if it fails."""
    try:
        predictions = runtime.predict(np.concatenate([array for array, _ in batch]))
    except Exception:  # each is then predicted alone, for its own error
        return False
    start = 0
    for array, answer in batch:
        end = start + len(array)
        if not answer.done():  # not cancelled: its client is still there
            answer.set_result(predictions[start:end])
        start = end
    return True
