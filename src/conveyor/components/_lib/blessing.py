"""Model validation: bless a candidate on value thresholds and on change against a baseline.

Value thresholds bound a metric of the candidate:

    {"accuracy": {"min": 0.8}, "log_loss": {"max": 0.5}}

Change thresholds compare it with the baseline's metric on the same data
(TFMA's GenericChangeThreshold, in words):

    {"accuracy": {"tolerance": 0.01}}            # may be worse by 0.01 at most
    {"roc_auc": {"min_improvement": 0.005}}      # must be better by 0.005 at least
    {"rmse": {"relative_tolerance": 0.05}}       # may be worse by 5% of the baseline at most
    {"f1": {"min_relative_improvement": 0.02}}   # must be better by 2% of the baseline

"Better" follows the metric (higher accuracy, lower rmse); `"direction":
"higher"` or `"lower"` says it for metrics Conveyor does not know. Several
keys on one metric must all hold. Without a baseline (the first model) change
thresholds are skipped and the candidate is blessed on value thresholds alone,
as TFX does. No thresholds at all bless every candidate.

The blessing document:

    {"blessed": false, "reason": "accuracy 0.71 is below the minimum 0.8",
     "candidate": {"metrics": {...}}, "baseline": {"uri": ..., "metrics": {...}} | null,
     "checks": [{"metric": "accuracy", "kind": "value", "passed": false,
                 "candidate": 0.71, "baseline": null, "threshold": {"min": 0.8},
                 "message": "..."}]}
"""

from __future__ import annotations

from typing import Any

from conveyor.components._lib.errors import ComponentError
from conveyor.components._lib.metrics import better

VALUE_KEYS = {"min", "max"}
EPSILON = 1e-9
"""Slack for float rounding: 0.85 - 0.86 is -0.0100000000000001, within a 0.01 tolerance."""
CHANGE_KEYS = {
    "tolerance",
    "min_improvement",
    "relative_tolerance",
    "min_relative_improvement",
    "direction",
}


def bless(
    candidate: dict[str, float],
    thresholds: dict[str, Any] | None = None,
    change_thresholds: dict[str, Any] | None = None,
    baseline: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The blessing document of a candidate's metrics (and a baseline's, when there is one)."""
    thresholds, change_thresholds = thresholds or {}, change_thresholds or {}
    _check_names(thresholds, change_thresholds, candidate, baseline)
    checks: list[dict[str, Any]] = []
    for metric, bounds in thresholds.items():
        checks.extend(_value_checks(metric, bounds, candidate[metric]))
    for metric, rule in change_thresholds.items():
        checks.extend(_change_checks(metric, rule, candidate[metric], baseline))
    failed = [c for c in checks if c["passed"] is False]
    blessed = not failed
    if failed:
        reason = "; ".join(c["message"] for c in failed)
    elif baseline is None and change_thresholds:
        reason = "no baseline: blessed on value thresholds alone (the first model)"
    elif not checks:
        reason = "no thresholds: every candidate is blessed"
    else:
        reason = "every threshold holds"
    return {"blessed": blessed, "reason": reason, "checks": checks}


def _check_names(
    thresholds: dict[str, Any],
    change_thresholds: dict[str, Any],
    candidate: dict[str, float],
    baseline: dict[str, float] | None,
) -> None:
    for metric, bounds in thresholds.items():
        if not isinstance(bounds, dict) or not bounds or set(bounds) - VALUE_KEYS:
            raise ComponentError(
                f'thresholds[{metric!r}] must be like {{"min": 0.8}} or {{"max": 0.5}}, '
                f"not {bounds!r}"
            )
    for metric, rule in change_thresholds.items():
        if not isinstance(rule, dict) or not (set(rule) - {"direction"}) or set(rule) - CHANGE_KEYS:
            raise ComponentError(
                f"change_thresholds[{metric!r}] must hold one or more of "
                f"{', '.join(sorted(CHANGE_KEYS - {'direction'}))} (and optionally direction), "
                f"not {rule!r}"
            )
        better(metric, rule.get("direction", ""))
    named = set(thresholds) | set(change_thresholds)
    missing = sorted(named - set(candidate))
    if missing:
        raise ComponentError(
            f"the thresholds name {', '.join(missing)}, which the candidate's evaluation does "
            f"not have; it has {', '.join(sorted(candidate))}"
        )
    if baseline is not None:
        absent = sorted(set(change_thresholds) - set(baseline))
        if absent:
            raise ComponentError(
                f"the change thresholds name {', '.join(absent)}, which the baseline's metrics "
                f"do not have; they have {', '.join(sorted(baseline))}"
            )


def _value_checks(metric: str, bounds: dict[str, Any], value: float) -> list[dict[str, Any]]:
    checks = []
    if "min" in bounds:
        passed = value >= bounds["min"] - EPSILON
        word = "at least" if passed else "below"
        checks.append(
            _check(metric, "value", passed, value, None, {"min": bounds["min"]},
                   f"{metric} {value:.4g} is {word} the minimum {bounds['min']:g}")
        )  # fmt: skip
    if "max" in bounds:
        passed = value <= bounds["max"] + EPSILON
        word = "at most" if passed else "above"
        checks.append(
            _check(metric, "value", passed, value, None, {"max": bounds["max"]},
                   f"{metric} {value:.4g} is {word} the maximum {bounds['max']:g}")
        )  # fmt: skip
    return checks


def _change_checks(
    metric: str, rule: dict[str, Any], value: float, baseline: dict[str, float] | None
) -> list[dict[str, Any]]:
    rules = {k: v for k, v in rule.items() if k != "direction"}
    if baseline is None:
        return [
            _check(metric, "change", None, value, None, rules,
                   f"{metric}: no baseline to compare with; change thresholds skipped")
        ]  # fmt: skip
    before = baseline[metric]
    sign = 1.0 if better(metric, rule.get("direction", "")) == "higher" else -1.0
    gain = sign * (value - before)  # > 0: the candidate is better
    relative = gain / abs(before) if before else (0.0 if gain == 0 else float("inf") * gain)
    checks = []
    for key, limit in rules.items():
        if key == "tolerance":
            passed, needed = gain >= -limit - EPSILON, f"may be worse by {limit:g} at most"
        elif key == "min_improvement":
            passed, needed = gain >= limit - EPSILON, f"must be better by {limit:g} at least"
        elif key == "relative_tolerance":
            passed, needed = relative >= -limit - EPSILON, f"may be worse by {limit:.1%} at most"
        else:
            passed, needed = relative >= limit - EPSILON, f"must be better by {limit:.1%} at least"
        change = "better" if gain > 0 else "worse" if gain < 0 else "no different"
        message = (
            f"{metric} {value:.4g} against the baseline's {before:.4g} is {change}"
            + (f" by {abs(value - before):.4g}" if gain else "")
            + f"; it {needed}"
        )
        checks.append(_check(metric, "change", passed, value, before, {key: limit}, message))
    return checks


def _check(
    metric: str,
    kind: str,
    passed: bool | None,
    candidate: float,
    baseline: float | None,
    threshold: dict[str, Any],
    message: str,
) -> dict[str, Any]:
    return {
        "metric": metric,
        "kind": kind,
        "passed": passed,
        "candidate": candidate,
        "baseline": baseline,
        "threshold": threshold,
        "message": message,
    }


def validate(
    evaluation: dict[str, Any],
    thresholds: dict[str, Any] | None,
    change_thresholds: dict[str, Any] | None,
    *,
    baseline_model_path: str | None = None,
    baseline_model_uri: str | None = None,
    test_data_path: str | None = None,
    baseline_evaluation_path: str | None = None,
) -> dict[str, Any]:
    """The blessing document for a candidate's evaluation, finding the baseline's metrics:
    a baseline model evaluated on the test data, or a baseline evaluation document."""
    from pathlib import Path

    from conveyor.components._lib import files, models
    from conveyor.components._lib.metrics import evaluate

    baseline: dict[str, Any] | None = None
    if baseline_model_path is not None and models.exists(baseline_model_path):
        if test_data_path is None:
            raise ComponentError(
                "baseline_model needs test_data: the candidate's evaluation data, on which "
                "the baseline is evaluated as the candidate was"
            )
        loaded = models.load(baseline_model_path, "baseline model")
        frame = files.read_table(test_data_path)
        positive = evaluation.get("positive_class")
        measured = evaluate(
            loaded, frame, evaluation["label"], "" if positive is None else str(positive)
        )
        baseline = {"uri": baseline_model_uri, "source": "model", "metrics": measured["metrics"]}
    elif baseline_evaluation_path is not None and _has_content(Path(baseline_evaluation_path)):
        document = files.read_json(baseline_evaluation_path, "baseline evaluation")
        baseline = {"uri": None, "source": "evaluation", "metrics": document["metrics"]}
    result = bless(
        evaluation["metrics"],
        thresholds,
        change_thresholds,
        baseline["metrics"] if baseline else None,
    )
    return {
        "blessed": result["blessed"],
        "reason": result["reason"],
        "candidate": {"metrics": evaluation["metrics"]},
        "baseline": baseline,
        "checks": result["checks"],
    }


def _has_content(path: Any) -> bool:
    if path.is_dir():
        return any(path.glob("*.json"))
    return path.is_file() and path.stat().st_size > 0
