"""`Experiments`: experiments, their runs, and what is logged to them (Vertex AI
Experiments), kept in the metadata store.

    from conveyor.home import open_home

    with open_home() as home:
        experiments = home.experiments
        experiments.create("churn", description="tree models against boosting")
        experiments.start_run("churn", "depth-4")
        experiments.log_params("churn", "depth-4", {"max_depth": 4})
        experiments.log_time_series_metrics("churn", "depth-4", {"loss": 0.3}, step=1)
        experiments.log_metrics("churn", "depth-4", {"accuracy": 0.91})
        experiments.end_run("churn", "depth-4")
        experiments.search_runs(["churn"], order_by="metric.accuracy DESC").runs

An experiment and each of its runs are contexts (`system.Experiment`,
`system.ExperimentRun`; `conveyor.store.metadata.experiment_contexts`); a pipeline run that
joins an experiment (`conveyor run --experiment`) is one of its runs too, whose state,
params and metrics are read from the pipeline run and its tasks' `Metrics` outputs. Each call
is one transaction, and checks everything before it writes: a run that ended, a param changed
within its run, a metric that is not a number or a step that is not an integer is refused
with nothing written. See docs/experiments.md.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row

from conveyor.experiments import _rows, classification, models, search
from conveyor.experiments.errors import (
    ExperimentConflict,
    ExperimentNotFound,
    ExperimentRunNotFound,
    ExperimentUsageError,
)
from conveyor.experiments.records import (
    ClassificationMetrics,
    Experiment,
    ExperimentRun,
    RunPage,
    TimeSeriesPoint,
)
from conveyor.experiments.values import (
    check_key,
    check_metrics,
    check_params,
    check_step,
    check_wall_time,
    from_json,
    number,
    to_json,
)
from conveyor.store.metadata import experiment_contexts
from conveyor.store.metadata.kinds import ExperimentRunState, RunStatus
from conveyor.store.metadata.mlmd_tables import ARTIFACT_TYPES
from conveyor.store.metadata.recording import get_or_create, now

if TYPE_CHECKING:
    from conveyor.registry import ModelVersion, Registry
    from conveyor.store.artifacts import ArtifactStore
    from conveyor.store.metadata import MetadataStore

_PIPELINE_STATES = {
    RunStatus.RUNNING: ExperimentRunState.RUNNING,
    RunStatus.SUCCEEDED: ExperimentRunState.COMPLETE,
    RunStatus.FAILED: ExperimentRunState.FAILED,
    RunStatus.CANCELLED: ExperimentRunState.CANCELLED,
}
"""A pipeline run's status as the state of its experiment run."""

Point = tuple[str, float, int, float]
"""A time-series point as `log_points` takes it: key, value, step, wall time (seconds)."""
Change = Callable[[Connection, dict[str, Any], int], list[dict[str, Any]] | None]
"""A change to a run: given the transaction, the run's properties to change in place and its
context id; it may return time-series rows to insert."""


class Experiments:
    """The experiments of one metadata store; `registry` and `artifacts` serve `log_model`."""

    def __init__(
        self,
        store: MetadataStore,
        registry: Registry | None = None,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.artifacts = artifacts
        self._type_ids: tuple[int, int] | None = None

    # -- experiments -------------------------------------------------------------

    def create(
        self, name: str, *, description: str | None = None, exist_ok: bool = False
    ) -> Experiment:
        """Make experiment `name`; with `exist_ok`, an existing one is returned as it is."""
        experiment_contexts.check_name(name, "experiment")
        with self.store.transaction(write=True) as conn:
            types = self._types(conn)
            if experiment_contexts.find(conn, types[0], name) is not None and not exist_ok:
                raise ExperimentConflict(
                    f"experiment {name!r} exists already; use it, or give another name"
                )
            experiment_contexts.ensure_experiment(conn, types[0], name, description, now())
            return self._experiment(conn, types, name)

    def get(self, name: str) -> Experiment:
        with self.store.transaction() as conn:
            return self._experiment(conn, self._types(conn), name)

    def list(self) -> list[Experiment]:
        """Every experiment, by name."""
        with self.store.transaction() as conn:
            rows = _rows.experiment_rows(conn, *self._types(conn))
        return [_experiment_of(row, row.run_count) for row in rows]

    def delete(self, name: str) -> int:
        """Delete an experiment and its runs (their points too); the number of runs deleted.
        A pipeline run that joined it stays, out of the experiment; so do the artifacts its
        runs logged, and the model versions."""
        with self.store.transaction(write=True) as conn:
            types = self._types(conn)
            experiment = _rows.experiment_row(conn, types[0], name)
            runs = _rows.run_rows(conn, types[1], [experiment.id])
            self._leave_pipeline_runs(conn, runs)
            _rows.delete_runs(conn, [row.id for row in runs])
            _rows.delete_context(conn, experiment.id)
        return len(runs)

    # -- runs ---------------------------------------------------------------------

    def start_run(
        self,
        experiment: str,
        run: str,
        *,
        resume: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> ExperimentRun:
        """Start run `run` of `experiment` (which must exist); with `resume`, start again a
        run that exists (RUNNING once more, to log more to it)."""
        experiment_contexts.check_name(run, "run")
        labels = experiment_contexts.check_labels(labels)
        with self.store.transaction(write=True) as conn:
            types = self._types(conn)
            found = _rows.experiment_row(conn, types[0], experiment)
            if resume:
                row = _rows.run_row(conn, types[1], experiment, run, lock=True)
                properties = row.properties
                if properties.get("pipeline_run"):
                    raise ExperimentConflict(
                        f"run {run!r} is pipeline run {properties['pipeline_run']}; resume it "
                        "with `conveyor runs resume`"
                    )
                properties.update(state=ExperimentRunState.RUNNING.value, ended_at=None)
                properties["labels"] = {**properties.get("labels", {}), **labels}
                _rows.set_properties(conn, row.id, properties, now())
            else:
                properties = experiment_contexts.new_run_properties(experiment, run, labels=labels)
                experiment_contexts.create_run(conn, types[1], found.id, properties, now())
            return self._run(conn, types[1], experiment, run)

    def end_run(
        self,
        experiment: str,
        run: str,
        state: ExperimentRunState | str = ExperimentRunState.COMPLETE,
    ) -> ExperimentRun:
        """End a RUNNING run as COMPLETE (or FAILED, CANCELLED)."""
        state = _final_state(state)

        def end(_conn: Connection, properties: dict[str, Any], _context: int) -> None:
            properties.update(state=state.value, ended_at=now().isoformat())

        self._change(experiment, run, end)
        return self.get_run(experiment, run)

    def get_run(self, experiment: str, run: str) -> ExperimentRun:
        with self.store.transaction() as conn:
            return self._run(conn, self._types(conn)[1], experiment, run)

    def list_runs(self, experiment: str | Sequence[str]) -> list[ExperimentRun]:
        """The runs of one experiment or several, oldest first."""
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        with self.store.transaction() as conn:
            types = self._types(conn)
            ids = [_rows.experiment_row(conn, types[0], name).id for name in names]
            return self._records(conn, _rows.run_rows(conn, types[1], ids))

    def search_runs(
        self,
        experiments: str | Sequence[str],
        *,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> RunPage:
        """One page of the runs of `experiments` as rows of columns, filtered, ordered and
        projected (`conveyor.experiments.search`)."""
        search.parse_filter(filter)  # a bad filter fails before the runs are read
        search.parse_order(order_by)
        return search.search(
            self.list_runs(experiments),
            filter=filter,
            order_by=order_by,
            page_size=page_size,
            page_token=page_token,
            columns=columns,
        )

    def delete_run(self, experiment: str, run: str) -> None:
        """Delete a run with its points; a pipeline run stays, out of the experiment."""
        with self.store.transaction(write=True) as conn:
            row = _rows.run_row(conn, self._types(conn)[1], experiment, run, lock=True)
            self._leave_pipeline_runs(conn, [row])
            _rows.delete_runs(conn, [row.id])

    # -- by context id (MLflow's ids) ---------------------------------------------

    def experiment_ids(self) -> dict[str, int]:
        """The context id of every experiment, by name: the ids MLflow knows them by."""
        with self.store.transaction() as conn:
            types = self._types(conn)
            return {row.name: row.id for row in _rows.experiment_rows(conn, *types)}

    def experiment_by_id(self, context_id: int) -> Experiment:
        """The experiment whose context id is `context_id`."""
        with self.store.transaction() as conn:
            types = self._types(conn)
            found = _rows.contexts_by_id(conn, types[0], [context_id])
            if not found:
                raise ExperimentNotFound(f"no experiment has the id {context_id}")
            return _experiment_of(found[0], _rows.run_count(conn, types[1], context_id))

    def run_id(self, experiment: str, run: str) -> int:
        """The context id of a run: the id MLflow knows it by."""
        with self.store.transaction() as conn:
            return _rows.run_row(conn, self._types(conn)[1], experiment, run).id

    def run_by_id(self, context_id: int) -> ExperimentRun:
        """The run whose context id is `context_id` (its record names its experiment)."""
        with self.store.transaction() as conn:
            found = _rows.contexts_by_id(conn, self._types(conn)[1], [context_id])
            if not found:
                raise ExperimentRunNotFound(f"no experiment run has the id {context_id}")
            return self._records(conn, found)[0]

    def runs_by_id(self, experiment: str | Sequence[str]) -> dict[int, ExperimentRun]:
        """`list_runs` by context id, oldest first."""
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        with self.store.transaction() as conn:
            types = self._types(conn)
            ids = [_rows.experiment_row(conn, types[0], name).id for name in names]
            rows = _rows.run_rows(conn, types[1], ids)
            return dict(zip([row.id for row in rows], self._records(conn, rows), strict=True))

    def last_points(self, run_ids: Iterable[int]) -> dict[int, dict[str, TimeSeriesPoint]]:
        """The last point (highest step; at one step, the latest logged) of each time series
        of these runs, by context id then key, read at once; unknown ids are left out."""
        with self.store.transaction() as conn:
            rows = _rows.contexts_by_id(conn, self._types(conn)[1], run_ids)
        return {
            row.id: {
                key: TimeSeriesPoint(
                    last["step"],
                    float(from_json(last["value"])),
                    datetime.fromtimestamp(last["wall_time"], UTC),
                )
                for key, last in row.properties.get("time_series", {}).items()
            }
            for row in rows
        }

    # -- logging -------------------------------------------------------------------

    def log_params(self, experiment: str, run: str, params: Mapping[str, Any]) -> None:
        """Record params; logging one again with another value is refused (as Vertex AI and
        MLflow refuse it), with the same value is a no-op."""
        params = check_params(params)

        def add(_conn: Connection, properties: dict[str, Any], _context: int) -> None:
            _merge_params(properties["params"], params, run)

        self._change(experiment, run, add)

    def log_metrics(self, experiment: str, run: str, metrics: Mapping[str, Any]) -> None:
        """Record summary metrics; a metric logged again takes the new value."""
        metrics = check_metrics(metrics)

        def add(_conn: Connection, properties: dict[str, Any], _context: int) -> None:
            properties["metrics"].update((k, to_json(v)) for k, v in metrics.items())

        self._change(experiment, run, add)

    def set_labels(self, experiment: str, run: str, labels: Mapping[str, str]) -> None:
        labels = experiment_contexts.check_labels(labels)

        def add(_conn: Connection, properties: dict[str, Any], _context: int) -> None:
            properties.setdefault("labels", {}).update(labels)

        self._change(experiment, run, add)

    def log_time_series_metrics(
        self,
        experiment: str,
        run: str,
        metrics: Mapping[str, Any],
        step: int | None = None,
        wall_time: datetime | float | None = None,
    ) -> int:
        """Record one point of each metric at `step` (default: one past the run's highest
        step, 1 for its first) and `wall_time` (default: now); the step used."""
        values = check_metrics(metrics)
        checked_step = None if step is None else check_step(step)
        seconds = check_wall_time(wall_time)
        used: list[int] = []

        def add(conn: Connection, properties: dict[str, Any], context: int) -> list[dict[str, Any]]:
            series = properties["time_series"]
            at = checked_step
            if at is None:
                at = max((point["step"] for point in series.values()), default=0) + 1
            used.append(at)
            return _advance(series, context, [(k, v, at, seconds) for k, v in values.items()])

        self._change(experiment, run, add)
        return used[0]

    def log_points(
        self, experiment: str, run: str, points: Iterable[Point], *, as_summary: bool = False
    ) -> None:
        """Record many time-series points at once (key, value, step, wall time in seconds);
        with `as_summary`, each key's summary metric also becomes its series' last value
        (MLflow's `log_metric`, whose metrics are all series)."""
        self.log_batch(experiment, run, points=points, as_summary=as_summary)

    def log_batch(
        self,
        experiment: str,
        run: str,
        *,
        params: Mapping[str, Any] | None = None,
        points: Iterable[Point] = (),
        labels: Mapping[str, str] | None = None,
        as_summary: bool = False,
    ) -> None:
        """Params, time-series points (as `log_points` takes them) and labels in one
        transaction (MLflow's `log_batch`): all are checked first, and nothing is written when
        one is refused."""
        checked_params = check_params(params or {})
        checked_points = _checked_points(points)
        checked_labels = experiment_contexts.check_labels(labels)

        def add(conn: Connection, properties: dict[str, Any], context: int) -> list[dict[str, Any]]:
            _merge_params(properties["params"], checked_params, run)
            rows = _advance(properties["time_series"], context, checked_points)
            if as_summary:
                _summarize(properties, checked_points)
            properties.setdefault("labels", {}).update(checked_labels)
            return rows

        self._change(experiment, run, add)

    def time_series(
        self,
        experiment: str,
        run: str,
        keys: Sequence[str] | None = None,
        *,
        first_step: int | None = None,
        last_step: int | None = None,
    ) -> dict[str, list[TimeSeriesPoint]]:
        """The points of a run's time series (all, or `keys`), by key, in step order."""
        with self.store.transaction() as conn:
            row = _rows.run_row(conn, self._types(conn)[1], experiment, run)
            found = _rows.points(conn, row.id, keys, first_step, last_step)
        series: dict[str, list[TimeSeriesPoint]] = {}
        for point in found:
            value = float("nan") if point.value is None else point.value
            wall = datetime.fromtimestamp(point.wall_time, UTC)
            series.setdefault(point.key, []).append(TimeSeriesPoint(point.step, value, wall))
        return series

    def log_classification_metrics(
        self,
        experiment: str,
        run: str,
        *,
        labels: Sequence[str] | None = None,
        matrix: Sequence[Sequence[float]] | None = None,
        fpr: Sequence[float] | None = None,
        tpr: Sequence[float] | None = None,
        threshold: Sequence[float] | None = None,
        display_name: str | None = None,
    ) -> ClassificationMetrics:
        """Record a confusion matrix and/or an ROC curve as a `system.ClassificationMetrics`
        artifact of the run (Vertex AI's `log_classification_metrics`)."""
        metadata = classification.metadata_of(labels, matrix, fpr, tpr, threshold)
        name = display_name or "classification-metrics"
        if display_name is not None:
            metadata["display_name"] = display_name
        made: list[int] = []

        def add(conn: Connection, properties: dict[str, Any], context: int) -> None:
            type_id = get_or_create(conn, ARTIFACT_TYPES, {"name": classification.TYPE})
            made.append(_rows.add_artifact(conn, type_id, name, metadata))
            _rows.attribute(conn, context, made[0])

        self._change(experiment, run, add)
        return classification.record_of(made[0], name, metadata)

    def classification_metrics(self, experiment: str, run: str) -> list[ClassificationMetrics]:
        """The run's classification metrics: those logged to it, and for a pipeline run
        those its tasks wrote."""
        with self.store.transaction() as conn:
            row = _rows.run_row(conn, self._types(conn)[1], experiment, run)
            contexts = [row.id]
            pipeline_run = row.properties.get("pipeline_run")
            if pipeline_run:
                contexts += [r.id for r in _rows.pipeline_runs(conn, [pipeline_run]).values()]
            found = _rows.attributed(conn, contexts, [classification.TYPE])
        return [classification.record_of(a.id, a.name, a.metadata) for a in found]

    def log_model(
        self,
        experiment: str,
        run: str,
        model: Any,
        *,
        name: str,
        framework: str | None = None,
        input_schema: Any = None,
        aliases: Sequence[str] = (),
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register `model` as the next version of model `name` and link the version's
        artifact to the run. `model` is a fitted scikit-learn, XGBoost or LightGBM model
        (saved into the artifact store first) or the path of a saved model folder, with its
        `framework`."""
        if self.registry is None or self.artifacts is None:
            raise ExperimentUsageError("log_model needs a home with a registry and artifacts")
        self._running(experiment, run)  # before anything is saved
        uri = self._model_uri(experiment, run, name, model, framework)
        framework = framework or models.framework_of(model)
        version = self.registry.upload(
            name,
            uri,
            framework=framework,
            input_schema=input_schema,
            aliases=aliases,
            description=description,
            labels=labels,
            comment=f"logged by run {run!r} of experiment {experiment!r}",
        )

        def link(conn: Connection, properties: dict[str, Any], context: int) -> None:
            if version.artifact_id is not None:
                _rows.attribute(conn, context, version.artifact_id)
            properties.setdefault("models", []).append(version.reference)

        self._change(experiment, run, link)
        return version

    # -- inside ------------------------------------------------------------------

    def _change(self, experiment: str, run: str, change: Change) -> None:
        """Apply `change` to a RUNNING run's properties (it may return points to insert) in
        one write transaction."""
        with self.store.transaction(write=True) as conn:
            row = _rows.run_row(conn, self._types(conn)[1], experiment, run, lock=True)
            properties = row.properties
            self._check_running(conn, row)
            points = change(conn, properties, row.id)
            _rows.add_points(conn, points or [])
            _rows.set_properties(conn, row.id, properties, now())

    def _types(self, conn: Connection) -> tuple[int, int]:
        """The ids of the context types of experiments and their runs, kept once both exist
        (ids made in a transaction that may yet roll back are not kept)."""
        if self._type_ids is None:
            found = _rows.existing_context_types(conn)
            if found is None:
                return _rows.context_types(conn)
            self._type_ids = found
        return self._type_ids

    def _running(self, experiment: str, run: str) -> None:
        with self.store.transaction() as conn:
            row = _rows.run_row(conn, self._types(conn)[1], experiment, run)
            self._check_running(conn, row)

    def _check_running(self, conn: Connection, row: Row[Any]) -> None:
        properties = row.properties
        state = ExperimentRunState(properties["state"])
        if properties.get("pipeline_run"):  # its pipeline run's status decides
            state = self._records(conn, [row])[0].state
        if state != ExperimentRunState.RUNNING:
            raise ExperimentConflict(
                f"run {properties['run_name']!r} of experiment {properties['experiment']!r} "
                f"has ended ({state}); start_run({properties['run_name']!r}, resume=True) "
                "starts it again"
            )

    def _experiment(self, conn: Connection, types: tuple[int, int], name: str) -> Experiment:
        row = _rows.experiment_row(conn, types[0], name)
        return _experiment_of(row, _rows.run_count(conn, types[1], row.id))

    def _run(self, conn: Connection, run_type: int, experiment: str, run: str) -> ExperimentRun:
        return self._records(conn, [_rows.run_row(conn, run_type, experiment, run)])[0]

    def _records(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[ExperimentRun]:
        """Runs as records; those of pipeline runs read their pipeline run and its tasks'
        `Metrics` outputs (all of them in two queries)."""
        wanted = [
            row.properties["pipeline_run"] for row in rows if row.properties.get("pipeline_run")
        ]
        pipelines = _rows.pipeline_runs(conn, wanted) if wanted else {}
        by_context: dict[int, dict[str, float]] = {}
        if pipelines:
            contexts = {found.id: name for name, found in pipelines.items()}
            for artifact in _rows.attributed(conn, contexts, [classification.METRICS_TYPE]):
                metrics = by_context.setdefault(artifact.context_id, {})
                metrics.update(classification.scalar_metrics(artifact.metadata))
        return [_record_of(row, pipelines, by_context) for row in rows]

    def _leave_pipeline_runs(self, conn: Connection, rows: Iterable[Row[Any]]) -> None:
        """Take the pipeline runs of these experiment runs out of their experiment."""
        wanted = [
            row.properties["pipeline_run"] for row in rows if row.properties.get("pipeline_run")
        ]
        for found in _rows.pipeline_runs(conn, wanted).values():
            properties = found.properties
            properties.pop("experiment", None)
            _rows.set_properties(conn, found.id, properties, now())

    def _model_uri(
        self, experiment: str, run: str, name: str, model: Any, framework: str | None
    ) -> str:
        """Where the model is: its folder, or the artifact it was just saved as."""
        if isinstance(model, str | os.PathLike):
            if framework is None:
                raise ExperimentUsageError(
                    f"log_model of the path {os.fspath(model)!r} needs its framework"
                )
            return os.fspath(model)
        assert self.artifacts is not None
        uri = self.artifacts.uri_for(
            "experiments", experiment, run, "models", f"{name}-{secrets.token_hex(4)}"
        )
        staging = self.artifacts.staging_path(uri)
        try:
            saved = models.save(model, Path(staging))
            if framework is not None and framework != saved:
                raise ExperimentUsageError(
                    f"the model is a {saved} model, not {framework}; leave framework out"
                )
            self.artifacts.publish(Path(staging), uri)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return uri


def _merge_params(logged: dict[str, Any], params: Mapping[str, Any], run: str) -> None:
    """Add checked `params` to a run's `logged` ones; a changed value is refused."""
    for key, value in params.items():
        if key in logged and logged[key] != value:
            raise ExperimentUsageError(
                f"param {key!r} of run {run!r} is {logged[key]!r} already; a param "
                f"cannot change within a run (start another run for {value!r})"
            )
    logged.update(params)


def _checked_points(points: Iterable[Point]) -> list[Point]:
    return [
        (
            check_key(key, "metric"),
            number(value, f"metric {key!r}"),
            check_step(step),
            check_wall_time(wall_time),
        )
        for key, value, step, wall_time in points
    ]


def _summarize(properties: dict[str, Any], points: Sequence[Point]) -> None:
    """Each key's summary metric becomes its series' last value."""
    for key in {point[0] for point in points}:
        properties["metrics"][key] = properties["time_series"][key]["value"]


def _advance(series: dict[str, Any], context: int, points: Sequence[Point]) -> list[dict[str, Any]]:
    """Rows of `points` for the run `context`, and each key's last point moved forward in
    the run's `time_series` property (the highest step; at one step, the latest logged)."""
    rows = []
    for key, value, step, wall_time in points:
        last = series.get(key)
        if last is None or step >= last["step"]:
            series[key] = {"step": step, "value": to_json(value), "wall_time": wall_time}
        rows.append(
            {
                "run_id": context,
                "key": key,
                "step": step,
                "wall_time": wall_time,
                "value": None if value != value else value,  # NaN: NULL
            }
        )
    return rows


def _final_state(state: ExperimentRunState | str) -> ExperimentRunState:
    try:
        state = ExperimentRunState(str(state).upper())
    except ValueError:
        state = None  # type: ignore[assignment]
    if state is None or state == ExperimentRunState.RUNNING:
        finals = ", ".join(s.value for s in ExperimentRunState if s != ExperimentRunState.RUNNING)
        raise ExperimentUsageError(f"a run ends as one of {finals}, not {state!r}")
    return state


def _experiment_of(row: Row[Any], run_count: int) -> Experiment:
    return Experiment(
        name=row.name,
        description=row.properties.get("description"),
        created_at=row.created_at,
        run_count=run_count,
    )


def _record_of(
    row: Row[Any], pipelines: dict[str, Row[Any]], metrics_of: dict[int, dict[str, float]]
) -> ExperimentRun:
    properties = row.properties
    state = ExperimentRunState(properties["state"])
    ended = properties.get("ended_at")
    params = properties.get("params", {})
    metrics = {k: from_json(v) for k, v in properties.get("metrics", {}).items()}
    pipeline = pipelines.get(properties.get("pipeline_run") or "")
    if pipeline is not None:
        of_run = pipeline.properties
        state = _PIPELINE_STATES[RunStatus(of_run["status"])]
        ended = of_run.get("ended_at")
        params = of_run.get("parameters") or params
        metrics = {**metrics_of.get(pipeline.id, {}), **metrics}
    return ExperimentRun(
        experiment=properties["experiment"],
        run_name=properties["run_name"],
        run_type=properties["run_type"],
        state=state,
        pipeline_run=properties.get("pipeline_run"),
        params=dict(params),
        metrics=metrics,
        time_series_metrics={
            k: from_json(v["value"]) for k, v in properties.get("time_series", {}).items()
        },
        labels=dict(properties.get("labels") or {}),
        created_at=row.created_at,
        ended_at=datetime.fromisoformat(ended) if ended else None,
    )


__all__ = ["Experiments"]
