"""The scheduler: one loop that fires the due schedules and triggers of a home, each fire in
a process of its own, and settles the fires whose processes are gone.

    scheduler = Scheduler(home.schedules, Fires(home.store), launcher)
    scheduler.tick()                   # one round, as `conveyor scheduler --once`
    scheduler.run(stop)                # rounds until `stop` is set

A round (`tick`) settles the fires whose process ended, claims the due occurrences
(`Schedules.claim_due`, and the triggers' events), starts a process for each claim, and
does the chores (the monitoring alerts due, sent).
Several schedulers may share one store: each occurrence is claimed in the database, once
(see `schedules.py`). A claim lives while its fired process renews it (`execute` does);
a fire whose claim has run out (its process and its scheduler died) is settled by whichever
scheduler sees it first: from its run's state when the run exists, else started again under
the same run id, which the store refuses to record twice.

Time comes from `now` (tests give a clock they move), and nothing here sleeps but `run`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from conveyor.automation import _fire_rows
from conveyor.automation.fires import CLAIM_SECONDS, Claim, Fires
from conveyor.automation.launch import LOG_FOLDER, Launcher
from conveyor.automation.schedule_records import FireRecord, FireState
from conveyor.automation.schedules import Schedules
from conveyor.store.metadata import NotFound, RunStatus

if TYPE_CHECKING:
    from conveyor.home import Home

log = logging.getLogger("conveyor.automation")

FIRE_COMMAND = [sys.executable, "-m", "conveyor", "run-fire"]
"""How a fire's process starts: `conveyor run-fire FIRE_ID`, in this Python."""

POLL_SECONDS = 10.0
"""The longest a scheduler waits between rounds (triggers poll; cron's resolution is a
second at best)."""


class Source(Protocol):
    """What fires: schedules, triggers. `claim_due` claims what is due for `owner`."""

    def claim_due(self, owner: str, ttl: timedelta) -> list[Claim]: ...


@dataclasses.dataclass(frozen=True)
class Tick:
    """What one round did: the fires it started and those it settled."""

    started: list[Claim]
    settled: list[FireRecord]


class Scheduler:
    """Fires the due occurrences of `sources` (the first being the home's schedules)."""

    def __init__(
        self,
        schedules: Schedules,
        fires: Fires,
        launcher: Launcher,
        *,
        sources: Sequence[Source] = (),
        chores: Sequence[Callable[[], object]] = (),
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.schedules = schedules
        self.fires = fires
        self.launcher = launcher
        self.sources: list[Source] = [schedules, *sources]
        self.chores = list(chores)
        """What else each round does: sending the monitoring alerts due (retries too)."""
        self.now = now or schedules.now
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.ttl = timedelta(seconds=CLAIM_SECONDS)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @classmethod
    def of(cls, home: Home, *, now: Callable[[], datetime] | None = None) -> Scheduler:
        """The scheduler of `home`: its schedules and triggers, its fires started as
        `conveyor run-fire` processes with the home's settings; each round also sends the
        monitoring alerts due (a failed delivery is retried)."""
        launcher = Launcher(FIRE_COMMAND, home.settings.to_env(), home.settings.folder / LOG_FOLDER)
        return cls(
            home.schedules,
            Fires(home.store),
            launcher,
            sources=[home.triggers],
            chores=[home.monitors.deliver_alerts],
            now=now,
        )

    def tick(self) -> Tick:
        """One round: settle what ended, claim what is due, start it."""
        settled = self._settle()
        started: list[Claim] = []
        for source in self.sources:
            for claim in source.claim_due(self.owner, self.ttl):
                self._start(claim)
                started.append(claim)
        for chore in self.chores:
            chore()
        return Tick(started, settled)

    def run(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = POLL_SECONDS,
        on_tick: Callable[[Tick], None] | None = None,
    ) -> None:
        """Rounds until `stop` is set, waking at the next schedule time or after
        `poll_seconds`. A round that fails (the store unreachable) is logged and the next
        one tries again. Fired processes are left to finish when it stops."""
        while not stop.is_set():
            try:
                done = self.tick()
            except Exception:
                log.exception("a round of the scheduler failed")
            else:
                if on_tick is not None and (done.started or done.settled):
                    on_tick(done)
            stop.wait(self._pause(poll_seconds))

    def wait(self, timeout: float | None = None) -> Tick:
        """Wait for the processes this scheduler started to end, then settle them (tests and
        `--once`)."""
        for process in list(self.processes.values()):
            process.wait(timeout)
        return Tick([], self._settle())

    def _pause(self, poll_seconds: float) -> float:
        """Seconds until the next schedule time, at most `poll_seconds`."""
        upcoming = [s.next_run_time for s in self.schedules.list() if s.next_run_time is not None]
        if not upcoming:
            return poll_seconds
        seconds = (min(upcoming) - self.now()).total_seconds()
        return min(poll_seconds, max(0.05, seconds))

    def _start(self, claim: Claim) -> None:
        try:
            self.processes[claim.fire_id] = self.launcher.start(claim)
        except OSError as error:
            self.fires.finish(claim.fire_id, FireState.FAILED, f"could not start: {error}")

    def _settle(self) -> list[FireRecord]:
        """Fires whose process is gone but which are still CLAIMED or STARTED: this
        scheduler's, once their process exited; any scheduler's, once their claim ran out."""
        settled = []
        ended = {i for i, p in self.processes.items() if p.poll() is not None}
        at = self.now()
        with self.fires.store.transaction() as conn:
            active = _fire_rows.in_states(conn, _fire_rows.ACTIVE)
        for row in active:
            mine = row.id in ended
            expired = row.claim_expires is None or row.claim_expires <= at
            if row.id in self.processes and not mine:
                continue  # its process still runs
            if not (mine or expired):
                continue
            outcome = self._settle_one(row, mine, at)
            if outcome is not None:
                settled.append(outcome)
        for fire_id in ended:
            self.processes.pop(fire_id, None)
        return settled

    def _settle_one(self, row, mine: bool, at: datetime) -> FireRecord | None:
        """End a fire from its run's state, or start it again when it never ran."""
        if row.run_id is not None:
            try:
                recorded = self.fires.store.get_run(row.run_id)
            except NotFound:
                recorded = None
            if recorded is not None:
                if recorded.status == RunStatus.RUNNING and not recorded.runner_lost:
                    return None  # another process of this fire runs it
                state = (
                    FireState.SUCCEEDED
                    if recorded.status == RunStatus.SUCCEEDED
                    else FireState.FAILED
                )
                error = recorded.error
                if recorded.status == RunStatus.RUNNING:
                    error = (
                        f"the process running {row.run_id} was lost; "
                        f"`conveyor runs resume {row.run_id}` continues the run"
                    )
                self.fires.finish(row.id, state, error)
                return self.fires.get(row.id)
        if mine:  # it ended without running, or a monitoring job's process died
            tail = self.launcher.tail(row.id)
            self.fires.finish(
                row.id, FireState.FAILED, f"the fired process ended early: {tail}"[:4000]
            )
            return self.fires.get(row.id)
        # Its scheduler and its process died before it ran: start it again, once.
        with self.fires.store.transaction(write=True) as conn:
            taken = _fire_rows.take_over(
                conn,
                row.id,
                row.claimed_by,
                row.claim_expires,
                state=FireState.CLAIMED.value,
                claimed_by=self.owner,
                claim_expires=at + self.ttl,
            )
        if taken:
            log.info("fire %s lost its scheduler; starting it again", row.id)
            self._start(Claim(row.id, row.source, "", row.run_id))
        return None
