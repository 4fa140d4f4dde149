"""The distance expected by chance at a job's sample sizes, and the gate an anomaly passes.

Two samples of one distribution are never at distance 0: the Jensen-Shannon divergence of
two samples of n values over k buckets is about (k - 1) / (4 n ln 2) by chance alone, the
L-infinity distance about 1 / sqrt(n). So a bare threshold alarms on noise when samples
are small, and a small threshold alarms on every feature when they are large (Evidently
issues #50 and #509). Each distance is therefore judged against its **null quantile**, the
distance that chance alone reaches with probability 1 - `quantile` at those sizes:

1. p = the reference's shares on its own buckets (`distances.masses`: histogram buckets,
   NaN and infinities; or values and `other`). No raw rows are needed.
2. Draw `draws` (default 1000) pairs of samples from p, seeded (`seed`): a reference of
   the reference's size, Multinomial(n_reference, p), and a target of the target's size,
   Multinomial(n_target, p); compute the same measure on each pair.
3. The null quantile is the `quantile` (default 0.99) of those distances.

It assumes independent rows, and sees the data through the reference's buckets, as the
measures do. Its cost is draws x buckets binomial draws per side, whatever the sizes:
milliseconds for a histogram, about a second for 10,000 distinct values.

`NullCache` keeps null quantiles by (the reference feature's statistics digest, feature,
measure, both sizes rounded down to `size_bucket`, quantile, draws, seed): rounding down
computes at a size at most 9% smaller, where chance reaches a little further, so a cached
value errs towards fewer alarms. The cache is a dict the caller may store as JSON
(`to_json`/`from_json`), or a file (`load`/`save`, written atomically).

**The gate** (`assess`): a feature is an anomaly only when its distance exceeds its
threshold AND its null quantile, and is "insufficient data" (never an anomaly) when either
sample holds fewer than `min_samples` (default 100) present values.

    cache = NullCache.load(folder / "null-quantiles.json")
    results = compare(baseline, target, cache=cache)     # {feature: Assessment}
    cache.save(folder / "null-quantiles.json")
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conveyor.errors import UsageError
from conveyor.monitoring.distances import (
    DEFAULT_CATEGORICAL_ALERT_THRESHOLD,
    DEFAULT_NUMERIC_ALERT_THRESHOLD,
    JENSEN_SHANNON,
    MEASURES,
    default_measure,
    distance,
    jensen_shannon_of_counts,
    l_infinity_of_counts,
    masses,
)
from conveyor.monitoring.statistics import (
    NUMERIC,
    FeatureStatistics,
    Statistics,
    feature_digest,
)

DEFAULT_MIN_SAMPLES = 100
"""Below this many present values in a window, a feature is "insufficient data"."""
DEFAULT_QUANTILE = 0.99
DEFAULT_DRAWS = 1000
STEPS_PER_DOUBLING = 8
"""Sizes are rounded down to 2**(i / 8): steps of about 9%."""

ANOMALY, NORMAL, INSUFFICIENT_DATA = "anomaly", "normal", "insufficient_data"


class SignificanceError(UsageError):
    """A null quantile cannot be computed as asked; the message says why."""

    http_status = 400


def null_quantile(
    reference: FeatureStatistics,
    n_target: int,
    measure: str | None = None,
    *,
    n_reference: int | None = None,
    quantile: float = DEFAULT_QUANTILE,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> float:
    """The `quantile` of `measure` between two samples of the reference's distribution,
    of `n_reference` (default: the reference's count) and `n_target` values."""
    measure = measure or default_measure(reference)
    n_reference = reference.count if n_reference is None else n_reference
    if measure not in MEASURES:
        raise SignificanceError(f"unknown measure {measure!r}: use one of {', '.join(MEASURES)}")
    if n_reference < 1 or n_target < 1:
        raise SignificanceError(
            f"a null quantile needs samples of at least one value (reference {n_reference}, "
            f"target {n_target})"
        )
    if not 0 < quantile < 1 or draws < 1:
        raise SignificanceError(
            f"quantile must be in (0, 1) and draws positive: {quantile}, {draws}"
        )
    counts = masses(reference)
    shares = counts / counts.sum()
    rng = np.random.default_rng(seed)
    references = rng.multinomial(n_reference, shares, size=draws)
    targets = rng.multinomial(n_target, shares, size=draws)
    measured = jensen_shannon_of_counts if measure == JENSEN_SHANNON else l_infinity_of_counts
    return float(np.quantile(measured(references, targets), quantile))


def size_bucket(n: int) -> int:
    """`n` rounded down to the grid 2**(i / STEPS_PER_DOUBLING) (n itself below 16)."""
    if n < 16:
        return max(int(n), 0)
    step = math.floor(math.log2(n) * STEPS_PER_DOUBLING + 1e-9)
    return min(round(2 ** (step / STEPS_PER_DOUBLING)), n)


class NullCache:
    """Null quantiles by key (see the module doc), with counts of hits and misses."""

    def __init__(self, entries: Mapping[str, float] | None = None) -> None:
        self.entries: dict[str, float] = dict(entries or {})
        self.hits = 0
        self.misses = 0

    def null_quantile(
        self,
        reference: FeatureStatistics,
        n_target: int,
        measure: str | None = None,
        *,
        feature: str = "",
        n_reference: int | None = None,
        quantile: float = DEFAULT_QUANTILE,
        draws: int = DEFAULT_DRAWS,
        seed: int = 0,
    ) -> float:
        """`null_quantile` at the sizes' buckets, computed once per key."""
        measure = measure or default_measure(reference)
        n_reference = size_bucket(reference.count if n_reference is None else n_reference)
        n_target = size_bucket(n_target)
        key = "|".join(
            str(part)
            for part in (
                feature_digest(reference),
                feature,
                measure,
                n_reference,
                n_target,
                quantile,
                draws,
                seed,
            )
        )
        found = self.entries.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        value = null_quantile(
            reference,
            n_target,
            measure,
            n_reference=n_reference,
            quantile=quantile,
            draws=draws,
            seed=seed,
        )
        self.entries[key] = value
        return value

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: `{"format": 1, "null_quantiles": {key: value}}`."""
        return {"format": 1, "null_quantiles": dict(self.entries)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> NullCache:
        """The cache `to_json` wrote (as a dict or its JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        if data.get("format") != 1:
            return cls()  # another layout: start again, the entries are only a cache
        return cls(data.get("null_quantiles", {}))

    @classmethod
    def load(cls, path: str | Path) -> NullCache:
        """The cache saved at `path`; an empty one when there is no file or it is unreadable."""
        try:
            return cls.from_json(Path(path).read_text())
        except (OSError, ValueError, AttributeError):
            return cls()

    def save(self, path: str | Path) -> None:
        """Write the cache to `path` atomically (a temporary file beside it, then renamed).
        Two writers at once: the last one wins, and the other's new entries are computed
        again next time."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(self.to_json(), file)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class Assessment:
    """The verdict on one feature: `status` is ANOMALY, NORMAL or INSUFFICIENT_DATA."""

    status: str
    distance: float | None
    threshold: float
    null_quantile: float | None
    n_target: int
    n_reference: int | None = None
    min_samples: int = DEFAULT_MIN_SAMPLES
    measure: str | None = None

    @property
    def anomaly(self) -> bool:
        """Whether the feature alarms: over its threshold and over chance, with data enough."""
        return self.status == ANOMALY

    @property
    def significant(self) -> bool | None:
        """Whether the distance is beyond chance (None when not assessed)."""
        if self.distance is None or self.null_quantile is None:
            return None
        return self.distance > self.null_quantile

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return asdict(self)


def assess(
    distance: float | None,
    threshold: float,
    null_quantile: float | None,
    n_target: int,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    *,
    n_reference: int | None = None,
    measure: str | None = None,
) -> Assessment:
    """ANOMALY when `distance` > `threshold` and > `null_quantile`; INSUFFICIENT_DATA when
    `n_target` (or `n_reference`, when given) < `min_samples` or there is no distance;
    NORMAL otherwise."""
    small = n_target < min_samples or (n_reference is not None and n_reference < min_samples)
    if small or distance is None:
        status = INSUFFICIENT_DATA
    elif distance > threshold and (null_quantile is None or distance > null_quantile):
        status = ANOMALY
    else:
        status = NORMAL
    return Assessment(
        status, distance, threshold, null_quantile, n_target, n_reference, min_samples, measure
    )


def compare(
    reference: Statistics,
    target: Statistics,
    *,
    default_numeric_alert_threshold: float = DEFAULT_NUMERIC_ALERT_THRESHOLD,
    default_categorical_alert_threshold: float = DEFAULT_CATEGORICAL_ALERT_THRESHOLD,
    feature_alert_thresholds: Mapping[str, float] | None = None,
    measures: Mapping[str, str] | None = None,
    cache: NullCache | None = None,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    quantile: float = DEFAULT_QUANTILE,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> dict[str, Assessment]:
    """The assessment of every feature of `reference` in `target`: its distance (the
    measure from `measures`, else the default of its kind), its threshold (from
    `feature_alert_thresholds`, else the default of its kind) and its null quantile (from
    `cache`, computed when missing). A feature with no values on either side, or fewer
    than `min_samples`, is INSUFFICIENT_DATA (with its distance when there is one)."""
    cache = NullCache() if cache is None else cache
    thresholds = feature_alert_thresholds or {}
    results = {}
    for name, before in reference.features.items():
        after = target.features.get(name)
        measure = (measures or {}).get(name) or default_measure(before)
        default = (
            default_numeric_alert_threshold
            if before.kind == NUMERIC
            else default_categorical_alert_threshold
        )
        threshold = thresholds.get(name, default)
        n_target = after.count if after is not None else 0
        found = chance = None
        if after is not None and before.count and n_target:
            found = distance(before, after, measure)
        if found is not None and min(before.count, n_target) >= min_samples:
            chance = cache.null_quantile(
                before, n_target, measure, feature=name, quantile=quantile, draws=draws, seed=seed
            )
        results[name] = assess(
            found,
            threshold,
            chance,
            n_target,
            min_samples,
            n_reference=before.count,
            measure=measure,
        )
    return results


__all__ = [
    "ANOMALY",
    "DEFAULT_DRAWS",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_QUANTILE",
    "INSUFFICIENT_DATA",
    "NORMAL",
    "Assessment",
    "NullCache",
    "SignificanceError",
    "assess",
    "compare",
    "null_quantile",
    "size_bucket",
]
