"""Validation of data statistics against a schema and against baseline statistics.

The anomalies document that `validate_data` writes:

    {"valid": false,
     "num_examples": 500,
     "anomalies": [{"feature": "age", "kind": "missing_values", "description": "..."}, ...],
     "distances": {"age": {"measure": "jensen_shannon_divergence", "value": 0.41,
                           "threshold": 0.3, "exceeded": true}, ...},
     "comparison": "drift"}

Kinds, as TFX's ExampleValidator names them in spirit: `missing_column` (in the
schema, not in the data), `new_column` (in the data, not in the schema),
`type_change`, `missing_values` (a required feature has missing values),
`out_of_domain` (string values outside the schema's list), `out_of_range`
(numbers outside the schema's min/max), and `skew` or `drift` (the
distribution moved from the baseline's beyond the feature's threshold).

The distances are Vertex AI Model Monitoring's: the Jensen-Shannon divergence
(base 2, so between 0 and 1) of the histograms for numbers, and the L-infinity
distance (the largest difference in the share of any one value) for strings
and booleans. Two histograms with different bucket edges are compared on the
union of their edges, each bucket's count spread evenly over its width.
Vertex AI's default alert threshold is 0.3 for both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from conveyor.components._lib import features as ftypes
from conveyor.components._lib import schemas
from conveyor.components._lib.errors import ComponentError

JENSEN_SHANNON, L_INFINITY = "jensen_shannon_divergence", "l_infinity"
DEFAULT_THRESHOLD = 0.3
COMPARISONS = ("drift", "skew")
_OTHER = "\x00other"
_EXAMPLES = 5


def validate(
    statistics: dict[str, Any],
    schema: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    *,
    numeric_threshold: float = DEFAULT_THRESHOLD,
    categorical_threshold: float = DEFAULT_THRESHOLD,
    feature_thresholds: dict[str, float] | None = None,
    max_out_of_domain_fraction: float = 0.0,
    ignore: Iterable[str] = (),
    comparison: str = "drift",
) -> dict[str, Any]:
    """The anomalies document of `statistics` against `schema` and `baseline` statistics."""
    if comparison not in COMPARISONS:
        raise ComponentError(f"comparison {comparison!r} is not one of {', '.join(COMPARISONS)}")
    expected = schemas.check(schema)
    ignored = set(ignore)
    found: list[dict[str, Any]] = []
    features = statistics["features"]
    for name, feature in expected.items():
        if name in ignored:
            continue
        if name not in features:
            found.append(
                _anomaly(name, "missing_column", "the column is in the schema, not in the data")
            )
            continue
        found.extend(_check_feature(name, feature, features[name], max_out_of_domain_fraction))
    for name in features:
        if name not in expected and name not in ignored:
            found.append(
                _anomaly(name, "new_column", "the column is in the data but not in the schema")
            )
    distances: dict[str, Any] = {}
    if baseline is not None:
        thresholds = dict(feature_thresholds or {})
        unknown = sorted(set(thresholds) - set(features) - set(baseline["features"]))
        if unknown:
            raise ComponentError(
                f"feature_thresholds names {', '.join(unknown)}, which neither the data nor "
                "the baseline has"
            )
        for name, current in features.items():
            before = baseline["features"].get(name)
            if name in ignored or before is None:
                continue
            measured = distance(before, current)
            if measured is None:
                continue
            measure, value = measured
            default = numeric_threshold if measure == JENSEN_SHANNON else categorical_threshold
            threshold = float(thresholds.get(name, default))
            exceeded = threshold > 0 and value > threshold
            distances[name] = {
                "measure": measure,
                "value": value,
                "threshold": threshold,
                "exceeded": exceeded,
            }
            if exceeded:
                found.append(
                    _anomaly(
                        name,
                        comparison,
                        f"{measure.replace('_', ' ')} from the baseline is {value:.4f}, "
                        f"above the threshold {threshold:g}",
                        value=value,
                        threshold=threshold,
                    )
                )
    return {
        "valid": not found,
        "num_examples": statistics.get("num_examples"),
        "anomalies": found,
        "distances": distances,
        "comparison": comparison if baseline is not None else None,
    }


def _check_feature(
    name: str, expected: dict[str, Any], stats: dict[str, Any], max_ood: float
) -> list[dict[str, Any]]:
    found = []
    kind, actual = expected["type"], stats["type"]
    if stats["count"] and not _compatible(kind, actual, stats):
        found.append(
            _anomaly(
                name,
                "type_change",
                f"the schema says {kind}, the data holds {actual}",
                expected=kind,
                found=actual,
            )
        )
        return found
    if expected.get("required") and stats["missing"]:
        found.append(
            _anomaly(
                name,
                "missing_values",
                f"{stats['missing']} of {stats['missing'] + stats['count']} values are missing "
                f"({stats['missing_fraction']:.1%}); the schema requires every value",
                missing=stats["missing"],
            )
        )
    domain = expected.get("domain") or {}
    if "values" in domain and "categorical" in stats:
        allowed = {str(v) for v in domain["values"]}
        values = stats["categorical"]["values"]
        outside = {v: c for v, c in values.items() if v not in allowed}
        count = sum(outside.values())
        if count and count / max(stats["count"], 1) > max_ood:
            examples = sorted(outside, key=outside.get, reverse=True)[:_EXAMPLES]
            note = "" if stats["categorical"]["values_complete"] else " (among the most frequent)"
            found.append(
                _anomaly(
                    name,
                    "out_of_domain",
                    f"{count} values ({count / stats['count']:.1%}) are outside the schema's "
                    f"domain{note}, such as {', '.join(map(repr, examples))}",
                    count=count,
                    examples=examples,
                )
            )
    numeric = stats.get("numeric") or {}
    if ({"min", "max"} & set(domain)) and "min" in numeric:
        low, high = domain.get("min", -math.inf), domain.get("max", math.inf)
        if numeric["min"] < low or numeric["max"] > high:
            found.append(
                _anomaly(
                    name,
                    "out_of_range",
                    f"values run from {numeric['min']:g} to {numeric['max']:g}; "
                    f"the schema allows {low:g} to {high:g}",
                    min=numeric["min"],
                    max=numeric["max"],
                )
            )
    return found


def _compatible(expected: str, actual: str, stats: dict[str, Any]) -> bool:
    if expected == actual:
        return True
    if expected == ftypes.FLOAT and actual == ftypes.INTEGER:
        return True
    # A column of whole numbers with missing values reads as float.
    return (
        expected == ftypes.INTEGER
        and actual == ftypes.FLOAT
        and bool(stats.get("numeric", {}).get("integral"))
    )


def distance(before: dict[str, Any], current: dict[str, Any]) -> tuple[str, float] | None:
    """(measure, value) between two features' statistics, None when not comparable."""
    numeric = (before["type"] in ftypes.NUMERIC, current["type"] in ftypes.NUMERIC)
    if numeric == (True, True):
        a, b = before["numeric"]["histogram"], current["numeric"]["histogram"]
        if not a["counts"] or not b["counts"]:
            return None
        return JENSEN_SHANNON, jensen_shannon(a, b)
    if numeric == (False, False):
        if not before["count"] or not current["count"]:
            return None
        return L_INFINITY, l_infinity(before, current)
    return None


def jensen_shannon(before: dict[str, list], current: dict[str, list]) -> float:
    """Jensen-Shannon divergence (base 2) of two histograms `{"edges", "counts"}`."""
    edges = np.union1d(before["edges"], current["edges"])
    p = rebucket(before, edges)
    q = rebucket(current, edges)
    m = (p + q) / 2
    return float(max(0.0, min(1.0, (_kl(p, m) + _kl(q, m)) / 2)))


def rebucket(histogram: dict[str, list], edges: np.ndarray) -> np.ndarray:
    """A histogram's shares over the intervals of `edges`, each bucket spread evenly."""
    source = np.asarray(histogram["edges"], dtype=float)
    counts = np.asarray(histogram["counts"], dtype=float)
    shares = np.zeros(len(edges) - 1)
    for low, high, count in zip(source[:-1], source[1:], counts, strict=True):
        if count == 0:
            continue
        if high <= low:  # a point: all of it in the interval that holds it
            index = min(max(np.searchsorted(edges, low, side="right") - 1, 0), len(shares) - 1)
            shares[index] += count
            continue
        overlap = np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, None)
        shares += count * overlap / (high - low)
    total = shares.sum()
    return shares / total if total else shares


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))


def l_infinity(before: dict[str, Any], current: dict[str, Any]) -> float:
    """The largest difference between the shares of one value in two features' statistics."""
    p, q = _shares(before), _shares(current)
    return float(max(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q)))


def _shares(feature: dict[str, Any]) -> dict[str, float]:
    values = feature["categorical"]["values"]
    total = feature["count"]
    shares = {v: c / total for v, c in values.items()}
    counted = sum(values.values())
    if total > counted:
        # The statistics kept only the most frequent values; the rest is one bucket.
        shares[_OTHER] = (total - counted) / total
    return shares


def _anomaly(feature: str, kind: str, description: str, **details: Any) -> dict[str, Any]:
    return {"feature": feature, "kind": kind, "description": description, **details}
