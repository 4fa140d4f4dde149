"""Monitoring jobs (Vertex AI's `ModelMonitoringJob`): one evaluation of a monitor over a
target window of the prediction log.

A job's row goes PENDING → RUNNING → SUCCEEDED or FAILED. Running, it resolves the
monitor's target again (following the alias), reads the window (`windows`), summarises
the references, compares (`significance.compare`) and, in one closing transaction,
writes one metric per objective and field, the alerts and their deliveries (`alerts`),
the job's summary and the execution recording it. The objectives:

    feature_skew              the target window's features against the training baseline
    feature_drift             the target window's features against the window just before
    prediction_output_drift   the target window's predictions against the window before
    model_performance         the target window's predictions against their labels

Any error while running ends the job FAILED with the error as its message (a feature the
log lacks, a changed schema, a corrupt Parquet file, an unreadable baseline); a window
with too few rows is not a failure: its metrics are `insufficient_data`. Nothing escapes
as a job left RUNNING.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, insert, select, update

from conveyor.errors import UsageError
from conveyor.monitoring import alerts, baselines
from conveyor.monitoring._rows import JOBS, METRICS, MONITORS
from conveyor.monitoring.performance import live_performance, metric_rows
from conveyor.monitoring.records import (
    FieldSchema,
    JobState,
    ModelMonitor,
    Objective,
)
from conveyor.monitoring.significance import INSUFFICIENT_DATA, Assessment, NullCache, compare
from conveyor.monitoring.statistics import (
    FeatureStatistics,
    Statistics,
    StatisticsError,
    baseline_statistics,
    target_statistics,
)
from conveyor.monitoring.windows import Window, WindowReader, columns_of, in_window, overlapping
from conveyor.registry import ModelVersion
from conveyor.store.artifacts.digest import of_path
from conveyor.store.artifacts.naming import is_local, local_of
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.kinds import ExecutionState, RunStatus
from conveyor.store.metadata.models import Artifact, ArtifactType
from conveyor.store.metadata.recording import now

EXECUTION_TYPE = "conveyor.ModelMonitoringJob"
"""The metadata store type of the executions recording jobs."""

log = logging.getLogger("conveyor.monitoring")


@dataclasses.dataclass
class Outcome:
    """What a job found: its metric rows (without ids) and what it read."""

    metrics: list[dict[str, Any]]
    rows_read: int
    files: list[int]
    baseline_artifact: int | None


@dataclasses.dataclass
class Evaluation:
    """One job's evaluation of a monitor over a window (all but the store writes)."""

    store: MetadataStore
    monitor: ModelMonitor
    version: ModelVersion
    window: Window
    sampling_rate: float
    seed: int
    cache_dir: Path | None
    baseline_artifact: int | None = None

    def run(self) -> Outcome:
        schema = self.monitor.model_monitoring_schema
        specs = self.monitor.tabular_objective.specs()
        watched = {o: spec.watched(schema.fields_of(o)) for o, spec in specs.items()}
        fields = _unique(f for found in watched.values() for f in found)
        columns = columns_of(
            [f.name for f in fields if f in schema.feature_fields],
            [f.name for f in schema.prediction_fields],
        )
        drift = [o for o in watched if o is not Objective.FEATURE_SKEW]
        windows = [self.window, self.window.before()] if drift else [self.window]
        files = overlapping(self.store, self.version.model, self.version.version_id, windows)
        reader = WindowReader(
            files,
            self.version.model,
            self.version.version_id,
            {f.name: columns[f.name] for f in fields},
            sampling_rate=self.sampling_rate,
            seed=self.seed,
        )
        # A feature the requests lack is the monitor's mistake: the job fails naming it. A
        # prediction the log does not type (probabilities, several outputs) has no
        # values: its output drift is insufficient data, not a failure of every job.
        reader.check_columns(self.window, [f.name for f in fields if f in schema.feature_fields])
        # Each reference (the window before, the training baseline) with the fields
        # compared with it; the target window is then read once for all of them.
        references: list[tuple[list[Objective], list[FieldSchema], Statistics | None]] = []
        if drift:
            drifted = _unique(f for o in drift for f in watched[o])
            references.append((drift, drifted, self._reference_of_window(reader, drifted)))
        if Objective.FEATURE_SKEW in watched:
            skewed = watched[Objective.FEATURE_SKEW]
            references.append(([Objective.FEATURE_SKEW], skewed, self._training(skewed)))
        targets, target_rows = self._targets(reader, [(r, f) for _, f, r in references])
        metrics: list[dict[str, Any]] = []
        for (objectives, _, reference), target in zip(references, targets, strict=True):
            for objective in objectives:
                metrics += self._metrics(objective, watched[objective], reference, target)
        metrics += self._performance()
        read = {f.id for w in windows for f in in_window(files, w)}
        return Outcome(metrics, target_rows, sorted(read), self.baseline_artifact)

    # References and targets

    def _reference_of_window(
        self, reader: WindowReader, fields: Sequence[FieldSchema]
    ) -> Statistics | None:
        """The statistics of the window before the target (None: no rows there)."""
        source = _filled(reader.source(self.window.before(), 1), fields)
        if next(iter(source()), None) is None:
            return None
        return baseline_statistics(
            source, features=[f.name for f in fields], categorical=_categorical(fields)
        )

    def _targets(
        self,
        reader: WindowReader,
        references: Sequence[tuple[Statistics | None, Sequence[FieldSchema]]],
    ) -> tuple[list[Statistics | None], int]:
        """The target window's statistics on each reference's edges (None where the
        reference is None), and its rows, in one pass over the window. A feature measured
        alike for two references (a categorical one, or numeric on the same edges) is
        counted once."""
        present = [(r, fields) for r, fields in references if r is not None]
        if not present:
            return [None] * len(references), sum(
                b.num_rows for b in reader.source(self.window, 0)()
            )
        # Each distinct (field, kind, edges) is one column of the pass: the field's name
        # the first time (so that an error names the field), a numbered one after.
        keys: dict[tuple[str, str, tuple[float, ...]], str] = {}
        wanted: dict[str, FeatureStatistics] = {}
        for reference, fields in present:
            for f in fields:
                feature = reference.features[f.name]
                key = (f.name, feature.kind, getattr(feature, "edges", ()))
                if key not in keys:
                    keys[key] = f.name if f.name not in wanted else f"{f.name}\x00{len(keys)}"
                    wanted[keys[key]] = feature
        fields = _unique(f for _, found in present for f in found)
        rows = 0

        def stream() -> Iterator[pa.RecordBatch]:
            nonlocal rows
            for batch in _filled(reader.source(self.window, 0), fields)():
                rows += batch.num_rows
                names = batch.schema.names
                columns = [batch.column(names.index(field)) for field, _, _ in keys]
                yield pa.RecordBatch.from_arrays(columns, names=list(keys.values()))

        found = target_statistics(stream(), Statistics(0, wanted))
        targets: list[Statistics | None] = []
        for reference, fields in references:
            if reference is None:
                targets.append(None)
                continue
            features = {}
            for f in fields:
                feature = reference.features[f.name]
                key = (f.name, feature.kind, getattr(feature, "edges", ()))
                features[f.name] = found.features[keys[key]]
            targets.append(Statistics(found.rows, features))
        return targets, rows

    def _training(self, fields: Sequence[FieldSchema]) -> Statistics:
        baseline = baselines.find(self.store, self.version, self.monitor.training_dataset)
        self.baseline_artifact = baseline.artifact_id or _record_baseline(self.store, baseline)
        statistics, _ = baselines.summarise(
            baseline, [f.name for f in fields], _categorical(fields), self.cache_dir
        )
        return statistics

    # Metrics

    def _performance(self) -> list[dict[str, Any]]:
        """The model's live metrics over the window (predictions with labels), when the
        monitor's `model_performance_spec` asks for them."""
        results = live_performance(
            self.store,
            self.monitor,
            model=self.version.model,
            version=self.version.version_id,
            start=self.window.start,
            end=self.window.end,
        )
        return metric_rows(results, self.window.start, self.window.end)

    def _metrics(
        self,
        objective: Objective,
        fields: Sequence[FieldSchema],
        reference: Statistics | None,
        target: Statistics | None,
    ) -> list[dict[str, Any]]:
        spec = self.monitor.tabular_objective.specs()[objective]
        if reference is None or target is None:
            found = {
                f.name: Assessment(
                    INSUFFICIENT_DATA,
                    distance=None,
                    threshold=spec.threshold(f),
                    null_quantile=None,
                    n_target=0,
                    n_reference=0,
                    min_samples=self.monitor.min_samples,
                    measure=spec.metric_type(f).value,
                )
                for f in fields
            }
        else:
            cache = NullCache.load(self._nulls) if self.cache_dir else NullCache()
            found = compare(
                _only(reference, fields),
                _only(target, fields),
                default_numeric_alert_threshold=spec.default_numeric_alert_threshold,
                default_categorical_alert_threshold=spec.default_categorical_alert_threshold,
                feature_alert_thresholds=spec.feature_alert_thresholds,
                measures={f.name: spec.metric_type(f).value for f in fields},
                cache=cache,
                min_samples=self.monitor.min_samples,
            )
            if self.cache_dir and cache.misses:
                cache.save(self._nulls)
        rows = []
        for field in fields:
            result = found[field.name]
            insufficient = result.status == INSUFFICIENT_DATA
            rows.append(
                {
                    "feature": field.name,
                    "objective": objective.value,
                    "metric_type": spec.metric_type(field).value,
                    "value": None if insufficient else result.distance,
                    "threshold": result.threshold,
                    "chance_level": result.null_quantile,
                    "anomaly": result.anomaly,
                    "insufficient_data": insufficient,
                    "baseline_count": result.n_reference or 0,
                    "target_count": result.n_target,
                    "window_start": self.window.start,
                    "window_end": self.window.end,
                    "statistics": None
                    if reference is None or target is None
                    else {
                        "baseline": reference.features[field.name].to_json(),
                        "target": target.features[field.name].to_json(),
                    },
                }
            )
        return rows

    @property
    def _nulls(self) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / "nulls.json"


# The job's rows


def start(conn: Connection, monitor_id: int, model: str, window: Window) -> int:
    """A new PENDING job of the monitor; its id."""
    return conn.execute(
        insert(JOBS).values(
            monitor_id=monitor_id,
            execution_id=None,
            state=JobState.PENDING.value,
            model_name=model,
            model_version_id=None,
            window_start=window.start,
            window_end=window.end,
            created_at=now(),
            ended_at=None,
            error=None,
            summary=None,
        )
    ).inserted_primary_key[0]


def set_running(conn: Connection, job_id: int, version_id: int | None) -> None:
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id == job_id)
        .values(state=JobState.RUNNING.value, model_version_id=version_id)
    )


def finish(
    conn: Connection,
    job_id: int,
    *,
    monitor: ModelMonitor,
    monitor_id: int,
    outcome: Outcome | None,
    error: str | None,
    execution_id: int | None,
    seconds: float,
) -> None:
    """The job's closing writes, in the caller's one transaction: its metrics, alerts and
    deliveries, its state, summary and execution."""
    summary: dict[str, Any] = {"duration_seconds": round(seconds, 3)}
    if outcome is not None:
        written = []
        for row in outcome.metrics:
            values = {**row, "job_id": job_id, "monitor_id": monitor_id}
            conn.execute(insert(METRICS).values(**values))
            written.append(values)
        raised = alerts.decide(
            conn,
            monitor_id=monitor_id,
            monitor=monitor.name,
            job_id=job_id,
            notification=monitor.notification_spec,
            metrics=written,
            at=now(),
        )
        summary.update(
            objectives=_counts(outcome.metrics),
            rows_read=outcome.rows_read,
            files_read=len(outcome.files),
            alerts=raised,
        )
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id == job_id)
        .values(
            state=(JobState.FAILED if error else JobState.SUCCEEDED).value,
            error=error,
            summary=summary,
            ended_at=now(),
            execution_id=execution_id,
        )
    )


def _counts(metrics: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for row in metrics:
        found = counts.setdefault(
            row["objective"], {"anomaly": 0, "normal": 0, "insufficient_data": 0}
        )
        key = (
            "anomaly"
            if row["anomaly"]
            else "insufficient_data"
            if row["insufficient_data"]
            else "normal"
        )
        found[key] += 1
    return counts


def record_execution(
    store: MetadataStore,
    monitor: str,
    job_id: int,
    *,
    inputs: Mapping[str, Sequence[int]],
    error: str | None,
    parameters: Mapping[str, Any],
    outputs: Mapping[str, Any],
) -> int:
    """The job as an execution of type `conveyor.ModelMonitoringJob`, in a run of its own
    (pipeline `monitor-<name>`), with INPUT events to what it read; its id."""
    run_id = f"monitor-{monitor}-job-{job_id}-{secrets.token_hex(3)}"
    store.create_run(run_id, f"monitor-{monitor}", parameters=dict(parameters))
    execution_id = store.create_execution(
        run_id, "monitor", type=EXECUTION_TYPE, parameters=dict(parameters), inputs=inputs
    )
    state = ExecutionState.FAILED if error else ExecutionState.COMPLETE
    store.finish_execution(execution_id, state, outputs=dict(outputs), error=error)
    store.update_run(run_id, RunStatus.FAILED if error else RunStatus.SUCCEEDED, error=error)
    return execution_id


def _record_baseline(store: MetadataStore, baseline: baselines.Baseline) -> int | None:
    """The Dataset artifact of a baseline given by URI: the LIVE one at that URI, else one
    recorded now (with its sha256 when it is local)."""
    query = (
        select(Artifact.id)
        .join(ArtifactType, ArtifactType.id == Artifact.type_id)
        .where(Artifact.uri == baseline.uri, ArtifactType.name == baselines.DATASET_TYPE)
        .order_by(Artifact.id.desc())
        .limit(1)
    )
    with store.transaction() as conn:
        found = conn.execute(query).scalar()
    if found is not None:
        return found
    artifact_id = store.create_artifact(
        baseline.uri,
        baselines.DATASET_TYPE,
        "training_dataset",
        metadata={"data_format": baseline.data_format},
    )
    if is_local(baseline.uri):
        digest = of_path(local_of(baseline.uri))
        store.publish_artifact(artifact_id, sha256=digest.sha256, size=digest.size)
    return artifact_id


# Helpers


def described(exc: BaseException) -> str:
    """A job's error message for `exc`."""
    if isinstance(exc, UsageError | StatisticsError):
        return str(exc)
    if isinstance(exc, pa.ArrowException | OSError):
        return f"reading the data failed: {exc}"
    return f"internal error ({type(exc).__name__}: {exc}); the log of the process has the trace"


def _unique(fields: Any) -> list[FieldSchema]:
    return list(dict.fromkeys(fields))


def _categorical(fields: Sequence[FieldSchema]) -> list[str]:
    return [f.name for f in fields if not f.data_type.numeric]


def _only(statistics: Statistics, fields: Sequence[FieldSchema]) -> Statistics:
    names = [f.name for f in fields]
    return Statistics(statistics.rows, {n: statistics.features[n] for n in names})


def _filled(source: Any, fields: Sequence[FieldSchema]) -> Any:
    """`source` with a null column for each field a batch lacks (a file of another
    layout), typed as the field is measured."""

    def read() -> Iterator[pa.RecordBatch]:
        for batch in source():
            names = batch.schema.names
            missing = [f for f in fields if f.name not in names]
            if missing:
                arrays = list(batch.columns)
                for f in missing:
                    kind = pa.float64() if f.data_type.numeric else pa.string()
                    arrays.append(pa.nulls(batch.num_rows, kind))
                batch = pa.RecordBatch.from_arrays(
                    arrays, names=[*names, *(f.name for f in missing)]
                )
            yield batch

    return read


def elapsed(started: float) -> float:
    return time.monotonic() - started


def run_job(
    store: MetadataStore,
    monitor: ModelMonitor,
    resolve: Any,
    window: Window,
    sampling_rate: float,
    cache_dir: Path | None,
) -> int:
    """Run one job of `monitor` over `window` (`resolve()` gives the version its target
    names now); the job's id. Whatever happens, the job ends SUCCEEDED or FAILED."""
    started = time.monotonic()
    with store.transaction(write=True) as conn:
        monitor_id = conn.execute(
            select(MONITORS.c.id).where(MONITORS.c.name == monitor.name)
        ).scalar_one()
        job_id = start(conn, monitor_id, monitor.model, window)
    version: ModelVersion | None = None
    outcome: Outcome | None = None
    error: str | None = None
    evaluation: Evaluation | None = None
    try:
        version = resolve()
        with store.transaction(write=True) as conn:
            set_running(conn, job_id, version.version_id)
        evaluation = Evaluation(
            store, monitor, version, window, sampling_rate, seed=job_id, cache_dir=cache_dir
        )
        outcome = evaluation.run()
    except Exception as exc:
        error = described(exc)
        if not isinstance(exc, UsageError | StatisticsError):
            log.exception("monitoring job %d of %s failed", job_id, monitor.name)
    execution_id = None
    try:
        inputs: dict[str, list[int]] = {}
        if version is not None and version.artifact_id is not None:
            inputs["model"] = [version.artifact_id]
        baseline = (
            outcome.baseline_artifact
            if outcome
            else (evaluation.baseline_artifact if evaluation else None)
        )
        if baseline is not None:
            inputs["baseline"] = [baseline]
        if outcome is not None and outcome.files:
            inputs["prediction_logs"] = outcome.files
        parameters = {
            "monitor": monitor.name,
            "job_id": job_id,
            "target": monitor.target,
            "model_version": None if version is None else version.reference,
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "sampling_rate": sampling_rate,
        }
        outputs = {"state": (JobState.FAILED if error else JobState.SUCCEEDED).value}
        if outcome is not None:
            outputs["anomalies"] = sum(1 for m in outcome.metrics if m["anomaly"])
        execution_id = record_execution(
            store, monitor.name, job_id, inputs=inputs, error=error,
            parameters=parameters, outputs=outputs,
        )  # fmt: skip
    except Exception:
        log.exception("monitoring job %d: recording its execution failed", job_id)
    try:
        with store.transaction(write=True) as conn:
            finish(
                conn, job_id, monitor=monitor, monitor_id=monitor_id, outcome=outcome,
                error=error, execution_id=execution_id, seconds=elapsed(started),
            )  # fmt: skip
    except Exception as exc:
        log.exception("monitoring job %d: writing its outputs failed", job_id)
        with store.transaction(write=True) as conn:
            finish(
                conn, job_id, monitor=monitor, monitor_id=monitor_id, outcome=None,
                error=f"writing the job's outputs failed: {described(exc)}",
                execution_id=execution_id, seconds=elapsed(started),
            )  # fmt: skip
    return job_id
