"""Cron expressions of schedules: parsed and stepped by croniter, in the time zone they name.

A schedule's cron is five fields (minute, hour, day of month, month, day of week), or
KFP's six (seconds first, as `robfig/cron` reads them), with an optional `TZ=Zone` or
`CRON_TZ=Zone` prefix naming an IANA time zone (`zoneinfo`); without one it is UTC, as on
Vertex AI. Times come back in UTC.

Daylight saving time, as croniter steps local time: a time that does not exist on the day
clocks go forward (02:30 in Europe/Paris on the last Sunday of March) fires at the first
time after the gap (03:00); a time that happens twice on the day clocks go back fires once,
at its first occurrence (Conveyor skips the repeat croniter would give).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from conveyor.automation.errors import AutomationUsageError

_PREFIX = re.compile(r"^\s*(?:CRON_)?TZ=(\S+)\s+(.*)$")


@dataclasses.dataclass(frozen=True)
class Cron:
    """A parsed cron: its fields and its zone; `text` is what the user wrote."""

    text: str
    fields: str
    zone: ZoneInfo
    with_seconds: bool

    def _iterate(self, after: datetime) -> croniter:
        return croniter(
            self.fields,
            after.astimezone(self.zone),
            second_at_beginning=self.with_seconds,
        )

    def next_after(self, after: datetime) -> datetime:
        """The first time of the schedule strictly after `after`, in UTC."""
        steps = self._iterate(after)
        previous = after.astimezone(self.zone).replace(tzinfo=None)
        while True:
            found: datetime = steps.get_next(datetime)
            wall = found.replace(tzinfo=None)
            if wall != previous:  # the repeat of a wall time when clocks go back
                return found.astimezone(UTC)
            previous = wall

    def times(self, after: datetime, until: datetime) -> list[datetime]:
        """Every time of the schedule strictly after `after` and not after `until`."""
        found = []
        at = self.next_after(after)
        while at <= until:
            found.append(at)
            at = self.next_after(at)
        return found

    def latest(self, after: datetime, until: datetime) -> datetime | None:
        """The last time of the schedule in (`after`, `until`], None when there is none;
        without stepping through every time between (a schedule down for months)."""
        if until <= after:
            return None
        steps = self._iterate(until + timedelta(seconds=1))
        steps.get_prev(datetime)
        before = steps.get_prev(datetime).astimezone(UTC)
        found = self.next_after(before)  # past `until` when the last one repeats `before`
        if found > until:
            found = before
        return found if found > after else None


def parse_cron(text: str, field: str = "cron") -> Cron:
    """`text` as a `Cron`; `AutomationUsageError` naming `field` when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise AutomationUsageError(f"{field}: a cron expression is required, e.g. '0 3 * * *'")
    zone = ZoneInfo("UTC")
    fields = text.strip()
    prefixed = _PREFIX.match(fields)
    if prefixed:
        name, fields = prefixed.groups()
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise AutomationUsageError(
                f"{field}: unknown time zone {name!r}; use an IANA name such as "
                "'Europe/Paris' or 'America/New_York'"
            ) from None
    count = len(fields.split())
    if count not in (5, 6):
        raise AutomationUsageError(
            f"{field}: {text!r} has {count} fields; a cron has 5 (minute hour day month "
            "weekday) or, as KFP writes it, 6 (seconds first)"
        )
    with_seconds = count == 6
    if not croniter.is_valid(fields, second_at_beginning=with_seconds):
        raise AutomationUsageError(f"{field}: {text!r} is not a valid cron expression")
    parsed = Cron(text.strip(), fields, zone, with_seconds)
    try:
        parsed.next_after(datetime(2000, 1, 1, tzinfo=UTC))
    except CroniterBadDateError:
        raise AutomationUsageError(f"{field}: {text!r} names no date that exists") from None
    return parsed
