"""Distances between two distributions of a feature, as Vertex AI Model Monitoring and TFDV
compute them: the Jensen-Shannon divergence and the L-infinity distance.

**Jensen-Shannon divergence** (`JENSEN_SHANNON`, the default for numeric features, allowed
for categorical ones), between a baseline P and a target Q:

1. Common buckets. For numeric histograms, each histogram's buckets of positive width are
   re-bucketed onto the union of both histograms' edges, each bucket's count spread
   evenly over its width: a bucket [a, b) holding c values gives c * (v - u) / (b - a) to
   a union interval [u, v) inside it, and nothing to intervals outside every bucket of
   that histogram. A bucket of zero width (a point mass, [v, v]) is a bucket of its own,
   matched by value with the other side's point masses. NaN, +infinity and -infinity are
   three more buckets. For categorical features, each distinct value is a bucket, and the
   values beyond the statistics' cap (`other`) one more.
2. Normalise each side to shares: p_i = P_i / sum(P), q_i = Q_i / sum(Q).
3. With m_i = (p_i + q_i) / 2,

       JS(P, Q) = 1/2 * sum_i p_i log2(p_i / m_i) + 1/2 * sum_i q_i log2(q_i / m_i)

   (terms with p_i = 0 or q_i = 0 are 0), capped at 1 (and at 0 against rounding).
   With log base 2 it lies in [0, 1]: 0 for equal shares, 1 for disjoint supports.

This is TFDV's `JensenShannonDivergence` (tensorflow_data_validation/anomalies/metrics.cc),
which Vertex AI Model Monitoring reports for numeric features, with one deliberate
difference and one of bookkeeping. The difference: TFDV puts each side's NaN count in a
bucket the other side never shares (its own test is named "NaNNotEqualToSelf"; a feature
that is all NaN has divergence 1 from itself), and lumps both infinities, with any bucket
that has an infinite edge, into one such unshared bucket. Here NaN matches NaN, +inf
matches +inf and -inf matches -inf, so identical distributions are at 0; pass
`tfdv_nonfinite=True` for TFDV's numbers. The bookkeeping: TFDV's string histograms list
the top values only and share out over those; here the values beyond the cap are one
more bucket (`other`), so the shares are of every present value.

**L-infinity distance** (`L_INFINITY`, the default for categorical features): the largest
absolute difference between the two normalised value distributions,

    L_inf(P, Q) = max_i |p_i - q_i|

over the union of both sides' values (and `other`), each side normalised by its own
total of present values (TFDV's `LInftyDistance`, NormalizationMode kSeparateTotal). It
lies in [0, 1].

Missing values (nulls) are in neither measure: they are reported as counts of their own.

**Not Evidently's numbers.** Evidently's "Jensen-Shannon distance" (its `jensenshannon`
stat test, the default of `DataDriftPreset` for categorical columns of large data) is
`scipy.spatial.distance.jensenshannon`: the square root of the divergence, with the
natural logarithm, over its own binning (numeric columns with more than 20 distinct
values: Sturges' equal-width bins over both samples together; others: value counts).
On the same buckets it would be sqrt(ln 2 * JS), larger than JS whenever JS < ln 2; its
buckets differ too, so its numbers and its threshold (0.1 by default) do not carry over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from conveyor.errors import UsageError
from conveyor.monitoring.statistics import (
    CategoricalStatistics,
    FeatureStatistics,
    Histogram,
    NumericStatistics,
)

JENSEN_SHANNON = "jensen_shannon_divergence"
L_INFINITY = "l_infinity"
MEASURES = (JENSEN_SHANNON, L_INFINITY)

DEFAULT_NUMERIC_ALERT_THRESHOLD = 0.3
"""Vertex AI's `default_numeric_alert_threshold` (for the Jensen-Shannon divergence)."""
DEFAULT_CATEGORICAL_ALERT_THRESHOLD = 0.3
"""Vertex AI's `default_categorical_alert_threshold` (for the L-infinity distance)."""


class DistanceError(UsageError):
    """Two distributions cannot be compared as asked; the message says why."""

    http_status = 400


def default_measure(statistics: FeatureStatistics) -> str:
    """Jensen-Shannon for a numeric feature, L-infinity for a categorical one (Vertex AI's)."""
    return JENSEN_SHANNON if isinstance(statistics, NumericStatistics) else L_INFINITY


def distance(
    baseline: FeatureStatistics, target: FeatureStatistics, measure: str | None = None
) -> float:
    """`measure` (default: `default_measure(baseline)`) between two statistics of a feature."""
    measure = measure or default_measure(baseline)
    if measure == JENSEN_SHANNON:
        return jensen_shannon(baseline, target)
    if measure == L_INFINITY:
        return l_infinity(baseline, target)
    raise DistanceError(f"unknown measure {measure!r}: use one of {', '.join(MEASURES)}")


def jensen_shannon(a: Any, b: Any, *, tfdv_nonfinite: bool = False) -> float:
    """The Jensen-Shannon divergence (log base 2, capped at 1) of two numeric histograms
    (`Histogram` or `NumericStatistics`) or two categorical distributions
    (`CategoricalStatistics` or a mapping of value to count); see the module doc.
    `tfdv_nonfinite` puts NaN and the infinities in unshared buckets, as TFDV does."""
    p, q = aligned(a, b, tfdv_nonfinite=tfdv_nonfinite)
    return float(jensen_shannon_of_counts(p, q))


def l_infinity(a: Any, b: Any) -> float:
    """The largest absolute difference between the shares of one value in two categorical
    distributions (`CategoricalStatistics` or a mapping of value to count)."""
    if isinstance(_as_distribution(a), Histogram) or isinstance(_as_distribution(b), Histogram):
        raise DistanceError(
            "the L-infinity distance compares categories: use the Jensen-Shannon "
            "divergence for a numeric feature"
        )
    p, q = aligned(a, b)
    return float(l_infinity_of_counts(p, q))


def aligned(a: Any, b: Any, *, tfdv_nonfinite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The counts of `a` and of `b` on their common buckets (step 1 of the module doc):
    for histograms, the union intervals, then the point masses by value, then NaN, +inf
    and -inf; for categories, the values, then `other`."""
    a, b = _as_distribution(a), _as_distribution(b)
    if isinstance(a, Histogram) and isinstance(b, Histogram):
        p, q = _aligned_histograms(a, b, tfdv_nonfinite)
    elif isinstance(a, CategoricalStatistics) and isinstance(b, CategoricalStatistics):
        p, q = _aligned_categories(a, b)
    else:
        raise DistanceError("cannot compare a numeric distribution with a categorical one")
    for side, counts in (("first", p), ("second", q)):
        if not counts.sum() > 0:
            raise DistanceError(f"the {side} distribution has no values: nothing to compare")
    return p, q


def masses(statistics: Any) -> np.ndarray:
    """The counts of one distribution on its own buckets, laid out as `aligned` lays them
    (what the significance test draws samples from)."""
    return aligned(statistics, statistics)[0]


def jensen_shannon_of_counts(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Step 2 and 3 of the module doc on counts already on common buckets (the last axis),
    for any number of pairs at once (the leading axes)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        from_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        from_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    return np.clip((from_p + from_q) / 2, 0.0, 1.0)


def l_infinity_of_counts(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """max_i |p_i - q_i| of counts on common buckets (the last axis), each side normalised."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    shares = p / p.sum(axis=-1, keepdims=True) - q / q.sum(axis=-1, keepdims=True)
    return np.abs(shares).max(axis=-1)


def _as_distribution(value: Any) -> Histogram | CategoricalStatistics:
    if isinstance(value, NumericStatistics):
        return value.histogram
    if isinstance(value, Histogram | CategoricalStatistics):
        return value
    if isinstance(value, Mapping):
        return CategoricalStatistics(count=sum(value.values()), values=dict(value))
    raise DistanceError(
        f"cannot compare a {type(value).__name__}: pass feature statistics, a Histogram, "
        "or a mapping of value to count"
    )


def _aligned_categories(
    a: CategoricalStatistics, b: CategoricalStatistics
) -> tuple[np.ndarray, np.ndarray]:
    keys = list(a.values) + [k for k in b.values if k not in a.values]
    p = [a.values.get(k, 0) for k in keys] + [a.other]
    q = [b.values.get(k, 0) for k in keys] + [b.other]
    return np.array(p, dtype=float), np.array(q, dtype=float)


def _aligned_histograms(a: Histogram, b: Histogram, tfdv: bool) -> tuple[np.ndarray, np.ndarray]:
    edges_a, counts_a, points_a = _split(a)
    edges_b, counts_b, points_b = _split(b)
    if np.array_equal(edges_a, edges_b):
        spread_a, spread_b = counts_a, counts_b
    else:
        union = np.union1d(edges_a, edges_b)
        spread_a, spread_b = _spread(edges_a, counts_a, union), _spread(edges_b, counts_b, union)
    points = sorted(set(points_a) | set(points_b))
    if tfdv:  # each side's NaN, and its infinities, in buckets the other side leaves empty
        inf_a, inf_b = a.pos_inf + a.neg_inf, b.pos_inf + b.neg_inf
        rest_a, rest_b = [a.nan, 0, inf_a, 0], [0, b.nan, 0, inf_b]
    else:
        rest_a, rest_b = [a.nan, a.pos_inf, a.neg_inf], [b.nan, b.pos_inf, b.neg_inf]
    p = np.concatenate([spread_a, [points_a.get(v, 0) for v in points], rest_a])
    q = np.concatenate([spread_b, [points_b.get(v, 0) for v in points], rest_b])
    return p.astype(float), q.astype(float)


def _split(histogram: Histogram) -> tuple[np.ndarray, np.ndarray, dict[float, float]]:
    """The edges and counts of the buckets of positive width (contiguous once the
    zero-width ones are out), and the point masses by value."""
    edges = np.asarray(histogram.edges, dtype=float)
    counts = np.asarray(histogram.counts, dtype=float)
    points: dict[float, float] = {}
    if not len(counts):
        return np.empty(0), np.empty(0), points
    point = edges[1:] == edges[:-1]
    for value, count in zip(edges[:-1][point].tolist(), counts[point].tolist(), strict=True):
        points[value] = points.get(value, 0.0) + count
    return np.unique(edges), counts[~point], points


def _spread(edges: np.ndarray, counts: np.ndarray, union: np.ndarray) -> np.ndarray:
    """`counts` over the buckets of `edges`, spread evenly onto the intervals of `union`
    (a superset of `edges`, so each interval lies within one bucket or outside them all)."""
    out = np.zeros(max(len(union) - 1, 0))
    if not len(counts):
        return out
    left, right = union[:-1], union[1:]
    bucket = np.searchsorted(edges, left, side="right") - 1
    inside = (bucket >= 0) & (bucket < len(counts))
    b = bucket[inside]
    out[inside] = counts[b] * (right[inside] - left[inside]) / (edges[b + 1] - edges[b])
    return out


__all__ = [
    "DEFAULT_CATEGORICAL_ALERT_THRESHOLD",
    "DEFAULT_NUMERIC_ALERT_THRESHOLD",
    "JENSEN_SHANNON",
    "L_INFINITY",
    "MEASURES",
    "DistanceError",
    "aligned",
    "default_measure",
    "distance",
    "jensen_shannon",
    "jensen_shannon_of_counts",
    "l_infinity",
    "l_infinity_of_counts",
    "masses",
]
