"""`Monitors`: model monitors (Vertex AI's `ModelMonitor`), kept in the metadata store.

    from conveyor.home import open_home

    with open_home() as home:
        monitors = home.monitors
        monitors.create("churn-drift", "churn@production")     # every objective, defaults
        monitors.create(
            "churn-skew", "churn@3",
            training_dataset={"uri": "data/train.parquet"},
            tabular_objective={"feature_skew_spec": {"feature_alert_thresholds": {"plan": 0.1}}},
            notification_spec={"webhook": {"url": "https://hooks.example.com/ml"}},
            window="1h",
        )
        monitors.get("churn-drift").model_version_id          # what the alias names now
        monitors.update("churn-drift", window="1w")
        monitors.delete("churn-skew")

A monitor's target is a model reference: `churn@3` (pinned), `churn@production` or `churn`
(following the alias, `default` for a bare name), resolved again whenever it is read and at
every job, so a monitor follows promotions. Everything is checked when a monitor is created
or changed (`conveyor.monitoring.specs`): the target must name a version now; the schema
defaults to that version's input schema (and its output as the prediction); the objectives'
features must be in the schema, thresholds within 0 and 1, durations valid. Each call is
one transaction. A schedule runs a monitor's jobs on a cron (`conveyor.automation`); a
delete guard it registers keeps the monitor while it does. See docs/monitoring.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.config import Settings
from conveyor.monitoring import _rows, alert_search
from conveyor.monitoring._job_rows import (
    job_record,
    job_row,
    jobs_of,
    metric_record,
    metric_rows,
    metrics_of_job,
)
from conveyor.monitoring.errors import (
    JobNotFound,
    MonitorConflict,
    MonitorUsageError,
    TargetNotFound,
)
from conveyor.monitoring.jobs import run_job
from conveyor.monitoring.queries import (
    check_job_id,
    check_limit,
    check_metric_query,
    job_window,
)
from conveyor.monitoring.records import (
    DEFAULT_MIN_SAMPLES,
    DEFAULT_SAMPLING_RATE,
    DEFAULT_WINDOW,
    AlertDelivery,
    AlertKind,
    DataDriftSpec,
    DataType,
    FeedbackSummary,
    FieldSchema,
    MetricType,
    ModelMonitor,
    ModelMonitoringJob,
    ModelMonitoringSchema,
    ModelPerformanceSpec,
    MonitoringAlert,
    MonitoringMetric,
    NotificationSpec,
    Objective,
    PerformanceResult,
    TabularObjective,
    Task,
    WebhookSpec,
)
from conveyor.monitoring.specs import (
    check_display_name,
    check_duration,
    check_min_samples,
    check_monitor_name,
    check_notification,
    check_objective,
    check_sampling_rate,
    check_schema,
    check_training_dataset,
    predictions_of,
    schema_of_version,
)
from conveyor.registry import ModelVersion, Registry, parse_reference
from conveyor.registry.errors import InvalidArtifact, InvalidName
from conveyor.registry.history import current_user
from conveyor.registry.names import DEFAULT
from conveyor.registry.references import Reference
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.artifacts.naming import is_local, local_of
from conveyor.store.metadata import MetadataStore, NotFound

if TYPE_CHECKING:
    from conveyor.monitoring.delivery import Deliverer

_UNSET: Any = object()

DeleteGuard = Callable[[str], str | None]
"""Asked before a monitor is deleted, with its name: who uses it (`schedule 'hourly' runs
its jobs`), or None. The automation layer registers one, so a scheduled monitor stays."""


class Monitors:
    """Model monitors over a metadata store, resolving their targets through `registry`;
    `user` names who creates them (default: the registry's user). A baseline URI is read
    under the registry's artifact policy (`for_requests()`: as the REST API must)."""

    def __init__(
        self,
        store: MetadataStore,
        registry: Registry,
        *,
        user: str | None = None,
        cache_dir: Path | None = None,
        artifacts: ArtifactStore | None = None,
        settings: Settings | None = None,
        delete_guards: Iterable[DeleteGuard] = (),
    ):
        self.store = store
        self.settings = settings
        """The home's settings: where the alert log is, the SMTP server (None: alerts
        cannot be delivered from these monitors)."""
        self.artifacts = artifacts
        """Where ground truth labels are kept (`feedback`)."""
        self.registry = registry
        self.user = user or registry.user
        self.cache_dir = cache_dir
        """Where jobs keep the baselines' statistics and the null quantiles (None: nowhere,
        computed again at every job)."""
        self._guards: list[DeleteGuard] = list(delete_guards)

    def acting_as(self, user: str) -> Monitors:
        """The same monitors, recording `user` as who creates them."""
        return Monitors(
            self.store,
            self.registry.acting_as(user),
            user=user,
            cache_dir=self.cache_dir,
            artifacts=self.artifacts,
            settings=self.settings,
            delete_guards=self._guards,
        )

    def for_requests(self) -> Monitors:
        """The same monitors, taking baseline URIs as a server must for callers from afar:
        local paths only under the allowed roots, no URL naming a host."""
        return Monitors(
            self.store,
            self.registry.for_requests(),
            user=self.user,
            cache_dir=self.cache_dir,
            artifacts=self.artifacts,
            settings=self.settings,
            delete_guards=self._guards,
        )

    def add_delete_guard(self, guard: DeleteGuard) -> None:
        """Ask `guard` before deleting any monitor."""
        self._guards.append(guard)

    def create(
        self,
        name: str,
        target: str,
        *,
        display_name: str | None = None,
        training_dataset: Any = None,
        model_monitoring_schema: Any = None,
        tabular_objective: Any = None,
        notification_spec: Any = None,
        window: str | None = None,
        offset: str | None = None,
        sampling_rate: float | None = None,
        min_samples: int | None = None,
    ) -> ModelMonitor:
        """A new monitor of `target` (`churn@production`); every field left out (or None)
        takes its default: the baseline through lineage, the version's schema, every
        objective with Vertex AI's thresholds (0.3), the alert log, a window of `1d`, 100
        samples at least. `MonitorConflict` when the name is taken."""
        check_monitor_name(name)
        with self.store.transaction() as conn:
            if _rows.exists(conn, name):
                raise _rows.conflict(name)
        values = self._settings(
            display_name=display_name,
            window=window,
            offset=offset,
            sampling_rate=sampling_rate,
            min_samples=min_samples,
            notification_spec=notification_spec,
            training_dataset=training_dataset,
            name=name,
        )
        _, version = self._resolve(target)
        schema = self._schema(model_monitoring_schema, version)
        values.update(
            name=name,
            target=target,
            model_monitoring_schema=schema.to_json(),
            tabular_objective=check_objective(tabular_objective, schema).to_json(),
            created_by=self.user or current_user(),
        )
        with self.store.transaction(write=True) as conn:
            _rows.insert_monitor(conn, values)
        return self.get(name)

    def get(self, name: str) -> ModelMonitor:
        """The monitor, its target resolved now."""
        with self.store.transaction() as conn:
            row = _rows.monitor_row(conn, check_monitor_name(name))
        return self._monitor(row, {})

    def list(self) -> list[ModelMonitor]:
        """Every monitor, by name, their targets resolved now."""
        with self.store.transaction() as conn:
            rows = _rows.monitor_rows(conn)
        resolved: dict[str, int | None] = {}
        return [self._monitor(row, resolved) for row in rows]

    def update(
        self,
        name: str,
        *,
        display_name: str | None = _UNSET,
        target: str = _UNSET,
        training_dataset: Any = _UNSET,
        model_monitoring_schema: Any = _UNSET,
        tabular_objective: Any = _UNSET,
        notification_spec: Any = _UNSET,
        window: str | None = _UNSET,
        offset: str | None = _UNSET,
        sampling_rate: float | None = _UNSET,
        min_samples: int | None = _UNSET,
    ) -> ModelMonitor:
        """Change a monitor: a field left out stays as it is; one given as None goes back to
        its default (`model_monitoring_schema=None`: the schema of the version the target
        names now). Objectives, schema and notifications are replaced whole; objectives
        kept are checked again against a new schema."""
        current = self.get(name)
        given = {
            key: value
            for key, value in {
                "display_name": display_name,
                "window": window,
                "offset": offset,
                "sampling_rate": sampling_rate,
                "min_samples": min_samples,
                "notification_spec": notification_spec,
                "training_dataset": training_dataset,
            }.items()
            if value is not _UNSET
        }
        values = self._settings(**given, name=name)
        schema = current.model_monitoring_schema
        if target is not _UNSET or model_monitoring_schema is not _UNSET:
            new_target = current.target if target is _UNSET else target
            _, version = self._resolve(new_target)
            values["target"] = new_target
            if model_monitoring_schema is not _UNSET:
                schema = self._schema(model_monitoring_schema, version)
                values["model_monitoring_schema"] = schema.to_json()
        if tabular_objective is not _UNSET or "model_monitoring_schema" in values:
            objective = (
                current.tabular_objective if tabular_objective is _UNSET else tabular_objective
            )
            values["tabular_objective"] = check_objective(objective, schema).to_json()
        with self.store.transaction(write=True) as conn:
            row = _rows.monitor_row(conn, name, lock=True)
            _rows.update_monitor(conn, row.id, values)
        return self.get(name)

    def delete(self, name: str) -> int:
        """Delete a monitor with its jobs and their metrics, alerts and deliveries (the
        executions that recorded the jobs stay, with their lineage); the number of jobs
        deleted. Refused with `MonitorConflict` while a delete guard says it is in use."""
        with self.store.transaction() as conn:
            _rows.monitor_row(conn, check_monitor_name(name))
        for guard in self._guards:
            reason = guard(name)
            if reason:
                raise MonitorConflict(f"monitor {name!r} is in use: {reason}")
        with self.store.transaction(write=True) as conn:
            row = _rows.monitor_row(conn, check_monitor_name(name), lock=True)
            return _rows.delete_monitor(conn, row.id)

    def schema_for(self, target: str, model_monitoring_schema: Any = None) -> ModelMonitoringSchema:
        """The schema a monitor of `target` takes: `model_monitoring_schema` checked (its
        prediction fields defaulting to the version's), or the version's own."""
        return self._schema(model_monitoring_schema, self._resolve(target)[1])

    def delete_guard(self, version: ModelVersion) -> str | None:
        """The registry's delete guard: why `version` must stay, while a monitor is pinned
        to it (a monitor following an alias follows it elsewhere)."""
        for monitor in self.list():
            pinned = monitor.alias is None and monitor.model == version.model
            if pinned and monitor.model_version_id == version.version_id:
                return (
                    f"watched by monitor {monitor.name} (target {monitor.target}); delete it "
                    f"with `conveyor monitors delete {monitor.name}` first"
                )
        return None

    def target_version(self, name: str) -> ModelVersion:
        """The version monitor `name` watches now (what a job evaluates); `TargetNotFound`
        when its model, version or alias is gone."""
        return self._resolve(self.get(name).target)[1]

    # Jobs (conveyor.monitoring.jobs)

    def run(
        self,
        name: str,
        *,
        window: str | None = None,
        offset: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        sampling_rate: float | None = None,
        deliver: bool = True,
    ) -> ModelMonitoringJob:
        """Run one monitoring job now over the target window: the last `window` (default:
        the monitor's) ending `offset` before now, or `start_time` to `end_time`; the job,
        SUCCEEDED or FAILED (its `error` says why). Then the alerts it raised are sent
        (`deliver_alerts`; a channel that fails is retried later, the job stands), unless
        `deliver` is False or these monitors have no home settings to send with: then
        they wait as PENDING deliveries."""
        monitor = self.get(name)
        span = job_window(
            monitor, window=window, offset=offset, start_time=start_time, end_time=end_time
        )
        rate = check_sampling_rate(
            monitor.sampling_rate if sampling_rate is None else sampling_rate
        )
        job_id = run_job(
            self.store,
            monitor,
            lambda: self._resolve(monitor.target)[1],
            span,
            rate,
            self.cache_dir,
        )
        if deliver and self.settings is not None:
            self.deliver_alerts()
        return self.get_job(job_id)

    def jobs(self, name: str, *, limit: int = 100) -> list[ModelMonitoringJob]:
        """The monitor's jobs, newest first."""
        limit = check_limit(limit)
        with self.store.transaction() as conn:
            row = _rows.monitor_row(conn, check_monitor_name(name))
            return [job_record(r, row.name) for r in jobs_of(conn, row.id, limit)]

    def get_job(self, job_id: int, *, monitor: str | None = None) -> ModelMonitoringJob:
        """One job (of `monitor`, when given); `JobNotFound` when there is none of that id
        (or it is another monitor's)."""
        with self.store.transaction() as conn:
            found = job_row(conn, check_job_id(job_id))
        if found is None:
            raise JobNotFound(
                f"no monitoring job {job_id}; `conveyor monitors jobs MONITOR` lists a "
                "monitor's jobs"
            )
        job = job_record(*found)
        if monitor is not None and job.monitor != monitor:
            raise JobNotFound(f"monitor {monitor!r} has no job {job_id}")
        return job

    def job_metrics(self, job_id: int) -> list[MonitoringMetric]:
        """The metrics one job wrote (per objective and field); `JobNotFound` when none."""
        job = self.get_job(job_id)
        with self.store.transaction() as conn:
            return [metric_record(row, job.monitor) for row in metrics_of_job(conn, job.id)]

    def search_metrics(
        self,
        name: str | None = None,
        *,
        feature: str | None = None,
        objective: Objective | str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        anomalies_only: bool = False,
        limit: int = 1000,
    ) -> list[MonitoringMetric]:
        """Metrics of the jobs (of monitor `name`, or all), oldest window first: the latest
        `limit` whose window ends after `start_time` and at or before `end_time`."""
        criteria = check_metric_query(objective, start_time, end_time, limit)
        with self.store.transaction() as conn:
            monitor_id = None
            if name is not None:
                monitor_id = _rows.monitor_row(conn, check_monitor_name(name)).id
            found = metric_rows(
                conn,
                monitor_id=monitor_id,
                feature=feature,
                anomalies_only=anomalies_only,
                **criteria,
            )
        return [metric_record(row, monitor) for row, monitor in found]

    # Alerts and their delivery (conveyor.monitoring.alert_search, .delivery)

    def search_alerts(
        self,
        name: str | None = None,
        *,
        feature: str | None = None,
        objective: Objective | str | None = None,
        kind: AlertKind | str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int = alert_search.DEFAULT_LIMIT,
    ) -> list[MonitoringAlert]:
        """Alerts (of monitor `name`, or of all), newest first: the latest `limit` raised
        at or after `start_time` and before `end_time`."""
        query = alert_search.AlertQuery.of(
            feature=feature,
            objective=objective,
            kind=kind,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
        )
        with self.store.transaction() as conn:
            monitor_id = None
            if name is not None:
                monitor_id = _rows.monitor_row(conn, check_monitor_name(name)).id
            return alert_search.search(conn, monitor_id, query)

    def deliveries(self, *alert_ids: int) -> list[AlertDelivery]:
        """The deliveries of these alerts (one per channel and destination), by alert."""
        ids = [alert_search.check_alert_id(a) for a in alert_ids]
        with self.store.transaction() as conn:
            return alert_search.deliveries(conn, ids)

    def deliver_alerts(self, *, now: datetime | None = None) -> list[AlertDelivery]:
        """Send the alerts' deliveries due now (each claimed first, so it is sent once
        however many processes call this); the deliveries attempted, after the attempt."""
        return self.deliverer().deliver_due(now)

    def deliverer(self) -> Deliverer:
        """What sends the alerts: the home's alert log and SMTP server."""
        if self.settings is None:
            raise MonitorUsageError(
                "alert delivery needs the home's settings: use `open_home().monitors`, or "
                "Monitors(..., settings=Settings.from_env())"
            )
        from conveyor.monitoring.delivery import Deliverer

        return Deliverer(self.store, self.settings)

    # Ground truth and the report (conveyor.monitoring.feedback, .performance, .report)

    def feedback(
        self,
        name: str,
        labels: Any,
        *,
        request_id_column: str = "request_id",
        index_column: str = "instance_index",
        label_column: str = "label",
    ) -> FeedbackSummary:
        """Take ground truth labels for the predictions of monitor `name`'s model: a
        `.parquet` or `.csv` path, or a list of rows, with the instance id (`request_id`,
        `instance_index`, 0 when left out) and the `label`. They are kept in the artifact
        store for the model; the summary says how many name a logged prediction."""
        from conveyor.monitoring.feedback import read_labels, record_feedback

        monitor = self.get(name)
        if self.artifacts is None:
            raise MonitorUsageError(
                "labels: these monitors have no artifact store to keep labels in; use the "
                "monitors of a home (home.monitors)"
            )
        table = read_labels(
            labels,
            request_id_column=request_id_column,
            index_column=index_column,
            label_column=label_column,
        )
        return record_feedback(
            self.store, self.artifacts, monitor=monitor.name, model=monitor.model, labels=table
        )

    def live_performance(
        self, name: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[PerformanceResult]:
        """The metrics of the version monitor `name` watches now over its labelled
        predictions logged in [`start`, `end`) (None: unbounded), with the thresholds of
        its `model_performance_spec` ([] when it has none)."""
        from conveyor.monitoring.performance import live_performance

        monitor = self.get(name)
        version = self._resolve(monitor.target)[1]
        return live_performance(
            self.store, monitor, model=monitor.model, version=version.version_id, start=start,
            end=end,
        )  # fmt: skip

    def report(self, job_id: int, *, history: int = 20) -> str:
        """The HTML report of job `job_id` (`conveyor.monitoring.report`): one
        self-contained page, the distances over the monitor's last `history` jobs."""
        from conveyor.monitoring.report import render

        return render(job_id, self, history=history)

    # Plumbing

    def _settings(self, *, name: str, **given: Any) -> dict[str, Any]:
        """The columns of the simple fields `given` (None: the default), checked."""
        checks = {
            "display_name": ("display_name", lambda v: check_display_name(v, name)),
            "window": (
                "target_window",
                lambda v: check_duration(DEFAULT_WINDOW if v is None else v, "window"),
            ),
            "offset": (
                "target_offset",
                lambda v: None if v is None else check_duration(v, "offset", zero=True),
            ),
            "sampling_rate": (
                "sampling_rate",
                lambda v: check_sampling_rate(DEFAULT_SAMPLING_RATE if v is None else v),
            ),
            "min_samples": (
                "min_samples",
                lambda v: check_min_samples(DEFAULT_MIN_SAMPLES if v is None else v),
            ),
            "notification_spec": ("notification_spec", lambda v: check_notification(v).to_json()),
            "training_dataset": ("training_dataset", self._baseline),
        }
        values: dict[str, Any] = {}
        for key, value in given.items():
            column, check = checks[key]
            values[column] = check(value)
        return values

    def _resolve(self, target: Any) -> tuple[Reference, ModelVersion]:
        try:
            ref = parse_reference(target)
        except InvalidName as exc:
            raise MonitorUsageError(f"target: {exc}") from None
        except NotFound as exc:
            raise TargetNotFound(f"target {target!r}: {exc}") from None
        try:
            return ref, self.registry.get_version(ref.model, ref.version or ref.alias)
        except NotFound as exc:
            raise TargetNotFound(
                f"target {target!r}: {exc}; a monitor watches a registered version "
                "(`conveyor models list` shows them)"
            ) from None

    def _schema(self, given: Any, version: ModelVersion) -> ModelMonitoringSchema:
        if given is None:
            return schema_of_version(version.input_schema, version.output_schema, version.reference)
        return check_schema(given, predictions_of(version.output_schema))

    def _baseline(self, value: Any) -> dict[str, Any]:
        """The training dataset, checked: a local path exists and is readable under the
        registry's policy, a URL has a scheme it reads, an artifact id names an artifact."""
        baseline = check_training_dataset(value)
        if "uri" in baseline:
            uri = baseline["uri"]
            try:
                if is_local(uri):
                    path = local_of(uri)
                    self.registry.policy.check_local(path.resolve())
                    if not path.exists():
                        raise MonitorUsageError(
                            f"training_dataset.uri: {path} does not exist; give the path of "
                            "the training data (a file or a folder of files)"
                        )
                    baseline["uri"] = os.fspath(path)
                else:
                    self.registry.policy.check_url(uri)
            except InvalidArtifact as exc:
                raise MonitorUsageError(f"training_dataset.uri: not readable here: {exc}") from None
        elif "artifact_id" in baseline:
            try:
                self.store.get_artifact(baseline["artifact_id"])
            except NotFound:
                raise MonitorUsageError(
                    f"training_dataset.artifact_id: the metadata store has no artifact "
                    f"{baseline['artifact_id']}; `conveyor lineage` shows a run's artifacts"
                ) from None
        return baseline

    def _monitor(self, row: Any, resolved: dict[str, int | None]) -> ModelMonitor:
        ref = parse_reference(row.target)
        if row.target not in resolved:
            try:
                found = self.registry.get_version(ref.model, ref.version or ref.alias)
                resolved[row.target] = found.version_id
            except NotFound:
                resolved[row.target] = None
        schema = row.model_monitoring_schema
        return ModelMonitor(
            name=row.name,
            display_name=row.display_name,
            target=row.target,
            model=ref.model,
            alias=None if ref.version is not None else (ref.alias or DEFAULT),
            model_version_id=resolved[row.target],
            training_dataset=dict(row.training_dataset),
            model_monitoring_schema=ModelMonitoringSchema(
                **{
                    part: [FieldSchema(f["name"], DataType(f["data_type"])) for f in fields]
                    for part, fields in schema.items()
                }
            ),
            tabular_objective=_objective(row.tabular_objective),
            notification_spec=_notification(row.notification_spec),
            window=row.target_window,
            offset=row.target_offset,
            sampling_rate=row.sampling_rate,
            min_samples=row.min_samples,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _objective(stored: dict[str, Any]) -> TabularObjective:
    performance = stored.get(PERFORMANCE_SPEC)
    return TabularObjective(
        **{
            key: None if spec is None else _spec(spec)
            for key, spec in stored.items()
            if key != PERFORMANCE_SPEC
        },
        model_performance_spec=None if performance is None else _performance(performance),
    )


PERFORMANCE_SPEC = Objective.MODEL_PERFORMANCE.spec


def _performance(stored: dict[str, Any]) -> ModelPerformanceSpec:
    task = stored.get("task")
    return ModelPerformanceSpec(
        thresholds=dict(stored.get("thresholds") or {}),
        min_samples=stored.get("min_samples"),
        task=None if task is None else Task(task),
    )


def _spec(stored: dict[str, Any]) -> DataDriftSpec:
    return DataDriftSpec(
        **{
            **stored,
            "categorical_metric_type": MetricType(stored["categorical_metric_type"]),
            "numeric_metric_type": MetricType(stored["numeric_metric_type"]),
        }
    )


def _notification(stored: dict[str, Any]) -> NotificationSpec:
    webhook = stored.get("webhook")
    return NotificationSpec(
        **{**stored, "webhook": None if webhook is None else WebhookSpec(**webhook)}
    )
