"""`RolloutController`: the analysis of rollouts, run inside the prediction server.

Each server process (each worker of `conveyor serve`) runs one on a thread. Every
`tick_seconds` it leases each unfinished rollout it can (one process at a time holds a
rollout's lease, renewed at every tick, for `lease_seconds`), and advances those it holds
with the server's counters (`Metrics.totals`, every worker's added up, read only when a
window opens or is judged): opens an analysis window, or judges one that has lasted its
interval and acts on the verdict (`Rollouts.advance`). A process that stops gives its leases back; one that is killed
loses them when they expire, and a restarted server takes the rollout over at its step.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable

from conveyor.automation.rollouts import Rollouts
from conveyor.serving.totals import DeployedTotals

log = logging.getLogger("conveyor.automation")

EndpointTotals = Callable[[str], dict[str, DeployedTotals]]
"""The server's counters of an endpoint's deployed models, by deployed model id."""

TICK_SECONDS = 1.0
LEASE_SECONDS = 10.0
"""How long a killed server keeps its rollouts from the others (the server's
`rollout_lease_seconds`)."""


class RolloutController:
    """Advances the rollouts of `rollouts`' store with the counters `totals` reads."""

    def __init__(
        self,
        rollouts: Rollouts,
        totals: EndpointTotals,
        *,
        tick_seconds: float = TICK_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.rollouts = rollouts
        self.totals = totals
        self.tick_seconds = tick_seconds
        self.lease_seconds = lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self._held: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="conveyor-rollouts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and give back the leases held, for another server to take now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for rollout_id in sorted(self._held):
            try:
                self.rollouts.release(rollout_id, self.owner)
            except Exception:  # the store is gone: the lease expires by itself
                log.exception("rollouts: could not give back the lease of rollout %s", rollout_id)
        self._held.clear()

    def tick(self) -> None:
        """One look at every unfinished rollout."""
        active = self.rollouts.active()
        self._held &= {r.id for r in active}
        for found in active:
            if not self.rollouts.claim(found.id, self.owner, self.lease_seconds):
                self._held.discard(found.id)
                continue
            self._held.add(found.id)
            rollout = self.rollouts.get(found.id)
            try:
                analysis = self.rollouts.advance(
                    rollout, functools.partial(self.totals, rollout.endpoint), self.owner
                )
            except Exception:
                log.exception(
                    "rollouts: advancing rollout %s on %s failed", found.id, found.endpoint
                )
                continue
            if analysis is not None:
                log.info(
                    "rollouts: %s rollout %s: %s", rollout.endpoint, rollout.id, analysis.message
                )

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.tick()
            except Exception:  # a locked or unreachable store: try again next tick
                log.exception("rollouts: checking the rollouts failed")
