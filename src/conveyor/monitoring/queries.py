"""The checks of what a job run or a query asks: the target window, limits, ids, and the
criteria of a metric search; each refusal is a `MonitorUsageError` naming the argument."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conveyor.monitoring.errors import MonitorUsageError
from conveyor.monitoring.records import ModelMonitor, Objective
from conveyor.monitoring.specs import parse_duration
from conveyor.monitoring.windows import Window, utc
from conveyor.store.metadata.recording import now

MAX_LIMIT = 10_000


def job_window(
    monitor: ModelMonitor,
    *,
    window: str | None = None,
    offset: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    at: datetime | None = None,
) -> Window:
    """The target window of a job: `start_time` to `end_time` when given (both, or
    `start_time` with `window` or the monitor's window), else the last `window` (the
    monitor's by default) ending `offset` (the monitor's by default) before `at` (now)."""
    length = parse_duration(window or monitor.window, "window")
    for value, where in ((start_time, "start_time"), (end_time, "end_time")):
        if value is not None and not isinstance(value, datetime):
            raise MonitorUsageError(f"{where}: {value!r} is not a time; give an ISO 8601 time")
    if start_time is not None or end_time is not None:
        if offset is not None:
            raise MonitorUsageError("offset: give either start and end times, or an offset")
        if start_time is None:
            raise MonitorUsageError("start_time: an end_time needs a start_time")
        start = utc(start_time)
        end = utc(end_time) if end_time is not None else start + length
        if window is not None and end_time is not None:
            raise MonitorUsageError("window: give either a window or an end_time, not both")
    else:
        shift = monitor.offset if offset is None else offset
        delay = parse_duration(shift, "offset", zero=True) if shift else timedelta(0)
        end = utc(at or now()) - delay
        start = end - length
    if end <= start:
        raise MonitorUsageError(
            f"end_time: the window must end after it starts ({start.isoformat()} to "
            f"{end.isoformat()})"
        )
    return Window(start, end)


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise MonitorUsageError(f"limit: {limit!r} is not a whole number from 1 to {MAX_LIMIT}")
    return limit


def check_job_id(job_id: Any) -> int:
    if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id < 1:
        raise MonitorUsageError(f"job_id: {job_id!r} is not a job id (a whole number from 1)")
    return job_id


def check_metric_query(
    objective: Any, start_time: Any, end_time: Any, limit: Any
) -> dict[str, Any]:
    """The criteria of a metric search, checked."""
    if objective is not None:
        try:
            objective = Objective(objective)
        except ValueError:
            names = ", ".join(o.value for o in Objective)
            raise MonitorUsageError(f"objective: {objective!r} is not one of {names}") from None
    for value, where in ((start_time, "start_time"), (end_time, "end_time")):
        if value is not None and not isinstance(value, datetime):
            raise MonitorUsageError(f"{where}: {value!r} is not a time; give an ISO 8601 time")
    start = utc(start_time) if start_time is not None else None
    end = utc(end_time) if end_time is not None else None
    if start is not None and end is not None and end <= start:
        raise MonitorUsageError("end_time: must be after start_time")
    return {
        "objective": objective,
        "start_time": start,
        "end_time": end,
        "limit": check_limit(limit),
    }
