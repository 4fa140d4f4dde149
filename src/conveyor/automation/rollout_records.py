"""What the rollouts API returns, and what a rollout is judged by: plain frozen dataclasses.

A rollout moves an endpoint's traffic from its stable deployed model to a candidate
version (Flagger's canary, Argo Rollouts' canary steps). `Criteria` are the thresholds of
one analysis; `Analysis` is the verdict of one window; `Rollout` is the whole state, as
the store keeps it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.store.metadata.records import to_json


class Strategy(StrEnum):
    CANARY = "canary"
    """Traffic moves to the candidate through the steps' percentages."""
    SHADOW = "shadow"
    """The candidate gets a mirror of the stable model's traffic; its answers are logged
    and compared, never returned."""


class RolloutState(StrEnum):
    PROGRESSING = "progressing"
    PAUSED = "paused"
    PROMOTED = "promoted"
    """Done: the candidate's version serves all the traffic and the alias (if any) names
    it (`Rollouts` says through which deployment)."""
    ROLLED_BACK = "rolled_back"
    """Done: the analysis failed `failure_limit` times; traffic is back on the stable
    model and the candidate is undeployed."""
    ABORTED = "aborted"
    """Done: stopped by a person; traffic back on the stable model, candidate undeployed."""


ACTIVE = (RolloutState.PROGRESSING, RolloutState.PAUSED)


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    """Too few requests reached the candidate in the window to judge it: the window goes
    on (it is not a failure)."""


@dataclasses.dataclass(frozen=True)
class Criteria:
    """The thresholds one analysis window is judged by; None: not checked.

    `max_error_rate` is a fraction (0.01 for 1 %) of the candidate's requests answered with
    a server error (5xx); `max_p99_ms` bounds its 99th percentile latency; a window with
    fewer than `min_requests` requests to the candidate is inconclusive. For a shadow,
    `min_agreement` is the fraction of instances the candidate predicts as the stable
    model does, and `max_mean_absolute_error` bounds their mean absolute difference where
    both are numbers (regression).
    """

    max_error_rate: float | None = 0.01
    max_p99_ms: float | None = None
    min_requests: int = 20
    min_agreement: float | None = None
    max_mean_absolute_error: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Criteria:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})

    @classmethod
    def of(cls, given: Mapping[str, Any]) -> Criteria:
        """Criteria named by field; an unknown name is a usage error naming it."""
        fields = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(given) - fields):
            raise AutomationUsageError(
                f"unknown rollout criteria {', '.join(unknown)}; the criteria are "
                f"{', '.join(sorted(fields))}"
            )
        return cls(**given)


@dataclasses.dataclass(frozen=True)
class Check:
    """One criterion of an analysis: the figure measured, its threshold, and whether it
    held (`figure` None: nothing measured, e.g. no numeric predictions)."""

    name: str
    figure: float | None
    threshold: float
    passed: bool


@dataclasses.dataclass(frozen=True)
class Analysis:
    """The verdict of one window at one step: its checks, the candidate's and the stable
    model's figures (requests, error rate, p99 in ms; for a shadow, agreement)."""

    step: int
    weight: int
    verdict: Verdict
    started_at: datetime
    ended_at: datetime
    checks: tuple[Check, ...]
    candidate: dict[str, Any]
    stable: dict[str, Any]
    message: str

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class Rollout:
    """A rollout on `endpoint` of `model` version `candidate_version`.

    `weight` is the candidate's share of the traffic now (a shadow has none); `step` its
    position in `steps` (0-based). `analyses` holds the verdicts, oldest first (the latest
    `MAX_ANALYSES`). `leased_by` names the server process analysing it, while its lease
    holds.
    """

    id: int
    endpoint: str
    strategy: Strategy
    state: RolloutState
    model: str
    candidate_version: int
    alias: str | None
    stable_deployed_model_id: str | None
    candidate_deployed_model_id: str | None
    steps: list[int]
    step: int
    interval_seconds: float
    criteria: Criteria
    failure_limit: int
    failures: int
    message: str | None
    window_started_at: datetime
    analyses: list[dict[str, Any]]
    leased_by: str | None
    lease_expires: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def weight(self) -> int:
        if self.strategy is Strategy.SHADOW:
            return 100 if self.state is RolloutState.PROMOTED else 0
        if self.state is RolloutState.PROMOTED:
            return 100
        if self.state in (RolloutState.ROLLED_BACK, RolloutState.ABORTED):
            return 0
        return self.steps[self.step]

    @property
    def candidate(self) -> str:
        return f"{self.model}@{self.candidate_version}"

    def to_json(self) -> dict[str, Any]:
        data = to_json(self)
        data["weight"] = self.weight
        data["criteria"] = self.criteria.to_json()
        return data
