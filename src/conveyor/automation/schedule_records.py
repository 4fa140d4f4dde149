"""What schedules and fires look like to callers: frozen dataclasses that turn into JSON.

A schedule keeps Vertex AI's `Schedule` field names in snake case (`cron`, `start_time`,
`end_time`, `max_run_count`, `max_concurrent_run_count`, `allow_queueing`, `state`,
`next_run_time`, `started_run_count`, `last_scheduled_run_response`, `last_pause_time`,
`last_resume_time`); `catch_up` is Conveyor's. A fire is one occurrence of a schedule or a
trigger and what became of it, which Vertex AI does not keep.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

from conveyor.store.metadata.records import to_json


class ScheduleState(StrEnum):
    """Vertex AI's `Schedule.State`."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"


class FireState(StrEnum):
    """What became of one occurrence.

    CLAIMED: a scheduler holds it and is starting it; QUEUED: waiting for a free slot
    (`allow_queueing`); STARTED: its run (or job) is under way; SUCCEEDED / FAILED: it
    ended so (FAILED too when it could not start); SKIPPED: not fired (the concurrency
    limit without queueing, or times missed without catch-up); DEDUPLICATED: an event seen
    before (a trigger's)."""

    CLAIMED = "CLAIMED"
    QUEUED = "QUEUED"
    STARTED = "STARTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    DEDUPLICATED = "DEDUPLICATED"

    @property
    def active(self) -> bool:
        """Whether it holds one of its source's concurrent slots."""
        return self in (FireState.CLAIMED, FireState.STARTED)


class _Record:
    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class ScheduleRecord(_Record):
    """A schedule. `request` is `{"pipeline_job": {"pipeline": "NAME@REF", "parameters":
    {...}, ...}}` or `{"model_monitoring_job": {"monitor": "NAME"}}`."""

    name: str
    display_name: str
    cron: str
    request: dict[str, Any]
    state: ScheduleState
    start_time: datetime
    end_time: datetime | None
    max_run_count: int | None
    max_concurrent_run_count: int
    allow_queueing: bool
    catch_up: bool
    next_run_time: datetime | None
    started_run_count: int
    last_scheduled_run_response: dict[str, Any] | None
    last_pause_time: datetime | None
    last_resume_time: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclasses.dataclass(frozen=True)
class FireRecord(_Record):
    """One occurrence of `source` (`schedule` or `trigger`) named `source_name`:
    `occurrence` is its key (the scheduled time, the object, the alert, the run, the call),
    `event` what the fire carried (the request as resolved, the event's details)."""

    id: int
    source: str
    source_name: str
    occurrence: str
    state: FireState
    scheduled_time: datetime | None
    run_id: str | None
    event: dict[str, Any]
    error: str | None
    created_at: datetime
    updated_at: datetime
