"""One analysis of a rollout: the server's counters over a window, judged by the criteria.

The figures are the server's own (`conveyor.serving.totals`): the candidate's requests,
its server errors (5xx) as a share of them, its 99th percentile latency (interpolated in
the latency histogram's buckets, as Prometheus' `histogram_quantile` does), and for a
shadow the share of instances it predicted as the stable model did and the mean absolute
difference of numeric predictions. The stable model's figures over the same window are
kept beside them, to compare, not judged. A window with fewer than `min_requests`
requests to the candidate is inconclusive: the analysis waits for more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conveyor.automation.rollout_records import Analysis, Check, Criteria, Strategy, Verdict
from conveyor.serving.totals import DeployedTotals

P99 = 0.99


def judge(
    strategy: Strategy,
    criteria: Criteria,
    candidate: DeployedTotals,
    stable: DeployedTotals | None,
    *,
    step: int,
    weight: int,
    started_at: datetime,
    ended_at: datetime,
) -> Analysis:
    """The verdict of the window from `started_at` to `ended_at`, whose counts (the
    totals at its end minus those at its start) are `candidate` and `stable`."""
    figures = _figures(candidate)
    if candidate.requests < criteria.min_requests:
        return Analysis(
            step, weight, Verdict.INCONCLUSIVE, started_at, ended_at, (), figures,
            _figures(stable), f"waiting for requests: the candidate answered "
            f"{candidate.requests} of the {criteria.min_requests} an analysis needs",
        )  # fmt: skip
    checks = [
        _at_most("error_rate", candidate.error_rate, criteria.max_error_rate),
        _at_most("p99_ms", figures["p99_ms"], criteria.max_p99_ms),
    ]
    if strategy is Strategy.SHADOW:
        checks.append(_at_least("agreement", candidate.agreement, criteria.min_agreement))
        checks.append(
            _at_most(
                "mean_absolute_error",
                candidate.mean_absolute_error,
                criteria.max_mean_absolute_error,
            )
        )
    kept = tuple(c for c in checks if c is not None)
    failed = [c for c in kept if not c.passed]
    verdict = Verdict.FAILED if failed else Verdict.PASSED
    if failed:
        message = "failed: " + "; ".join(_shown(c) for c in failed)
    else:
        message = "passed: " + ("; ".join(_shown(c) for c in kept) or "no criteria")
    return Analysis(
        step, weight, verdict, started_at, ended_at, kept, figures, _figures(stable), message
    )


def _figures(totals: DeployedTotals | None) -> dict[str, Any]:
    if totals is None:
        return {}
    p99 = totals.quantile(P99)
    found: dict[str, Any] = {
        "requests": totals.requests,
        "errors": totals.errors,
        "error_rate": totals.error_rate,
        "p99_ms": None if p99 is None else round(p99 * 1000, 3),
    }
    if totals.agreement is not None:
        found["agreement"] = totals.agreement
    if totals.mean_absolute_error is not None:
        found["mean_absolute_error"] = totals.mean_absolute_error
    return found


def _at_most(name: str, figure: float | None, threshold: float | None) -> Check | None:
    if threshold is None:
        return None
    return Check(name, figure, threshold, figure is not None and figure <= threshold)


def _at_least(name: str, figure: float | None, threshold: float | None) -> Check | None:
    if threshold is None:
        return None
    return Check(name, figure, threshold, figure is not None and figure >= threshold)


def _shown(check: Check) -> str:
    sign = ">=" if check.name == "agreement" else "<="
    figure = "nothing measured" if check.figure is None else f"{check.figure:.4g}"
    return f"{check.name} {figure} (must be {sign} {check.threshold:g})"
