"""What may be logged to a run: keys, params, metrics, steps and times, checked before
anything is written.

Params are strings, integers, floats or booleans, as Vertex AI and MLflow take them.
Metrics are numbers (not booleans); NaN and the infinities are kept, as MLflow keeps them,
and spelled `"NaN"`, `"Infinity"` and `"-Infinity"` in the run's JSON properties (JSON has
no such numbers). Steps are integers in a signed 64-bit range; wall times are datetimes or
seconds since the epoch.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conveyor.experiments.errors import ExperimentUsageError

MAX_KEY = 250
"""The longest key of a param or metric (MLflow's limit)."""
MAX_PARAM_TEXT = 6000
"""The longest param value as text (MLflow's limit)."""
_STEP_RANGE = (-(2**63), 2**63 - 1)
_SPELLED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def check_key(key: object, what: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise ExperimentUsageError(
            f"{what} key {key!r} is not valid: use a non-empty string of at most {MAX_KEY} "
            "characters"
        )
    return key


def check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` checked: each a string, integer, finite float or boolean."""
    checked: dict[str, Any] = {}
    for key, value in _mapping(params, "params").items():
        check_key(key, "param")
        if isinstance(value, float) and not math.isfinite(value):
            raise ExperimentUsageError(f"param {key!r} is {value}: a param must be finite")
        if not isinstance(value, str | int | float | bool):
            raise ExperimentUsageError(
                f"param {key!r} is a {type(value).__name__}: a param is a string, integer, "
                "float or boolean"
            )
        if isinstance(value, str) and len(value) > MAX_PARAM_TEXT:
            raise ExperimentUsageError(
                f"param {key!r} is {len(value)} characters long; at most {MAX_PARAM_TEXT}"
            )
        checked[key] = value
    return checked


def check_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """`metrics` checked: each a number (an integer or float, not a boolean)."""
    return {
        check_key(key, "metric"): number(value, f"metric {key!r}")
        for key, value in _mapping(metrics, "metrics").items()
    }


def number(value: object, what: str) -> float:
    """`value` as a float: an int, float or numpy number, never a boolean or text."""
    if not isinstance(value, bool | str | bytes) and value is not None:
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
    raise ExperimentUsageError(f"{what} is {value!r}: a metric must be a number")


def check_step(step: object) -> int:
    """A step: an integer (numpy's too, not a boolean or float) in the 64-bit range."""
    try:
        if isinstance(step, bool):
            raise TypeError
        step = operator.index(step)  # type: ignore[arg-type]
    except TypeError:
        raise ExperimentUsageError(f"step {step!r} is not an integer") from None
    if not _STEP_RANGE[0] <= step <= _STEP_RANGE[1]:
        raise ExperimentUsageError(f"step {step} is outside the 64-bit integers")
    return step


def check_wall_time(wall_time: object) -> float:
    """Seconds since the epoch: now, unless given as a datetime or a number of seconds."""
    if wall_time is None:
        return time.time()
    if isinstance(wall_time, datetime):
        return wall_time.timestamp()
    finite = isinstance(wall_time, int | float) and math.isfinite(wall_time)
    if finite and not isinstance(wall_time, bool):
        return float(wall_time)  # type: ignore[arg-type]
    raise ExperimentUsageError(
        f"wall_time {wall_time!r} is neither a datetime nor a number of seconds since the epoch"
    )


def to_json(value: float) -> float | str:
    """A metric as its run's JSON properties keep it."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def from_json(value: Any) -> Any:
    """A metric as kept in the run's JSON properties, back as a number."""
    return _SPELLED.get(value, value) if isinstance(value, str) else value


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ExperimentUsageError(f"{what} must be a mapping of keys to values, not {value!r}")
    return value
