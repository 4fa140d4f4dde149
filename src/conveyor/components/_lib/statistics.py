"""Feature statistics of a table: the document `compute_statistics` writes.

    {"num_examples": 150,
     "features": {
       "sepal_length": {"type": "float", "count": 150, "missing": 0, "missing_fraction": 0.0,
                        "numeric": {"min": 4.3, "max": 7.9, "mean": 5.84, "std": 0.83,
                                    "zeros": 0, "infinite": 0, "integral": false,
                                    "quantiles": [4.3, ..., 7.9],
                                    "histogram": {"edges": [4.3, ...], "counts": [9, ...]}}},
       "species": {"type": "string", "count": 150, "missing": 0, "missing_fraction": 0.0,
                   "categorical": {"unique": 3, "top_values": [{"value": "setosa", "count": 50}, ...],
                                   "values": {"setosa": 50, ...}, "values_complete": true,
                                   "avg_length": 8.3}}}}

Numbers (`integer`, `float`) get the `numeric` block: quantiles at evenly spaced
ranks (`num_quantiles` + 1 values from the minimum to the maximum) and an
equal-width histogram. Strings and booleans get the `categorical` block:
`values` counts every distinct value up to `max_values` of them (the most
frequent first; `values_complete` false when there were more), which is what
domain checks and the L-infinity distance read. Booleans count as "true" and
"false". `std` is the sample standard deviation (None for one value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.components._lib import features as ftypes


def compute(
    frame: pd.DataFrame,
    num_histogram_buckets: int = 20,
    num_quantiles: int = 10,
    num_top_values: int = 10,
    max_values: int = 1000,
) -> dict[str, Any]:
    """The statistics document of a frame."""
    return {
        "num_examples": len(frame),
        "features": {
            str(name): feature_statistics(
                frame[name], num_histogram_buckets, num_quantiles, num_top_values, max_values
            )
            for name in frame.columns
        },
    }


def feature_statistics(
    column: pd.Series,
    num_histogram_buckets: int = 20,
    num_quantiles: int = 10,
    num_top_values: int = 10,
    max_values: int = 1000,
) -> dict[str, Any]:
    kind = ftypes.feature_type(column)
    missing = int(column.isna().sum())
    found: dict[str, Any] = {
        "type": kind,
        "count": len(column) - missing,
        "missing": missing,
        "missing_fraction": missing / len(column) if len(column) else 0.0,
    }
    present = column.dropna()
    if kind in ftypes.NUMERIC:
        found["numeric"] = numeric(present, num_histogram_buckets, num_quantiles)
    else:
        found["categorical"] = categorical(present, kind, num_top_values, max_values)
    return found


def numeric(values: pd.Series, buckets: int, quantiles: int) -> dict[str, Any]:
    array = values.to_numpy(dtype=float)
    infinite = int(np.isinf(array).sum())
    array = array[np.isfinite(array)]
    if not len(array):
        return {"infinite": infinite, "histogram": {"edges": [], "counts": []}, "quantiles": []}
    low, high = float(array.min()), float(array.max())
    counts, edges = np.histogram(array, bins=max(1, buckets), range=(low, high))
    return {
        "min": low,
        "max": high,
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if len(array) > 1 else None,
        "zeros": int((array == 0).sum()),
        "infinite": infinite,
        "integral": bool(np.all(np.mod(array, 1) == 0)),
        "quantiles": [
            float(q) for q in np.quantile(array, np.linspace(0, 1, max(1, quantiles) + 1))
        ],
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def categorical(values: pd.Series, kind: str, top: int, limit: int) -> dict[str, Any]:
    labels = values.map(category_label)
    counts = labels.value_counts(sort=True)
    lengths = labels.str.len()
    return {
        "unique": len(counts),
        "top_values": [{"value": v, "count": int(c)} for v, c in counts.head(top).items()],
        "values": {v: int(c) for v, c in counts.head(limit).items()},
        "values_complete": len(counts) <= limit,
        "avg_length": float(lengths.mean()) if len(lengths) else None,
    }


def category_label(value: Any) -> str:
    """How a categorical value is counted: booleans as "true"/"false", others as text."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
