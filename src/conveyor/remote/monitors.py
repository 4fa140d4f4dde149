"""`RemoteMonitors`: the model monitors of a Conveyor server, with `Monitors`' methods over
`/api/v1/monitors` (docs/monitoring.md, REST), returning the same records.

The REST API reads and searches one monitor at a time, and takes labels as rows: a search
over every monitor, and labels from a file, need the store (`RemoteUnsupported`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conveyor.monitoring.errors import (
    MonitorConflict,
    MonitorNotFound,
    MonitorUsageError,
)
from conveyor.monitoring.records import (
    FeedbackSummary,
    ModelMonitor,
    ModelMonitoringJob,
    MonitoringAlert,
    MonitoringMetric,
)
from conveyor.remote.records import rebuild
from conveyor.remote.server import Answers, Server, path
from conveyor.store.metadata.errors import NotFound

ROOT = "/api/v1/monitors"

JOB_TIMEOUT = 600.0
"""Seconds a monitoring job, run while the request waits, may take."""

_ANSWERS = Answers(usage=MonitorUsageError, not_found=NotFound, conflict=MonitorConflict)
_ONE = Answers(usage=MonitorUsageError, not_found=MonitorNotFound, conflict=MonitorConflict)
"""A request about one monitor and nothing else: its 404 is the monitor's."""


class RemoteMonitors:
    """The monitors of `server`: what `Monitors` does, over REST."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def create(self, name: str, target: str, **fields: Any) -> ModelMonitor:
        """A monitor of `target`; the fields of `Monitors.create` left out or None take
        their defaults."""
        body = {"name": name, "target": target}
        body.update({k: v for k, v in fields.items() if v is not None})
        return self._monitor("POST", ROOT, body=body, answers=_ANSWERS)

    def get(self, name: str) -> ModelMonitor:
        return self._monitor("GET", path(ROOT, name))

    def list(self) -> list[ModelMonitor]:
        found = self.server.call("GET", ROOT, answers=_ANSWERS)
        return [rebuild(ModelMonitor, m) for m in found["monitors"]]

    def update(self, name: str, **changes: Any) -> ModelMonitor:
        """Change the fields given; one given as None goes back to its default."""
        return self._monitor("PATCH", path(ROOT, name), body=changes)

    def delete(self, name: str) -> int:
        """Delete the monitor with its jobs' records; the number of jobs deleted."""
        return self.server.call("DELETE", path(ROOT, name), answers=_ONE)["jobs_deleted"]

    # Jobs, metrics and alerts

    def run(self, name: str, **window: Any) -> ModelMonitoringJob:
        """Run one job now (`window`, `offset`, `start_time`, `end_time`, `sampling_rate`:
        those given); the job, SUCCEEDED or FAILED."""
        body = {k: v for k, v in window.items() if v is not None}
        job = self.server.call(
            "POST", path(ROOT, name, "jobs"), body=body, answers=_ONE, timeout=JOB_TIMEOUT
        )
        return rebuild(ModelMonitoringJob, job)

    def jobs(self, name: str, *, limit: int = 100) -> list[ModelMonitoringJob]:
        found = self.server.call(
            "GET", path(ROOT, name, "jobs"), params={"limit": limit}, answers=_ONE
        )
        return [rebuild(ModelMonitoringJob, j) for j in found["jobs"]]

    def search_metrics(
        self,
        name: str | None = None,
        *,
        feature: str | None = None,
        objective: Any = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        anomalies_only: bool = False,
        limit: int = 1000,
    ) -> list[MonitoringMetric]:
        params = {
            "feature": feature,
            "objective": objective,
            "start_time": start_time,
            "end_time": end_time,
            "anomalies": anomalies_only,
            "limit": limit,
        }
        found = self.server.call(
            "GET", path(ROOT, self._one(name, "metrics"), "metrics"), params=params, answers=_ONE
        )
        return [rebuild(MonitoringMetric, m) for m in found["metrics"]]

    def search_alerts(
        self,
        name: str | None = None,
        *,
        feature: str | None = None,
        objective: Any = None,
        kind: Any = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int = 100,
    ) -> list[MonitoringAlert]:
        params = {
            "feature": feature,
            "objective": objective,
            "kind": kind,
            "start_time": start_time,
            "end_time": end_time,
            "limit": limit,
        }
        found = self.server.call(
            "GET", path(ROOT, self._one(name, "alerts"), "alerts"), params=params, answers=_ONE
        )
        return [rebuild(MonitoringAlert, a) for a in found["alerts"]]

    # Ground truth

    def feedback(
        self,
        name: str,
        labels: Any,
        *,
        request_id_column: str = "request_id",
        index_column: str = "instance_index",
        label_column: str = "label",
    ) -> FeedbackSummary:
        """Send ground truth labels, given as rows (mappings), to monitor `name`."""
        if not isinstance(labels, list) or not all(isinstance(r, Mapping) for r in labels):
            raise self.server.unsupported(
                "sending labels from a file (the REST API takes them as rows: read the file "
                "here and send a list of row mappings)"
            )
        rows = [_label_row(r, request_id_column, index_column, label_column) for r in labels]
        sent = self.server.call(
            "POST", path(ROOT, name, "feedback"), body={"labels": rows}, answers=_ONE
        )
        return rebuild(FeedbackSummary, sent)

    def _one(self, name: str | None, what: str) -> str:
        """`name`: the REST API searches one monitor's `what`."""
        if name is None:
            raise self.server.unsupported(
                f"searching the {what} of every monitor (the REST API searches one monitor's: "
                "name it)"
            )
        return name

    def _monitor(self, method: str, where: str, **options: Any) -> ModelMonitor:
        options.setdefault("answers", _ONE)
        return rebuild(ModelMonitor, self.server.call(method, where, **options))


def _label_row(row: Mapping[str, Any], request_id: str, index: str, label: str) -> dict[str, Any]:
    """One row as the REST API takes it: `request_id`, `instance_index`, `label`."""
    for column in (request_id, label):
        if column not in row:
            raise MonitorUsageError(
                f"labels: a row has no {column!r} (its keys: {', '.join(map(str, row))}); "
                "name the column with the column options"
            )
    return {"request_id": row[request_id], "instance_index": row.get(index, 0), "label": row[label]}
