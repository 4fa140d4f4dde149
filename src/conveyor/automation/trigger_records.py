"""What triggers look like to callers: frozen dataclasses that turn into JSON, the kinds and
the states of a trigger, and the events it sees. A trigger's fires are `FireRecord`s
(`schedule_records`), as a schedule's."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

from conveyor.store.metadata.records import to_json


class TriggerKind(StrEnum):
    """The event a trigger fires on."""

    NEW_DATA = "new_data"
    """A new object (or span) under a file or object-store pattern."""
    MONITORING_ALERT = "monitoring_alert"
    """An anomaly alert of a model monitor."""
    RUN_FINISHED = "run_finished"
    """A run of another pipeline ending in one of the given states."""
    WEBHOOK = "webhook"
    """A call: `POST /api/v1/triggers/{name}:fire`, or `conveyor triggers fire`."""


class TriggerState(StrEnum):
    """ACTIVE fires; PAUSED fires nothing, and what happens meanwhile is not fired later."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


@dataclasses.dataclass(frozen=True)
class TriggerRecord:
    """A trigger. `event` holds its kind's settings as stored (the pattern made absolute,
    the defaults filled in); `request` is `{"pipeline_job": {"pipeline": "NAME@REF",
    "parameters": {...}, "enable_caching": ...}}`, as a schedule's."""

    name: str
    kind: TriggerKind
    event: dict[str, Any]
    request: dict[str, Any]
    state: TriggerState
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class TriggerEvent:
    """An event a trigger saw: `occurrence` is its key among the trigger's fires (seen once,
    ever), `parameters` what it gives the run, `details` what the fire records of it (and
    the run, as `origin.fired_by`); `failure` says why it cannot fire, when it cannot."""

    occurrence: str
    details: dict[str, Any]
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    failure: str | None = None
