"""A monitoring job run from a pipeline (monitor_model): its outcome as a pass/fail and its
anomalies as scalar metrics.

The job runs through `conveyor.client.Client.run_monitor`, on the task's home, exactly as
`conveyor monitors run` runs it (alerts raised and sent). What the task reports:

    passed     the job SUCCEEDED and no field is an anomaly (insufficient data is no
               anomaly: it passes, and the log says so)
    metrics    one scalar per anomaly, `<objective>:<field>` -> its distance (or the
               model metric's value), and the counts `anomalies`, `normal`,
               `insufficient_data` and `rows_read`: what a KFP Metrics artifact holds
               and Vertex AI and the KFP UI show as a table

A FAILED job fails the task with the job's error; so does an anomaly when the pipeline
asks for it (`fail_on_anomaly`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conveyor.components._lib.errors import ComponentError
from conveyor.errors import ConveyorError

if TYPE_CHECKING:
    from conveyor.client import Client

SUCCEEDED = "JOB_STATE_SUCCEEDED"
COUNTS = ("anomalies", "normal", "insufficient_data")


@dataclass(frozen=True)
class Checked:
    """A finished job as the component reports it."""

    monitor: str
    job_id: int
    passed: bool
    metrics: dict[str, float] = field(default_factory=dict)
    anomalies: list[str] = field(default_factory=list)
    """One sentence per anomaly: `feature_skew of 'tenure' is 0.4463 (threshold 0.3)`."""
    lines: list[str] = field(default_factory=list)
    """What the task's log shows: a line per field, then the verdict."""


def client() -> Client:
    """A client of the task's home (as handover.client, without the model libraries that
    module loads)."""
    from conveyor.client import Client

    return Client()


def check(monitor: str, window: str = "", offset: str = "") -> Checked:
    """Run one job of `monitor` over the last `window` ending `offset` before now (empty:
    the monitor's own); a `ComponentError` naming the cause when it cannot run or FAILED."""
    if not monitor.strip():
        raise ComponentError(
            "monitor: give the name of a model monitor (`conveyor monitors list` lists them)"
        )
    with client() as conveyor:
        try:
            job = conveyor.run_monitor(monitor, window=window or None, offset=offset or None)
        except ConveyorError as exc:  # bad usage, an unknown monitor or target
            raise ComponentError(f"cannot run a job of monitor {monitor!r}: {exc}") from exc
        if job.state != SUCCEEDED:
            raise ComponentError(
                f"monitoring job {job.id} of monitor {monitor!r} ended {job.state}: {job.error}"
            )
        metrics = conveyor.list_monitor_job_metrics(job.id)
    return _outcome(monitor, job, metrics)


def stop_on_anomaly(checked: Checked) -> None:
    """Fail the task when the job found an anomaly (`fail_on_anomaly`)."""
    if not checked.passed:
        raise ComponentError(
            f"monitoring job {checked.job_id} of monitor {checked.monitor!r} found "
            f"{len(checked.anomalies)} anomalies: {'; '.join(checked.anomalies)} "
            "(the task fails because fail_on_anomaly is set)"
        )


def _outcome(monitor: str, job: Any, metrics: list[Any]) -> Checked:
    counts = dict.fromkeys(COUNTS, 0)
    scalars: dict[str, float] = {}
    anomalies: list[str] = []
    lines = [
        f"job {job.id} of monitor {monitor} ({job.model}@{job.model_version_id}): "
        f"window {_time(job.window_start)} to {_time(job.window_end)} UTC"
    ]
    for m in metrics:
        objective = str(m.objective)
        status = (
            "anomaly" if m.anomaly else "insufficient_data" if m.insufficient_data else "normal"
        )
        counts["anomalies" if status == "anomaly" else status] += 1
        lines.append(
            f"  {status.upper():<17} {objective} {m.feature}: {_number(m.value)} "
            f"(threshold {_number(m.threshold)}, chance {_number(m.chance_level)}, "
            f"n {m.target_count})"
        )
        if m.anomaly and m.value is not None:
            scalars[f"{objective}:{m.feature}"] = float(m.value)
            anomalies.append(
                f"{objective} of {m.feature!r} is {_number(m.value)} "
                f"(threshold {_number(m.threshold)})"
            )
    scalars.update({name: float(count) for name, count in counts.items()})
    scalars["rows_read"] = float((job.summary or {}).get("rows_read", 0))
    passed = counts["anomalies"] == 0
    verdict = "PASSED: no anomaly" if passed else f"NOT PASSED: {len(anomalies)} anomalies"
    if counts["insufficient_data"]:
        verdict += (
            f" ({counts['insufficient_data']} fields with insufficient data, not judged: "
            "fewer values than the monitor's min_samples)"
        )
    lines.append(verdict)
    return Checked(monitor, job.id, passed, scalars, anomalies, lines)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _time(value: Any) -> str:
    return "?" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"
