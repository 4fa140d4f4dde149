"""`Rollouts`: progressive delivery of a model version to an endpoint, with automatic rollback.

    rollouts = Rollouts(home.store, home.registry, home.endpoints)
    rollouts.start("churn-prod", "churn@4", steps=[10, 25, 50, 100], interval_seconds=300,
                   criteria=Criteria(max_error_rate=0.01, max_p99_ms=50), failure_limit=2)
    rollouts.pause("churn-prod"); rollouts.resume("churn-prod"); rollouts.abort("churn-prod")

Semantics of Flagger and Argo Rollouts. A **canary** deploys the candidate beside the
endpoint's stable deployed model with the first step's share of the traffic; every
`interval_seconds` the server that serves the endpoint judges the window that ended
(`rollout_analysis`): passed, the traffic moves to the next step; failed, it counts one
failure and judges a new window at the same step; at `failure_limit` failures, the
rollout **rolls back** (all traffic to the stable model, the candidate undeployed, the
alias where it was). Passing the last step (100 %) **promotes**: the alias moves to the
candidate's version, which serves all the traffic (through the stable deployment when it
follows that alias, else through the candidate's, the other one undeployed). A
**shadow** deploys the candidate as a shadow of the stable model (it answers a copy of
every request, logged and compared, never returned) and promotes after one window passes.

The state lives in the store, so a restarted server resumes a rollout at its step (a new
window opens). The analysis runs in the server (`RolloutController`); these methods are
what the faces call, in any process. Every start and end is in the model's history.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.exc import IntegrityError

from conveyor.automation import _rollout_rows as rows
from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.rollout_analysis import judge
from conveyor.automation.rollout_records import (
    ACTIVE,
    Analysis,
    Criteria,
    Rollout,
    RolloutState,
    Strategy,
    Verdict,
)
from conveyor.registry import Registry, parse_reference
from conveyor.registry.history import current_user
from conveyor.registry.names import check_alias
from conveyor.registry.records import HistoryAction
from conveyor.serving.endpoints import Endpoints, check_endpoint_name
from conveyor.serving.errors import DeployedModelNotFound, EndpointNotFound
from conveyor.serving.records import Endpoint
from conveyor.serving.totals import DeployedTotals
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.recording import now

Totals = Callable[[], dict[str, DeployedTotals]]
"""Reads the server's counters of an endpoint's deployed models, by deployed model id."""
MAX_ANALYSES = 200
"""The analyses a rollout keeps (the latest)."""
STARTING_SECONDS = 300.0
"""How long a rollout may wait for `start` to deploy its candidate: past it, the process
that started it is taken for dead and the rollout is aborted."""
CONTROLLER = "conveyor-rollouts"
"""Who the history names for what the analysis decided (a rollback, a promotion)."""

_ENDED = {
    RolloutState.PROMOTED: HistoryAction.ROLLOUT_PROMOTED,
    RolloutState.ROLLED_BACK: HistoryAction.ROLLOUT_ROLLED_BACK,
    RolloutState.ABORTED: HistoryAction.ROLLOUT_ABORTED,
}


class RolloutNotFound(AutomationUsageError):
    """No rollout of that id, or no unfinished rollout on that endpoint."""

    http_status = 404


class Rollouts:
    """Rollouts on the endpoints of one store; `user` names who starts and stops them."""

    def __init__(
        self,
        store: MetadataStore,
        registry: Registry,
        endpoints: Endpoints,
        *,
        user: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.endpoints = endpoints
        self.user = user or registry.user

    def acting_as(self, user: str) -> Rollouts:
        return Rollouts(
            self.store,
            self.registry.acting_as(user),
            self.endpoints.acting_as(user),
            user=user,
        )

    # Reading

    def get(self, rollout_id: int, *, endpoint: str | None = None) -> Rollout:
        """Rollout `rollout_id` (of `endpoint`, when given: another's is not found)."""
        with self.store.transaction() as conn:
            row = rows.get(conn, rollout_id)
        if row is None or endpoint not in (None, row.endpoint):
            where = f" on endpoint {endpoint!r}" if endpoint else ""
            raise RolloutNotFound(f"no rollout {rollout_id}{where}")
        return _record(row)

    def current(self, endpoint: str) -> Rollout | None:
        """The endpoint's unfinished rollout, if any."""
        endpoint_id = self._endpoint_id(endpoint)
        with self.store.transaction() as conn:
            row = rows.active_of(conn, endpoint_id)
        return None if row is None else _record(row)

    def list(self, endpoint: str, *, limit: int | None = 20) -> list[Rollout]:
        """The endpoint's rollouts, newest first."""
        endpoint_id = self._endpoint_id(endpoint)
        with self.store.transaction() as conn:
            return [_record(r) for r in rows.of_endpoint(conn, endpoint_id, limit)]

    def active(self) -> list[Rollout]:
        """Every unfinished rollout, on every endpoint."""
        with self.store.transaction() as conn:
            return [_record(r) for r in rows.active(conn)]

    def latest(self) -> list[Rollout]:
        """Each endpoint's newest rollout (for the server's metrics)."""
        with self.store.transaction() as conn:
            return [_record(r) for r in rows.latest_per_endpoint(conn)]

    # Starting and stopping

    def start(
        self,
        endpoint: str,
        model: str,
        *,
        strategy: Strategy | str = Strategy.CANARY,
        steps: Sequence[int] | None = None,
        interval_seconds: float = 300.0,
        criteria: Criteria | None = None,
        failure_limit: int = 2,
        alias: str | None = None,
    ) -> Rollout:
        """Deploy `model` (`churn@4`, or an alias, resolved now and pinned) to `endpoint`
        beside its stable deployed model, and start moving traffic to it.

        Refused before anything moves: an endpoint with an unfinished rollout, without
        exactly one deployed model taking all the traffic, or already serving that
        version; steps that do not rise to 100; bad criteria. `alias` moves to the
        candidate at promotion (default: the alias the stable deployment follows)."""
        strategy = _strategy(strategy)
        steps = _steps(strategy, steps)
        interval_seconds = _positive("interval", interval_seconds)
        criteria = _criteria(criteria or Criteria())
        failure_limit = _failure_limit(failure_limit)
        found = self.endpoints.get(check_endpoint_name(endpoint))
        if self.current(endpoint) is not None:
            raise self._busy(endpoint)
        stable = _stable(found)
        ref = parse_reference(model)
        candidate = self.registry.get_version(ref.model, ref.version or ref.alias)
        if (stable.model, stable.version_id) == (candidate.model, candidate.version_id):
            raise AutomationConflict(
                f"endpoint {endpoint!r} already serves {candidate.reference} (deployed model "
                f"{stable.id}); nothing to roll out"
            )
        if alias is None and stable.alias is not None and stable.model == candidate.model:
            alias = stable.alias
        elif alias is not None:
            check_alias(alias)  # refused now, not when the rollout is promoted
        endpoint_id = self._endpoint_id(endpoint)
        try:
            with self.store.transaction(write=True) as conn:
                rollout_id = rows.insert(
                    conn,
                    {
                        "endpoint_id": endpoint_id,
                        "strategy": strategy.value,
                        "model_name": candidate.model,
                        "candidate_version": candidate.version_id,
                        "alias": alias,
                        "stable_deployed_id": int(stable.id),
                        "steps": steps,
                        "interval_seconds": interval_seconds,
                        "criteria": criteria.to_json(),
                        "failure_limit": failure_limit,
                        "state": RolloutState.PROGRESSING.value,
                        "message": "starting",
                        "created_by": self._actor(),
                    },
                )
        except IntegrityError:
            raise self._busy(endpoint) from None
        try:
            reference = f"{candidate.model}@{candidate.version_id}"
            if strategy is Strategy.SHADOW:
                deployed = self.endpoints.deploy(endpoint, reference, shadow_of=stable.id)
            else:
                deployed = self.endpoints.deploy(endpoint, reference, traffic_percentage=steps[0])
        except BaseException:
            with self.store.transaction(write=True) as conn:
                rows.delete(conn, rollout_id)
            raise
        with self.store.transaction(write=True) as conn:
            rows.change(
                conn,
                rollout_id,
                candidate_deployed_id=int(deployed.id),
                message=f"step 1 of {len(steps)}: waiting for the first analysis",
            )
        started = self.get(rollout_id)
        self._history(started, HistoryAction.ROLLOUT_STARTED, None, self._actor())
        return started

    def pause(self, endpoint: str) -> Rollout:
        """Stop judging the endpoint's rollout; the traffic stays where it is."""
        rollout = self._current(endpoint)
        return self._switch(rollout, RolloutState.PROGRESSING, RolloutState.PAUSED, "paused")

    def resume(self, endpoint: str) -> Rollout:
        """Judge the paused rollout again, from a new window at its step."""
        rollout = self._current(endpoint)
        return self._switch(rollout, RolloutState.PAUSED, RolloutState.PROGRESSING, "resumed")

    def abort(self, endpoint: str, *, reason: str | None = None) -> Rollout:
        """Stop the endpoint's rollout: all traffic back to the stable model, the candidate
        undeployed, the alias left where it is."""
        rollout = self._current(endpoint)
        why = reason or f"aborted by {self._actor()}"
        if not self._finish(rollout, RolloutState.ABORTED, why, owner=None):
            raise AutomationConflict(
                f"rollout {rollout.id} on {endpoint!r} ended meanwhile ({self.get(rollout.id).state})"
            )
        self._undo(rollout)
        aborted = self.get(rollout.id)
        self._history(aborted, HistoryAction.ROLLOUT_ABORTED, why, self._actor())
        return aborted

    # What the controller does (in the server)

    def claim(self, rollout_id: int, owner: str, seconds: float) -> bool:
        """Take or renew the lease of an unfinished rollout for `seconds`."""
        until = now() + timedelta(seconds=seconds)
        with self.store.transaction(write=True) as conn:
            return rows.claim(conn, rollout_id, owner, until)

    def release(self, rollout_id: int, owner: str) -> None:
        with self.store.transaction(write=True) as conn:
            rows.release(conn, rollout_id, owner)

    def advance(self, rollout: Rollout, totals: Totals, owner: str) -> Analysis | None:
        """One look at a rollout this process leases: open a window if none is open, or
        judge the window once it is `interval` long and act on the verdict, reading the
        server's counters (`totals()`) only then. The analysis made, if any."""
        if rollout.state is not RolloutState.PROGRESSING or rollout.leased_by != owner:
            return None
        if rollout.candidate_deployed_model_id is None:  # `start` is deploying it
            if (now() - rollout.created_at).total_seconds() < STARTING_SECONDS:
                return None
            why = "the candidate was never deployed (the process starting the rollout stopped)"
            self._end(rollout, RolloutState.ABORTED, why, owner)
            return None
        endpoint = self.endpoints.get(rollout.endpoint)
        missing = [
            what
            for what, deployed_id in (
                ("candidate", rollout.candidate_deployed_model_id),
                ("stable model", rollout.stable_deployed_model_id),
            )
            if deployed_id is None or endpoint.deployed_model(deployed_id) is None
        ]
        if missing:
            why = f"the {' and the '.join(missing)} was undeployed by hand"
            self._end(rollout, RolloutState.ABORTED, why, owner)
            return None
        window = self._window(rollout.id)
        if not window:
            self._open_window(rollout, totals(), owner)
            return None
        ended = now()
        if (ended - rollout.window_started_at).total_seconds() < rollout.interval_seconds:
            return None
        counts = totals()
        analysis = self._judge(rollout, counts, window, ended)
        if analysis.verdict is Verdict.INCONCLUSIVE:
            self._note(rollout, analysis, owner)
        elif analysis.verdict is Verdict.PASSED:
            self._passed(rollout, analysis, counts, owner)
        else:
            self._failed(rollout, analysis, counts, owner)
        return analysis

    # Plumbing

    def _judge(
        self,
        rollout: Rollout,
        totals: dict[str, DeployedTotals],
        window: dict[str, Any],
        ended: Any,
    ) -> Analysis:
        def over_window(deployed_id: str | None) -> DeployedTotals | None:
            if deployed_id is None:
                return None
            later = totals.get(deployed_id, DeployedTotals())
            earlier = window.get(deployed_id)
            return later if earlier is None else later.minus(DeployedTotals.from_json(earlier))

        candidate = over_window(rollout.candidate_deployed_model_id) or DeployedTotals()
        return judge(
            rollout.strategy,
            rollout.criteria,
            candidate,
            over_window(rollout.stable_deployed_model_id),
            step=rollout.step,
            weight=rollout.weight,
            started_at=rollout.window_started_at,
            ended_at=ended,
        )

    def _passed(
        self,
        rollout: Rollout,
        analysis: Analysis,
        totals: dict[str, DeployedTotals],
        owner: str,
    ) -> None:
        last = rollout.step + 1 >= len(rollout.steps)
        if last:
            why = f"every step passed; the last {analysis.message}"
            self._end(rollout, RolloutState.PROMOTED, why, owner, analysis)
            return
        step = rollout.step + 1
        weight = rollout.steps[step]
        message = f"step {step + 1} of {len(rollout.steps)} at {weight}%: {analysis.message}"
        if self._move(rollout, owner, analysis, message, totals, step_index=step):
            assert rollout.stable_deployed_model_id and rollout.candidate_deployed_model_id
            self.endpoints.set_traffic(
                rollout.endpoint,
                {
                    **dict.fromkeys(self.endpoints.get(rollout.endpoint).traffic_split, 0),
                    rollout.stable_deployed_model_id: 100 - weight,
                    rollout.candidate_deployed_model_id: weight,
                },
            )

    def _failed(
        self,
        rollout: Rollout,
        analysis: Analysis,
        totals: dict[str, DeployedTotals],
        owner: str,
    ) -> None:
        failures = rollout.failures + 1
        if failures >= rollout.failure_limit:
            why = (
                f"rolled back after {failures} failed analyses (limit {rollout.failure_limit}): "
                f"{analysis.message}"
            )
            self._end(rollout, RolloutState.ROLLED_BACK, why, owner, analysis, failures)
            return
        message = (
            f"analysis failed ({failures} of {rollout.failure_limit} allowed): {analysis.message}"
        )
        self._move(rollout, owner, analysis, message, totals, failures=failures)

    def _note(self, rollout: Rollout, analysis: Analysis, owner: str) -> None:
        """Keep an inconclusive verdict's message; the window goes on."""
        with self.store.transaction(write=True) as conn:
            row = rows.get(conn, rollout.id)
            if row is not None and row.leased_by == owner:
                rows.change(conn, rollout.id, message=analysis.message)

    def _move(
        self,
        rollout: Rollout,
        owner: str,
        analysis: Analysis,
        message: str,
        totals: dict[str, DeployedTotals],
        **values: Any,
    ) -> bool:
        """Record a verdict and what it changes, and open the next window at `totals`, if
        the rollout is still as it was read and still this process's: False when someone
        paused, aborted or took it meanwhile."""
        with self.store.transaction(write=True) as conn:
            row = rows.get(conn, rollout.id)
            if not _unchanged(row, rollout, owner):
                return False
            rows.change(
                conn,
                rollout.id,
                analyses=_appended(row.analyses, analysis),
                message=message,
                **_window_at(rollout, totals),
                **values,
            )
            return True

    def _open_window(self, rollout: Rollout, totals: dict[str, DeployedTotals], owner: str) -> None:
        with self.store.transaction(write=True) as conn:
            if _unchanged(rows.get(conn, rollout.id), rollout, owner):
                rows.change(conn, rollout.id, **_window_at(rollout, totals))

    def _window(self, rollout_id: int) -> dict[str, Any]:
        with self.store.transaction() as conn:
            row = rows.get(conn, rollout_id)
        window = dict(row.window_start) if row is not None else {}
        return {k: v for k, v in window.items() if k != "open"} if window.get("open") else {}

    def _end(
        self,
        rollout: Rollout,
        state: RolloutState,
        why: str,
        owner: str,
        analysis: Analysis | None = None,
        failures: int | None = None,
    ) -> None:
        """End a rollout the controller holds: the traffic moves first, then the state is
        recorded, so that whoever reads the final state finds the traffic where it says."""
        with self.store.transaction() as conn:
            if not _unchanged(rows.get(conn, rollout.id), rollout, owner):
                return
        if state is RolloutState.PROMOTED:
            self._promote(rollout, why)
        else:
            self._undo(rollout)
        if self._finish(rollout, state, why, owner, analysis, failures):
            self._history(self.get(rollout.id), _ENDED[state], why, CONTROLLER)

    def _finish(
        self,
        rollout: Rollout,
        state: RolloutState,
        why: str,
        owner: str | None,
        analysis: Analysis | None = None,
        failures: int | None = None,
    ) -> bool:
        """End the rollout in `state`, if it is still unfinished (and, for the controller,
        still `owner`'s): False when someone else ended it first."""
        with self.store.transaction(write=True) as conn:
            row = rows.get(conn, rollout.id)
            if row is None or RolloutState(row.state) not in ACTIVE:
                return False
            if owner is not None and not _unchanged(row, rollout, owner):
                return False
            values: dict[str, Any] = {"state": state.value, "message": why}
            if analysis is not None:
                values["analyses"] = _appended(row.analyses, analysis)
            if failures is not None:
                values["failures"] = failures
            rows.change(conn, rollout.id, **values)
        return True

    def _promote(self, rollout: Rollout, why: str) -> None:
        """The candidate's version serves all the traffic and holds the alias. A stable
        deployment that follows that alias stays (as Flagger's primary takes the canary's
        spec): the alias moves, so it serves the new version, and the candidate goes; else
        the candidate stays and the stable deployment goes."""
        candidate = rollout.candidate_deployed_model_id
        assert candidate is not None
        endpoints = self.endpoints.acting_as(CONTROLLER)
        found = self.endpoints.get(rollout.endpoint)
        stable = found.deployed_model(rollout.stable_deployed_model_id or "")
        if rollout.alias is not None:
            self.registry.acting_as(CONTROLLER).set_alias(
                rollout.model,
                rollout.alias,
                rollout.candidate_version,
                comment=f"rollout {rollout.id} on {rollout.endpoint}: {why}",
            )
        if (
            stable is not None
            and rollout.alias is not None
            and (stable.model, stable.alias) == (rollout.model, rollout.alias)
        ):
            kept, gone = stable.id, candidate
        else:
            kept, gone = candidate, stable.id if stable is not None else None
            shadow = found.deployed_model(candidate)
            if shadow is not None and shadow.shadow_of is not None:
                endpoints.end_shadow(rollout.endpoint, candidate)
        split = self.endpoints.get(rollout.endpoint).traffic_split
        endpoints.set_traffic(rollout.endpoint, {**dict.fromkeys(split, 0), kept: 100})
        if gone is not None:
            with suppress(DeployedModelNotFound):  # undeployed by hand meanwhile
                endpoints.undeploy(rollout.endpoint, gone)

    def _undo(self, rollout: Rollout) -> None:
        """All traffic back to the stable model and the candidate undeployed; with the
        stable model gone, the candidate is left serving (never an endpoint serving
        nothing)."""
        endpoints = self.endpoints.acting_as(CONTROLLER)
        found = self.endpoints.get(rollout.endpoint)
        candidate, stable = rollout.candidate_deployed_model_id, rollout.stable_deployed_model_id
        if stable is not None and found.deployed_model(stable) is not None:
            endpoints.set_traffic(
                rollout.endpoint, {**dict.fromkeys(found.traffic_split, 0), stable: 100}
            )
        if stable is None or found.deployed_model(stable) is None:
            return
        if candidate is not None and self.endpoints.get(rollout.endpoint).deployed_model(candidate):
            current = self.endpoints.get(rollout.endpoint).traffic_split
            rest = {k: v for k, v in current.items() if k != candidate}
            endpoints.undeploy(rollout.endpoint, candidate, traffic_split=rest if rest else None)

    def _switch(self, rollout: Rollout, old: RolloutState, new: RolloutState, verb: str) -> Rollout:
        with self.store.transaction(write=True) as conn:
            row = rows.get(conn, rollout.id)
            if row is None or row.state != old.value:
                state = row.state if row is not None else "gone"
                raise AutomationConflict(
                    f"rollout {rollout.id} on {rollout.endpoint!r} is {state}, not {old.value}"
                )
            rows.change(
                conn,
                rollout.id,
                state=new.value,
                window_start={},
                message=f"{verb} by {self._actor()}",
            )
        return self.get(rollout.id)

    def _current(self, endpoint: str) -> Rollout:
        found = self.current(endpoint)
        if found is None:
            raise RolloutNotFound(
                f"endpoint {endpoint!r} has no rollout in progress; `conveyor endpoints "
                f"rollouts {endpoint}` lists its rollouts"
            )
        return found

    def _busy(self, endpoint: str) -> AutomationConflict:
        current = self.current(endpoint)
        shown = f"rollout {current.id} ({current.state})" if current else "a rollout"
        return AutomationConflict(
            f"endpoint {endpoint!r} already has {shown}; wait for it to end, or stop it with "
            f"`conveyor endpoints abort {endpoint}`"
        )

    def _endpoint_id(self, endpoint: str) -> int:
        check_endpoint_name(endpoint)
        with self.store.transaction() as conn:
            found = rows.endpoint_id(conn, endpoint)
        if found is None:
            raise EndpointNotFound(
                f"no endpoint {endpoint!r}; `conveyor endpoints list` shows the endpoints"
            )
        return found

    def _history(
        self, rollout: Rollout, action: HistoryAction, why: str | None, actor: str
    ) -> None:
        registry = self.registry if actor == self.registry.user else self.registry.acting_as(actor)
        last = rollout.analyses[-1] if rollout.analyses else None
        registry.record_event(
            rollout.model,
            action,
            version=rollout.candidate_version,
            comment=why,
            details={
                "rollout": rollout.id,
                "endpoint": rollout.endpoint,
                "strategy": rollout.strategy.value,
                "step": rollout.step,
                "steps": rollout.steps,
                "stable_deployed_model_id": rollout.stable_deployed_model_id,
                "candidate_deployed_model_id": rollout.candidate_deployed_model_id,
                "last_analysis": last,
            },
        )

    def _actor(self) -> str:
        return self.user or current_user()


def _record(row: Any) -> Rollout:
    return Rollout(
        id=row.id,
        endpoint=row.endpoint,
        strategy=Strategy(row.strategy),
        state=RolloutState(row.state),
        model=row.model_name,
        candidate_version=row.candidate_version,
        alias=row.alias,
        stable_deployed_model_id=_id(row.stable_deployed_id),
        candidate_deployed_model_id=_id(row.candidate_deployed_id),
        steps=list(row.steps),
        step=row.step_index,
        interval_seconds=row.interval_seconds,
        criteria=Criteria.from_json(row.criteria),
        failure_limit=row.failure_limit,
        failures=row.failures,
        message=row.message,
        window_started_at=row.window_started_at,
        analyses=list(row.analyses),
        leased_by=row.leased_by,
        lease_expires=row.lease_expires,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def _unchanged(row: Any, rollout: Rollout, owner: str) -> bool:
    """Whether the stored rollout is still at the step and state it was read at, and
    leased by `owner`."""
    return (
        row is not None
        and row.state == RolloutState.PROGRESSING.value
        and row.step_index == rollout.step
        and row.failures == rollout.failures
        and row.leased_by == owner
    )


def _window_at(rollout: Rollout, totals: dict[str, DeployedTotals]) -> dict[str, Any]:
    """The columns of a window opening now, at the counters `totals` of its models."""
    ids = [rollout.candidate_deployed_model_id, rollout.stable_deployed_model_id]
    start = {i: totals.get(i, DeployedTotals()).to_json() for i in ids if i is not None}
    return {"window_start": {"open": True, **start}, "window_started_at": now()}


def _appended(analyses: list[Any], analysis: Analysis) -> list[Any]:
    return [*analyses, analysis.to_json()][-MAX_ANALYSES:]


def _stable(endpoint: Endpoint) -> Any:
    serving = [d for d in endpoint.deployed_models if d.traffic_percentage > 0]
    if len(serving) != 1 or serving[0].traffic_percentage != 100:
        shown = ", ".join(f"{d.id}={d.traffic_percentage}%" for d in serving) or "none"
        raise AutomationConflict(
            f"a rollout starts from one deployed model taking all of endpoint "
            f"{endpoint.name!r}'s traffic (deployed models with traffic: {shown}); give it "
            "all the traffic first (`conveyor endpoints traffic`)"
        )
    return serving[0]


def _strategy(value: Strategy | str) -> Strategy:
    try:
        return Strategy(value)
    except ValueError:
        raise AutomationUsageError(
            f"strategy {value!r} is not one of: {', '.join(s.value for s in Strategy)}"
        ) from None


def _steps(strategy: Strategy, steps: Sequence[int] | None) -> list[int]:
    if strategy is Strategy.SHADOW:
        if steps:
            raise AutomationUsageError(
                "a shadow rollout takes no steps: the candidate gets a copy of the traffic, "
                "then all of it once an analysis passes"
            )
        return [100]
    if not steps:
        raise AutomationUsageError("a canary needs its steps, e.g. 10,25,50,100")
    found = list(steps)
    if any(isinstance(s, bool) or not isinstance(s, int) or not 0 < s <= 100 for s in found):
        raise AutomationUsageError(
            f"steps {found} must be whole percentages from 1 to 100, e.g. 10,25,50,100"
        )
    if any(b <= a for a, b in pairwise(found)):
        raise AutomationUsageError(f"steps {found} must rise, e.g. 10,25,50,100")
    if found[-1] != 100:
        raise AutomationUsageError(
            f"steps {found} must end at 100 (the candidate takes all the traffic last)"
        )
    return found


def _positive(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise AutomationUsageError(f"{name} {value!r} must be a number of seconds above 0")
    return float(value)


def _failure_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AutomationUsageError(f"failure limit {value!r} must be a whole number, 1 or more")
    return value


def _criteria(criteria: Criteria) -> Criteria:
    fractions = {
        "max error rate": criteria.max_error_rate,
        "min agreement": criteria.min_agreement,
    }
    for name, value in fractions.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
        ):
            raise AutomationUsageError(
                f"{name} {value!r} must be a fraction from 0 to 1 (0.01 for 1%)"
            )
    for name, value in {
        "max p99 (ms)": criteria.max_p99_ms,
        "max mean absolute error": criteria.max_mean_absolute_error,
    }.items():
        if value is not None:
            _positive(name, value)
    minimum = criteria.min_requests
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise AutomationUsageError(f"min requests {minimum!r} must be a whole number, 1 or more")
    return criteria
