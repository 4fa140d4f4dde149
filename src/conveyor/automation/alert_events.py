"""Monitoring alerts as trigger events: the anomalies a model monitor raised since a time, for
the `monitoring_alert` triggers.

Settings: `{"monitor": "churn-drift", "objectives": ["feature_drift"], "cooldown": "1d"}`.
Each anomaly alert (a feature over its threshold; not a recovery) of the monitor, of one
of `objectives` (none given: any), is one event, keyed `alert:<id>`. The cooldown (default
1d, `0s` for none) is the trigger's to apply: a job alerting on five features is five
events, and one retraining.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.automation.trigger_records import TriggerEvent
from conveyor.monitoring.alert_search import MAX_LIMIT
from conveyor.monitoring.errors import MonitorNotFound
from conveyor.monitoring.records import AlertKind, Objective
from conveyor.monitoring.specs import check_duration, parse_duration

if TYPE_CHECKING:
    from conveyor.monitoring.monitors import Monitors

DEFAULT_COOLDOWN = "1d"
_KEYS = {"monitor", "objectives", "cooldown"}


def check(event: Any, monitors: Monitors | None, field: str = "event") -> dict[str, Any]:
    """The settings as stored, once the monitor exists and the objectives and cooldown
    read; `AutomationUsageError` (or `MonitorNotFound`) naming the field otherwise."""
    if not isinstance(event, dict) or set(event) - _KEYS:
        raise AutomationUsageError(
            f"{field}: a monitoring_alert trigger takes 'monitor', and optionally "
            "'objectives' and 'cooldown'"
        )
    if monitors is None:
        raise AutomationUsageError(f"{field}.monitor: this home has no monitors")
    name = event.get("monitor")
    if not isinstance(name, str) or not name:
        raise AutomationUsageError(f"{field}.monitor: name the model monitor to follow")
    try:
        monitors.get(name)
    except MonitorNotFound as error:
        raise MonitorNotFound(f"{field}.monitor: {error}") from None
    objectives = event.get("objectives") or []
    known = [o.value for o in Objective]
    if not isinstance(objectives, list) or not all(o in known for o in objectives):
        raise AutomationUsageError(
            f"{field}.objectives: a list of objectives among {', '.join(known)}"
        )
    cooldown = check_duration(
        event.get("cooldown", DEFAULT_COOLDOWN), f"{field}.cooldown", zero=True
    )
    return {"monitor": name, "objectives": sorted(set(objectives)), "cooldown": cooldown}


def cooldown(event: dict[str, Any]) -> timedelta:
    return parse_duration(event["cooldown"], "event.cooldown", zero=True)


def scan(event: dict[str, Any], monitors: Monitors, since: datetime) -> list[TriggerEvent]:
    """The monitor's anomaly alerts raised at or after `since`, oldest first."""
    alerts = monitors.search_alerts(
        event["monitor"], kind=AlertKind.ANOMALY, start_time=since, limit=MAX_LIMIT
    )
    wanted = set(event["objectives"])
    return [
        TriggerEvent(
            f"alert:{alert.id}",
            {
                "monitor": alert.monitor,
                "alert_id": alert.id,
                "job_id": alert.job_id,
                "feature": alert.feature,
                "objective": alert.objective.value,
                "value": alert.value,
                "threshold": alert.threshold,
                "raised_at": alert.created_at.isoformat(),
            },
        )
        for alert in reversed(alerts)
        if not wanted or alert.objective.value in wanted
    ]
