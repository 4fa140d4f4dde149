"""Promotion gates: what a candidate version must pass to enter an environment, with figures.

The target environment declares them (`[env.NAME.gates]` of `conveyor.toml`,
`conveyor.environments.Gates`):

- `min_metrics`: each metric, from the candidate's evaluations over all data (the latest
  that has it), at least the value given (at most, for a loss or an error:
  `LOWER_IS_BETTER`);
- `max_regression`: each metric no worse than the target's `production` version's by more
  than the tolerance (worse: lower, or higher for a loss or an error). When production's
  evaluation names its data (a string metric `dataset`), the candidate's evaluation on the
  same data is compared;
- `approval`: a person approved this candidate in the target (`record_approval`), the
  candidate named by its environment, model, version and sha256.

A gate naming a metric that no evaluation of the candidate has is a configuration error
(`GateError`), raised before anything moves; a gate that fails is a verdict with figures.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.registry import HistoryAction, ModelNotFound, VersionNotFound
from conveyor.store.metadata.records import to_json

if TYPE_CHECKING:
    from conveyor.environments import Gates
    from conveyor.registry import Evaluation, HistoryEntry, ModelVersion, Registry

PRODUCTION = "production"
"""The alias `max_regression` compares the candidate with."""
DATASET = "dataset"
"""The string metric an evaluation names its data by, for `max_regression`."""
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "mse", "rmse", "mape", "max_error"})
"""The metrics where less is better, as the `validate_model` component judges them."""


class GateError(AutomationUsageError):
    """A gate cannot be judged as declared: it names a metric the candidate's evaluations
    do not have."""


@dataclasses.dataclass(frozen=True)
class GateResult:
    """One gate's verdict: `min_metrics.roc_auc`, `max_regression.roc_auc`, `approval`."""

    name: str
    passed: bool
    detail: str
    """What was compared, with the figures."""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A version of the source environment, as the target's gates and history name it."""

    environment: str
    version: ModelVersion
    evaluations: Sequence[Evaluation]

    @property
    def key(self) -> dict[str, Any]:
        """What identifies it in the target's history: environment, model, version, sha256."""
        v = self.version
        return {
            "environment": self.environment,
            "model": v.model,
            "version": v.version_id,
            "sha256": v.sha256,
        }

    @property
    def label(self) -> str:
        return f"{self.environment} {self.version.reference}"


def judge(
    gates: Gates | None, candidate: Candidate, target: Registry, target_env: str
) -> list[GateResult]:
    """Every gate's verdict on `candidate` for the registry `target` of `target_env`."""
    if gates is None:
        return []
    results = [
        _at_least(name, minimum, candidate) for name, minimum in sorted(gates.min_metrics.items())
    ]
    if gates.max_regression:
        production = _production(target, candidate.version.model)
        for name, tolerance in sorted(gates.max_regression.items()):
            results.append(_regression(name, tolerance, candidate, production, target))
    if gates.approval:
        results.append(_approval(candidate, target, target_env))
    return results


def approvals(target: Registry, candidate: Candidate) -> list[HistoryEntry]:
    """The approvals of `candidate` recorded in the target's history, oldest first."""
    try:
        entries = target.history(candidate.version.model)
    except ModelNotFound:
        return []
    return [
        e
        for e in entries
        if e.action == HistoryAction.PROMOTION_APPROVED
        and {k: e.details.get(k) for k in candidate.key} == candidate.key
    ]


def _at_least(name: str, minimum: float, candidate: Candidate) -> GateResult:
    value = _value(candidate.evaluations, name, candidate.label)
    if name in LOWER_IS_BETTER:  # a ceiling for a loss or an error
        passed, verdict = value <= minimum, "<=" if value <= minimum else ">"
    else:
        passed, verdict = value >= minimum, ">=" if value >= minimum else "<"
    return GateResult(
        f"min_metrics.{name}", passed, f"{name} {_figure(value)} {verdict} {_figure(minimum)}"
    )


def _production(target: Registry, model: str) -> ModelVersion | None:
    try:
        return target.get_version(model, PRODUCTION)
    except (ModelNotFound, VersionNotFound):
        return None


def _regression(
    name: str,
    tolerance: float,
    candidate: Candidate,
    production: ModelVersion | None,
    target: Registry,
) -> GateResult:
    gate = f"max_regression.{name}"
    _value(candidate.evaluations, name, candidate.label)  # the metric must exist
    if production is None:
        return GateResult(gate, True, "no production version yet")
    theirs = _latest(target.list_evaluations(production.model, production.version_id), name)
    if theirs is None:
        return GateResult(
            gate, False, f"production {production.reference} has no evaluation with {name}"
        )
    dataset = theirs.metrics.get(DATASET)
    if not isinstance(dataset, str):
        dataset = None
    ours = _latest(candidate.evaluations, name, dataset)
    on = f" on dataset {dataset}" if dataset else ""
    if ours is None:
        return GateResult(gate, False, f"the candidate has no evaluation with {name}{on}")
    mine, best = _number(ours, name, candidate.label), _number(theirs, name, production.reference)
    lower = name in LOWER_IS_BETTER
    passed = mine <= best + tolerance if lower else mine >= best - tolerance
    return GateResult(
        gate,
        passed,
        f"{name} {_figure(mine)} vs production {production.reference} {_figure(best)}"
        f"{on}: {'within' if passed else 'worse than'} tolerance {_figure(tolerance)}",
    )


def _approval(candidate: Candidate, target: Registry, target_env: str) -> GateResult:
    found = approvals(target, candidate)
    if not found:
        v = candidate.version
        return GateResult(
            "approval",
            False,
            f"no approval of {candidate.label} (sha256 {v.sha256[:12]}); record one with "
            f"`conveyor models approve {v.reference} --from {candidate.environment} --to {target_env} "
            '--reason "..."`',
        )
    last = found[-1]
    when = last.created_at.strftime("%Y-%m-%d %H:%M:%S")
    return GateResult("approval", True, f"approved by {last.actor} at {when} UTC: {last.comment}")


def _value(evaluations: Sequence[Evaluation], name: str, whose: str) -> float:
    found = _latest(evaluations, name)
    if found is None:
        raise GateError(
            f"gate metric {name!r}: no evaluation of {whose} over all data has it; add one "
            "(`Registry.add_evaluation`) or change the target's gates in conveyor.toml"
        )
    return _number(found, name, whose)


def _latest(
    evaluations: Sequence[Evaluation], name: str, dataset: str | None = None
) -> Evaluation | None:
    """The latest evaluation over all data that has `name` (on `dataset`, when given)."""
    for e in reversed(evaluations):
        mine = dataset is None or e.metrics.get(DATASET) == dataset
        if e.slice is None and name in e.metrics and mine:
            return e
    return None


def _number(evaluation: Evaluation, name: str, whose: str) -> float:
    value = evaluation.metrics[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GateError(
            f"gate metric {name!r}: evaluation #{evaluation.id} of {whose} holds {value!r}, "
            "not a number"
        )
    return float(value)


def _figure(value: float) -> str:
    return f"{value:.6g}"
