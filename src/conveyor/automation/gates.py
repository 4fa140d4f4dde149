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
  candidate named by its environment, model, version and sha256;
- `infra_validation`: in the SOURCE environment's store, an `infra_validate` task read the
  version's model artifact and blessed it (its `infra_blessing` output says `blessed`), the
  latest task that recorded a verdict deciding; a version promoted into the source brings
  the pass of this gate from that promotion (its `origin`);
- `monitoring`: in the SOURCE environment, a monitoring job over the version's traffic (a
  job whose model version is the candidate: its shadow or canary traffic) succeeded, and
  the latest such job of each monitor found no anomaly (skew, drift or performance) on
  data enough to judge.

These two read the source environment (`Candidate.source`): the evidence is where the
version was trained and served.

A gate naming a metric that no evaluation of the candidate has is a configuration error
(`GateError`), raised before anything moves; a gate that fails is a verdict with figures.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.monitoring.records import JobState
from conveyor.registry import HistoryAction, ModelNotFound, VersionNotFound
from conveyor.store.metadata.kinds import ArtifactState, Direction, ExecutionState
from conveyor.store.metadata.records import to_json

if TYPE_CHECKING:
    from conveyor.environments import Gates
    from conveyor.home import Home
    from conveyor.monitoring import ModelMonitor, ModelMonitoringJob, Monitors
    from conveyor.registry import Evaluation, HistoryEntry, ModelVersion, Registry
    from conveyor.store.metadata.records import ArtifactRecord, ExecutionRecord

PRODUCTION = "production"
"""The alias `max_regression` compares the candidate with."""
DATASET = "dataset"
"""The string metric an evaluation names its data by, for `max_regression`."""
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "mse", "rmse", "mape", "max_error"})
"""The metrics where less is better, as the `validate_model` component judges them."""
INFRA_BLESSING = "infra_blessing"
"""The output the `infra_validate` component records its verdict in (metadata `blessed`,
`reason`)."""
JOBS_READ = 10_000
"""The latest jobs of each monitor the `monitoring` gate reads (the most a query returns)."""


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
    source: Home
    """The source environment's home: its store and monitors hold the version's evidence."""

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
    if gates.infra_validation:
        results.append(_infra_validation(candidate))
    if gates.monitoring:
        results.append(_monitoring(candidate))
    return results


def record_approval(target: Registry, key: dict[str, Any], reason: str) -> HistoryEntry:
    """Record in the target's history that its registry's user approves the candidate `key`
    names (`Candidate.key`: environment, model, version, sha256), and why: what the
    `approval` gate looks for."""
    if not isinstance(reason, str) or not reason.strip():
        raise AutomationUsageError("reason: say why the version is approved (--reason TEXT)")
    return target.record_event(
        key["model"], HistoryAction.PROMOTION_APPROVED, comment=reason.strip(), details=key
    )


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


def _infra_validation(candidate: Candidate) -> GateResult:
    """The verdict of the latest `infra_validate` task that read the version's model
    artifact in the source store; else the one the version brought from where it came."""
    v, gate = candidate.version, "infra_validation"
    found = [] if v.artifact_id is None else _infra_blessings(candidate.source, v.artifact_id)
    if not found:
        carried = _carried(v, gate)
        if carried is not None:
            return carried
        none = "no infra_validate task recorded a verdict on"
        if v.run_id is None:
            why = (
                f"{candidate.label} has no run in {candidate.environment}, and {none} its "
                f"model (store artifact {v.artifact_id})"
            )
        else:
            why = (
                f"{none} the model of {candidate.label} (store artifact {v.artifact_id}, "
                f"run {v.run_id})"
            )
        return GateResult(
            gate,
            False,
            f"no infra validation: {why}; validate it in the pipeline that trains it",
        )
    execution, blessing = found[-1]
    by = f"{execution.task_key} (execution {execution.id}, run {execution.run_id})"
    reason = blessing.metadata.get("reason") or "no reason recorded"
    if blessing.metadata.get("blessed") is not True:
        return GateResult(gate, False, f"not blessed: {reason}, by {by}")
    return GateResult(gate, True, f"blessed by {by}: {reason}")


def _infra_blessings(source: Home, artifact: int) -> list[tuple[ExecutionRecord, ArtifactRecord]]:
    """The executions that read `artifact` and completed with an `infra_blessing` output
    (what `infra_validate` writes), oldest first, each with that output."""
    graph = source.store.lineage(artifact, depth=1)
    found = []
    for read in graph.edges_from(Direction.DOWNSTREAM, artifact, artifact=True):
        execution = graph.executions[read.execution_id]
        if execution.state not in (ExecutionState.COMPLETE, ExecutionState.CACHED):
            continue
        for wrote in graph.edges_from(Direction.DOWNSTREAM, execution.id, artifact=False):
            blessing = graph.artifacts[wrote.artifact_id]
            if wrote.name == INFRA_BLESSING and blessing.state == ArtifactState.LIVE:
                found.append((execution, blessing))
    return sorted(found, key=lambda pair: pair[0].id)


def _carried(version: ModelVersion, gate: str) -> GateResult | None:
    """The gate's pass that a version promoted from elsewhere brought in its origin."""
    origin = version.origin or {}
    for g in origin.get("gates", []):
        if g.get("name") == gate and g.get("passed") is True:
            where = f"{origin.get('environment')} {origin.get('model')}@{origin.get('version')}"
            return GateResult(gate, True, f"passed on promotion from {where}: {g.get('detail')}")
    return None


def _monitoring(candidate: Candidate) -> GateResult:
    """Per monitor of the model in the source, its latest SUCCEEDED job over the candidate:
    one at least, none finding an anomaly (or lacking the data to find one)."""
    v, gate = candidate.version, "monitoring"
    monitors = candidate.source.monitors
    latest: list[tuple[ModelMonitor, ModelMonitoringJob]] = []
    other: list[ModelMonitoringJob] = []  # over the candidate, not SUCCEEDED
    for monitor in monitors.list():
        if monitor.model != v.model:
            continue
        over = [
            job
            for job in monitors.jobs(monitor.name, limit=JOBS_READ)  # newest first
            if job.model == v.model and job.model_version_id == v.version_id
        ]
        passed = [job for job in over if job.state == JobState.SUCCEEDED]
        if passed:
            latest.append((monitor, passed[0]))
        other.extend(job for job in over if job.state != JobState.SUCCEEDED)
    if not latest:
        tried = max(other, key=lambda job: job.id, default=None)
        last = (
            f" (the latest, job {tried.id} of monitor {tried.monitor}, {tried.state.name}: "
            f"{tried.error or 'no error recorded'})"
            if tried is not None
            else ""
        )
        return GateResult(
            gate,
            False,
            f"no monitoring job over {candidate.label}'s traffic succeeded{last}; run one "
            f"there (`conveyor --env {candidate.environment} monitors create NAME "
            f"{v.reference}`, then `monitors run NAME`)",
        )
    verdicts = [_job_verdict(monitors, monitor, job) for monitor, job in latest]
    failed = [detail for passed, detail in verdicts if not passed]
    if failed:
        return GateResult(gate, False, "; ".join(failed))
    return GateResult(gate, True, "; ".join(detail for _, detail in verdicts))


def _job_verdict(
    monitors: Monitors, monitor: ModelMonitor, job: ModelMonitoringJob
) -> tuple[bool, str]:
    """Whether `job` found no anomaly on data enough to judge, and what it found."""
    metrics = monitors.job_metrics(job.id)
    what = f"job {job.id} of monitor {monitor.name}"
    if job.window_start is not None and job.window_end is not None:
        what += f" ({_moment(job.window_start)} to {_moment(job.window_end)} UTC)"
    anomalies = [m for m in metrics if m.anomaly]
    if anomalies:
        found = ", ".join(
            f"{m.objective.value} of {m.feature} {_figure(m.value)} "
            f"(threshold {_figure(m.threshold)})"
            if m.value is not None and m.threshold is not None
            else f"{m.objective.value} of {m.feature}"
            for m in anomalies
        )
        return False, f"{what} found anomalies: {found}"
    if not any(m.value is not None for m in metrics):
        return False, f"{what} had too few rows to judge (insufficient data on every field)"
    return True, f"{what}: no anomaly in {len(metrics)} metrics"


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


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
