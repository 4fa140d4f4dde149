"""`RemoteRollouts`: the rollouts of a Conveyor server's endpoints, with `Rollouts`' methods
over `/api/v1/endpoints/{endpoint}/rollouts` (docs/delivery.md), returning the same
records. The analysis runs in that server, as for a home's rollouts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.rollout_records import Criteria, Rollout, Strategy
from conveyor.automation.rollouts import RolloutNotFound
from conveyor.remote.records import rebuild
from conveyor.remote.server import Answers, Server, path

ROOT = "/api/v1/endpoints"

_ANSWERS = Answers(
    usage=AutomationUsageError, not_found=RolloutNotFound, conflict=AutomationConflict
)


class RemoteRollouts:
    """The rollouts of `server`: what `Rollouts` does, over REST."""

    def __init__(self, server: Server) -> None:
        self.server = server

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
        body: dict[str, Any] = {
            "model": model,
            "strategy": str(strategy),
            "steps": None if steps is None else list(steps),
            "interval_seconds": interval_seconds,
            "criteria": (criteria or Criteria()).to_json(),
            "failure_limit": failure_limit,
            "alias": alias,
        }
        made = self.server.call(
            "POST", path(ROOT, endpoint, "rollouts"), body=body, answers=_ANSWERS
        )
        return rebuild(Rollout, made)

    def get(self, rollout_id: int, *, endpoint: str | None = None) -> Rollout:
        if endpoint is None:
            raise AutomationUsageError(
                "a server's rollout is read through its endpoint: give endpoint=..."
            )
        found = self.server.call(
            "GET", path(ROOT, endpoint, "rollouts", rollout_id), answers=_ANSWERS
        )
        return rebuild(Rollout, found)

    def list(self, endpoint: str, *, limit: int | None = 20) -> list[Rollout]:
        found = self.server.call("GET", path(ROOT, endpoint, "rollouts"), answers=_ANSWERS)
        return [rebuild(Rollout, r) for r in found["rollouts"][:limit]]

    def current(self, endpoint: str) -> Rollout | None:
        return next((r for r in self.list(endpoint, limit=1) if r.active), None)

    def pause(self, endpoint: str) -> Rollout:
        return self._act(endpoint, ":pauseRollout")

    def resume(self, endpoint: str) -> Rollout:
        return self._act(endpoint, ":resumeRollout")

    def abort(self, endpoint: str, *, reason: str | None = None) -> Rollout:
        return self._act(endpoint, ":abortRollout", {"reason": reason})

    def _act(self, endpoint: str, suffix: str, body: dict[str, Any] | None = None) -> Rollout:
        found = self.server.call(
            "POST", path(ROOT, endpoint, suffix=suffix), body=body, answers=_ANSWERS
        )
        return rebuild(Rollout, found)
