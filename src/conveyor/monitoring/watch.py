"""Running monitors on their cron: what `conveyor monitors watch` and `conveyor serve
--monitor` do, until the automation layer's scheduler makes schedules a resource of their
own.

A monitor with a `cron` is due when a time of its schedule has passed since its latest
job started (or since it was created, before its first job). A due monitor gets one job
for the latest such time `F`, over the window ending `offset` before `F`: times missed
while no watcher ran are not caught up one by one (the complaint of kubeflow/pipelines
#8344), the next job simply covers the latest window. After each round the alerts due
are delivered, retries included.

One watcher runs a home's monitors at a time: a watcher holds a lock file in the home
(`<home>/monitoring/watcher.lock`) while it runs, and a second one stands by until the
lock is free, so a job is never run twice by two watchers of one home folder.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from filelock import FileLock, Timeout

from conveyor.monitoring.errors import MonitorUsageError
from conveyor.monitoring.monitors import Monitors
from conveyor.monitoring.queries import job_window
from conveyor.monitoring.records import AlertDelivery, ModelMonitor, ModelMonitoringJob

log = logging.getLogger("conveyor.monitoring")

POLL_SECONDS = 30.0
"""How often a watcher looks for due monitors (cron's resolution is a minute)."""


@dataclasses.dataclass(frozen=True)
class Round:
    """What one round did: the jobs it ran and the deliveries it attempted."""

    jobs: list[ModelMonitoringJob]
    deliveries: list[AlertDelivery]


LOCK = Path("monitoring") / "watcher.lock"
"""The lock file a watcher holds, in the home's folder."""


class Watcher:
    """Runs the due jobs of `monitors` (a home's: it sends their alerts with the home's
    settings); `lock` is the file held while watching (default: the home's `LOCK`)."""

    def __init__(self, monitors: Monitors, lock: Path | None = None) -> None:
        if lock is None:
            if monitors.settings is None:
                raise MonitorUsageError(
                    "a watcher needs the home's settings: use `open_home().monitors`"
                )
            lock = monitors.settings.folder / LOCK
        self.monitors = monitors
        self.lock = FileLock(lock)
        lock.parent.mkdir(parents=True, exist_ok=True)

    def due(self, now: datetime | None = None) -> list[tuple[ModelMonitor, datetime]]:
        """Each monitor due at `now` (default: now) with the time of its schedule its job
        is for, by name."""
        now = now or datetime.now(UTC)
        found = []
        for monitor in self.monitors.list():
            if monitor.cron is None:
                continue
            latest = self.monitors.jobs(monitor.name, limit=1)
            since = latest[0].created_at if latest else monitor.created_at
            fire = last_fire(monitor.cron, since, now)
            if fire is not None:
                found.append((monitor, fire))
        return found

    def run_due(self, now: datetime | None = None) -> Round:
        """One round: a job for each due monitor, then the alerts due delivered."""
        jobs = []
        for monitor, fire in self.due(now):
            span = job_window(monitor, at=fire)  # the monitor's window, ending offset before
            jobs.append(
                self.monitors.run(
                    monitor.name, start_time=span.start, end_time=span.end, deliver=False
                )
            )
        return Round(jobs, self.monitors.deliver_alerts())

    def watch(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = POLL_SECONDS,
        on_round: Callable[[Round], None] | None = None,
        on_standby: Callable[[], None] | None = None,
    ) -> None:
        """Run rounds every `poll_seconds` until `stop` is set, holding the lock; while
        another watcher holds it, stand by (`on_standby` is called once). A round that
        fails (the store unreachable) is logged and the next one tries again."""
        standing_by = False
        while not stop.is_set():
            try:
                self.lock.acquire(timeout=0)
            except Timeout:
                if not standing_by and on_standby is not None:
                    on_standby()
                standing_by = True
                stop.wait(poll_seconds)
                continue
            try:
                while not stop.is_set():
                    try:
                        done = self.run_due()
                    except Exception:
                        log.exception("a round of the monitoring watcher failed")
                    else:
                        if on_round is not None:
                            on_round(done)
                    stop.wait(poll_seconds)
            finally:
                self.lock.release()


def last_fire(cron: str, since: datetime, now: datetime) -> datetime | None:
    """The latest time of the schedule `cron` (UTC) after `since` and not after `now`."""
    from croniter import croniter

    # The schedule's latest time up to `now` (a second past it: `now` itself counts).
    fire = croniter(cron, now.astimezone(UTC) + timedelta(seconds=1)).get_prev(datetime)
    return fire if fire > since else None
