"""Per model version inference statistics, in the form of Triton's statistics extension.

Counted by this server process since it started, for every prediction of a model version
by either protocol: successes and failures (their count and total nanoseconds), instances
predicted (`inference_count`), requests run (`execution_count`), the time of the last.
Conveyor does not queue or batch requests, nor time the steps of one apart, so those
statistics are zero. With several worker processes, each counts its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_UNTIMED = ("queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss")


@dataclass
class _Counts:
    success: int = 0
    success_ns: int = 0
    fail: int = 0
    fail_ns: int = 0
    instances: int = 0
    last_ms: int = 0


class Statistics:
    """The counts of each (model, version) served; updated on the event loop only."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], _Counts] = {}

    def observe(
        self, model: str, version: int, seconds: float, ok: bool, instances: int, when: float
    ) -> None:
        counts = self.counts.get((model, version))
        if counts is None:
            counts = self.counts[(model, version)] = _Counts()
        ns = int(seconds * 1e9)
        if ok:
            counts.success += 1
            counts.success_ns += ns
            counts.instances += instances
        else:
            counts.fail += 1
            counts.fail_ns += ns
        counts.last_ms = int(when * 1000)

    def model_stat(self, model: str, version: int) -> dict[str, Any]:
        """The `$model_stat` object of one version (zeros when it never predicted)."""
        counts = self.counts.get((model, version)) or _Counts()
        timed = {
            "success": {"count": counts.success, "ns": counts.success_ns},
            "fail": {"count": counts.fail, "ns": counts.fail_ns},
        }
        return {
            "name": model,
            "version": str(version),
            "last_inference": counts.last_ms,
            "inference_count": counts.instances,
            "execution_count": counts.success,
            "inference_stats": timed | {k: {"count": 0, "ns": 0} for k in _UNTIMED},
            "batch_stats": [],
        }
