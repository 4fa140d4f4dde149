"""The schedule a monitor's `--cron` keeps: named after the monitor, running its jobs.

`conveyor monitors create|update|delete --cron` keep it with the monitor; anything else
that schedules a monitor's jobs is a schedule like any other (`conveyor schedules`).
"""

from __future__ import annotations

from conveyor.automation.cron import parse_cron
from conveyor.automation.errors import AutomationUsageError, ScheduleNotFound
from conveyor.automation.requests import describe, monitoring_job
from conveyor.automation.schedule_records import ScheduleRecord
from conveyor.automation.schedules import Schedules


def schedule_of(schedules: Schedules, monitor: str) -> ScheduleRecord | None:
    """The schedule the monitor's cron keeps, None when it has none."""
    try:
        found = schedules.get(monitor)
    except ScheduleNotFound:
        return None
    return found if found.request == monitoring_job(monitor) else None


def by_monitor(schedules: Schedules) -> dict[str, ScheduleRecord]:
    """The schedules monitors' crons keep, by monitor."""
    return {s.name: s for s in schedules.list() if s.request == monitoring_job(s.name)}


def check_cron(schedules: Schedules, monitor: str, cron: str) -> None:
    """Before anything changes: `cron` is valid, and no other schedule has the name the
    monitor's schedule takes."""
    parse_cron(cron, "--cron")
    try:
        taken = schedules.get(monitor)
    except ScheduleNotFound:
        return
    if taken.request != monitoring_job(monitor):
        raise AutomationUsageError(
            f"--cron: schedule {monitor!r} exists and does something else "
            f"({describe(taken.request)}); a monitor's --cron keeps a schedule named after "
            "the monitor: delete or rename that one, or schedule the monitor under another "
            f"name (`conveyor schedules create NAME CRON --monitor {monitor}`)"
        )


def keep(schedules: Schedules, monitor: str, cron: str) -> ScheduleRecord:
    """The monitor's schedule, made or given the new cron."""
    if schedule_of(schedules, monitor) is None:
        return schedules.create(monitor, cron, monitoring_job(monitor))
    return schedules.update(monitor, cron=cron)


def drop(schedules: Schedules, monitor: str) -> bool:
    """Delete the monitor's schedule; whether it had one."""
    if schedule_of(schedules, monitor) is None:
        return False
    schedules.delete(monitor)
    return True


def check_deletable(schedules: Schedules, monitor: str) -> None:
    """Refuse, before anything goes, when a schedule other than the monitor's own runs its
    jobs (its own goes with it)."""
    others = [
        s.name
        for s in schedules.list()
        if s.request == monitoring_job(monitor) and s.name != monitor
    ]
    if others:
        raise AutomationUsageError(
            f"monitor {monitor!r} is in use: schedule {others[0]!r} runs its jobs; delete "
            f"that schedule first (`conveyor schedules delete {others[0]}`)"
        )
