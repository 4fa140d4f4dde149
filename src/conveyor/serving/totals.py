"""What a rollout's analysis reads of a server's metrics: totals per deployed model.

    totals = service.metrics.totals("churn-prod")          # {deployed model id: DeployedTotals}
    start = DeployedTotals.from_json(stored)               # a snapshot kept in the store
    window = totals["2"].minus(start)                      # the counts since the snapshot
    window.error_rate, window.quantile(0.99), window.agreement, window.mean_absolute_error

`DeployedTotals` are counters as Prometheus keeps them: they only grow while a server
runs, and start again from zero when it restarts. `minus` takes the counts of a window
between two readings; a reading lower than the earlier one in any count means the server
restarted in between, and the window is then the later reading whole (what was counted
before the restart is lost, as Prometheus' `increase` loses it). `quantile` interpolates
inside the histogram's buckets as Prometheus' `histogram_quantile` does.

`read_totals` builds them from metric families (prometheus_client's `collect()`): of one
process, or of every worker process of the server (`Metrics.totals`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_INF = float("inf")


@dataclass(frozen=True)
class DeployedTotals:
    """The counts of one deployed model of an endpoint, summed over its versions.

    `requests` it answered, `errors` among them answered with a status of 500 or more;
    the latency histogram as Prometheus keeps it: `latency_bounds` (bucket upper bounds in
    seconds, the last +Inf) and `latency_counts` (cumulative: observations at or below
    each bound). For a shadow: instances whose prediction `agree`d or `disagree`d with the
    mirrored model's, instances of mirrored requests that `failed` in the shadow, mirrored
    requests `dropped` because too many shadow calls were in flight, and over the
    `numeric` instances where both predictions are numbers, `absolute_error_sum`, the sum
    of |shadow - mirrored|.
    """

    requests: int = 0
    errors: int = 0
    latency_bounds: tuple[float, ...] = ()
    latency_counts: tuple[int, ...] = ()
    agree: int = 0
    disagree: int = 0
    failed: int = 0
    dropped: int = 0
    absolute_error_sum: float = 0.0
    numeric: int = 0

    # Windows

    def minus(self, earlier: DeployedTotals) -> DeployedTotals:
        """The counts between `earlier` and this reading; this reading whole when any count
        went down (the server restarted in between)."""
        if earlier.latency_counts and earlier.latency_bounds != self.latency_bounds:
            return self
        before = earlier.latency_counts or (0,) * len(self.latency_counts)
        now = (*self._counts(), *self.latency_counts)
        then = (*earlier._counts(), *before)
        if any(n < t for n, t in zip(now, then, strict=True)):
            return self
        return DeployedTotals(
            requests=self.requests - earlier.requests,
            errors=self.errors - earlier.errors,
            latency_bounds=self.latency_bounds,
            latency_counts=tuple(n - b for n, b in zip(self.latency_counts, before, strict=True)),
            agree=self.agree - earlier.agree,
            disagree=self.disagree - earlier.disagree,
            failed=self.failed - earlier.failed,
            dropped=self.dropped - earlier.dropped,
            # A float sum read from several workers may come back a hair lower unchanged.
            absolute_error_sum=max(0.0, self.absolute_error_sum - earlier.absolute_error_sum),
            numeric=self.numeric - earlier.numeric,
        )

    def _counts(self) -> tuple[int, ...]:
        return (
            self.requests, self.errors, self.agree, self.disagree, self.failed, self.dropped,
            self.numeric,
        )  # fmt: skip

    # Figures

    @property
    def observations(self) -> int:
        """Requests in the latency histogram."""
        return self.latency_counts[-1] if self.latency_counts else 0

    @property
    def error_rate(self) -> float | None:
        """Errors (status 500 or more) per request; None without requests."""
        return self.errors / self.requests if self.requests else None

    def quantile(self, q: float) -> float | None:
        """The latency in seconds below which a share `q` (0 to 1) of the requests fall, as
        Prometheus' `histogram_quantile`: interpolated linearly inside the bucket, from 0
        for the first; the highest finite bound when it falls in the +Inf bucket. None
        without observations."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"a quantile is from 0 to 1, not {q!r}")
        total = self.observations
        if not total:
            return None
        bounds, counts = self.latency_bounds, self.latency_counts
        rank = q * total
        last = len(bounds) - 1
        b = next((i for i in range(last) if counts[i] >= rank), last)
        if b == last:
            return bounds[last - 1] if last else None
        start = bounds[b - 1] if b else 0.0
        below = counts[b - 1] if b else 0
        inside = counts[b] - below
        if not inside:
            return start
        return start + (bounds[b] - start) * (rank - below) / inside

    @property
    def agreement(self) -> float | None:
        """The share of mirrored instances whose prediction agreed (a failed one did not);
        None when nothing was mirrored."""
        compared = self.agree + self.disagree + self.failed
        return self.agree / compared if compared else None

    @property
    def mean_absolute_error(self) -> float | None:
        """The mean |shadow - mirrored| over numeric predictions; None without any."""
        return self.absolute_error_sum / self.numeric if self.numeric else None

    # Snapshots

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (the +Inf bound as the string "+Inf"), for keeping in the store."""
        data = dataclasses.asdict(self)
        data["latency_bounds"] = [_bound_json(b) for b in self.latency_bounds]
        data["latency_counts"] = list(self.latency_counts)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeployedTotals:
        """Totals from `to_json`'s data; fields it lacks are zero."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["latency_bounds"] = tuple(float(b) for b in data.get("latency_bounds", ()))
        values["latency_counts"] = tuple(int(n) for n in data.get("latency_counts", ()))
        return cls(**values)


def _bound_json(bound: float) -> float | str:
    return "+Inf" if bound == _INF else bound


class _Sums:
    """The totals of one deployed model while they are being added up."""

    def __init__(self) -> None:
        self.values: dict[str, float] = dict.fromkeys(
            ("requests", "errors", "agree", "disagree", "failed", "dropped", "numeric"), 0.0
        )
        self.absolute_error_sum = 0.0
        self.buckets: dict[float, float] = {}

    def frozen(self) -> DeployedTotals:
        bounds = tuple(sorted(self.buckets))
        return DeployedTotals(
            **{k: round(v) for k, v in self.values.items()},
            latency_bounds=bounds,
            latency_counts=tuple(round(self.buckets[b]) for b in bounds),
            absolute_error_sum=self.absolute_error_sum,
        )


def read_totals(families: Iterable[Any], endpoint: str) -> dict[str, DeployedTotals]:
    """The totals of each deployed model of `endpoint` (by id) in metric families (of
    `conveyor.serving.metrics`), summed over their other labels: model, version, protocol,
    status code."""
    sums: dict[str, _Sums] = {}
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            deployed = labels.get("deployed_model_id")
            if labels.get("endpoint") != endpoint or not deployed:
                continue
            _add(sums.setdefault(deployed, _Sums()), sample.name, labels, sample.value)
    return {deployed: found.frozen() for deployed, found in sums.items()}


def _add(sums: _Sums, name: str, labels: dict[str, str], value: float) -> None:
    values = sums.values
    if name == "conveyor_prediction_requests_total":
        values["requests"] += value
    elif name == "conveyor_prediction_errors_total":
        if int(labels["code"]) >= 500:
            values["errors"] += value
    elif name == "conveyor_prediction_latency_seconds_bucket":
        bound = float(labels["le"])
        sums.buckets[bound] = sums.buckets.get(bound, 0.0) + value
    elif name == "conveyor_shadow_predictions_total":
        values[labels["outcome"]] += value
    elif name == "conveyor_shadow_dropped_total":
        values["dropped"] += value
    elif name == "conveyor_shadow_absolute_error_sum":
        sums.absolute_error_sum += value
    elif name == "conveyor_shadow_absolute_error_count":
        values["numeric"] += value
