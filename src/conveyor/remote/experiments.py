"""`RemoteExperiments`: the experiments of a Conveyor server, with `Experiments`' methods
over `/api/v1/experiments` (`conveyor.api.experiments`), returning the same records.

Metrics cross as JSON numbers, NaN and the infinities as the strings "NaN", "Infinity" and
"-Infinity", and come back as floats. `list_runs` reads the runs as search rows (every
page), and rebuilds each run from its row. `log_model` saves a model into the home's
artifact store, which only the store's side reaches (`RemoteUnsupported`): register the
model with the registry's routes, and log its reference to the run as a param or label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

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
    check_metrics,
    check_params,
    check_step,
    check_wall_time,
    from_json,
    to_json,
)
from conveyor.remote.records import rebuild
from conveyor.remote.server import Answers, Server, path
from conveyor.store.metadata.errors import NotFound
from conveyor.store.metadata.kinds import ExperimentRunState

ROOT = "/api/v1/experiments"

_EXPERIMENT = Answers(
    usage=ExperimentUsageError, not_found=ExperimentNotFound, conflict=ExperimentConflict
)
"""A request about an experiment (or the runs of experiments): its 404 is the experiment's."""
_RUN = Answers(
    usage=ExperimentUsageError, not_found=ExperimentRunNotFound, conflict=ExperimentConflict
)
"""A request about one run: its 404 is the run's (an unknown experiment has no run either)."""
_START = Answers(usage=ExperimentUsageError, not_found=NotFound, conflict=ExperimentConflict)
"""Starting a run: its 404 is the experiment's, or the run's to resume."""

_METRIC_COLUMNS = ("metric.", "time_series_metric.")
_PREFIXES = {"param.": "params", "metric.": "metrics", "time_series_metric.": "time_series_metrics"}


class RemoteExperiments:
    """The experiments of `server`: what `Experiments` does, over REST."""

    def __init__(self, server: Server) -> None:
        self.server = server

    # -- experiments -------------------------------------------------------------

    def create(
        self, name: str, *, description: str | None = None, exist_ok: bool = False
    ) -> Experiment:
        """Make experiment `name`; with `exist_ok`, an existing one is returned as it is."""
        body = {"name": name, "description": description, "exist_ok": exist_ok}
        made = self.server.call("POST", ROOT, body=body, answers=_EXPERIMENT)
        return rebuild(Experiment, made)

    def get(self, name: str) -> Experiment:
        return rebuild(Experiment, self._call("GET", path(ROOT, name)))

    def list(self) -> list[Experiment]:
        """Every experiment, by name."""
        found = self._call("GET", ROOT)
        return [rebuild(Experiment, e) for e in found["experiments"]]

    def delete(self, name: str) -> int:
        """Delete an experiment and its runs; the number of runs deleted."""
        return int(self._call("DELETE", path(ROOT, name))["runs_deleted"])

    # -- runs ---------------------------------------------------------------------

    def start_run(
        self,
        experiment: str,
        run: str,
        *,
        resume: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> ExperimentRun:
        """Start run `run` of `experiment`; with `resume`, start an existing run again."""
        body = {"run": run, "resume": resume, "labels": None if labels is None else dict(labels)}
        started = self.server.call(
            "POST", path(ROOT, experiment, "runs"), body=body, answers=_START
        )
        return _run(started)

    def end_run(
        self,
        experiment: str,
        run: str,
        state: ExperimentRunState | str = ExperimentRunState.COMPLETE,
    ) -> ExperimentRun:
        """End a RUNNING run as COMPLETE (or FAILED, CANCELLED)."""
        body = {"state": str(state).upper()}
        return _run(self._on_run("POST", experiment, run, ":end", body=body))

    def get_run(self, experiment: str, run: str) -> ExperimentRun:
        return _run(self._on_run("GET", experiment, run))

    def list_runs(self, experiment: str | Sequence[str]) -> list[ExperimentRun]:
        """The runs of one experiment or several, oldest first."""
        runs: list[ExperimentRun] = []
        token: str | None = None
        while True:
            page = self.search_runs(experiment, order_by="start_time", page_token=token)
            runs += [_run_of_row(row) for row in page.runs]
            token = page.next_page_token
            if token is None:
                return runs

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
        projected by the server."""
        order = [order_by] if isinstance(order_by, str) else order_by
        fields = {
            "filter": filter,
            "order_by": None if order is None else list(order),
            "page_size": page_size,
            "page_token": page_token,
            "columns": None if columns is None else list(columns),
        }
        if isinstance(experiments, str) and _fits_a_query(columns):
            found = self.server.call(
                "GET", path(ROOT, experiments, "runs"), params=fields, answers=_EXPERIMENT
            )
        else:
            names = [experiments] if isinstance(experiments, str) else list(experiments)
            body = {"experiments": names, **fields}
            found = self.server.call("POST", ROOT + ":searchRuns", body=body, answers=_EXPERIMENT)
        return RunPage(
            runs=[_row(row) for row in found["runs"]],
            total=found["total"],
            next_page_token=found["next_page_token"],
        )

    def delete_run(self, experiment: str, run: str) -> None:
        """Delete a run with its points; a pipeline run stays, out of the experiment."""
        self._on_run("DELETE", experiment, run)

    # -- logging -------------------------------------------------------------------

    def log_params(self, experiment: str, run: str, params: Mapping[str, Any]) -> None:
        """Record params; one logged again with another value is refused."""
        body = {"params": check_params(params)}
        self._on_run("POST", experiment, run, ":logParams", body=body)

    def log_metrics(self, experiment: str, run: str, metrics: Mapping[str, Any]) -> None:
        """Record summary metrics; a metric logged again takes the new value."""
        self._on_run("POST", experiment, run, ":logMetrics", body={"metrics": _metrics(metrics)})

    def set_labels(self, experiment: str, run: str, labels: Mapping[str, str]) -> None:
        self._on_run("POST", experiment, run, ":setLabels", body={"labels": _mapping(labels)})

    def log_time_series_metrics(
        self,
        experiment: str,
        run: str,
        metrics: Mapping[str, Any],
        step: int | None = None,
        wall_time: datetime | float | None = None,
    ) -> int:
        """Record one point of each metric at `step` (default: one past the run's highest
        step) and `wall_time` (default: now); the step used."""
        body = {
            "metrics": _metrics(metrics),
            "step": None if step is None else check_step(step),
            "wall_time": None if wall_time is None else check_wall_time(wall_time),
        }
        logged = self._on_run("POST", experiment, run, ":logTimeSeriesMetrics", body=body)
        return int(logged["step"])

    def log_points(
        self,
        experiment: str,
        run: str,
        points: Iterable[tuple[str, float, int, float]],
        *,
        as_summary: bool = False,
    ) -> None:
        """Record many time-series points at once (key, value, step, wall time in seconds);
        with `as_summary`, each key's summary metric also becomes its series' last value."""
        sent = []
        for key, value, step, wall_time in points:
            checked = check_metrics({key: value})[key]
            sent.append(
                {
                    "key": key,
                    "value": to_json(checked),
                    "step": check_step(step),
                    "wall_time": None if wall_time is None else check_wall_time(wall_time),
                }
            )
        body = {"points": sent, "as_summary": as_summary}
        self._on_run("POST", experiment, run, ":logPoints", body=body)

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
        params = {
            "keys": None if keys is None else list(keys),
            "first_step": first_step,
            "last_step": last_step,
        }
        found = self._on_run("GET", experiment, run, params=params, segment="timeSeries")
        return {
            key: [rebuild(TimeSeriesPoint, {**p, "value": from_json(p["value"])}) for p in points]
            for key, points in found["time_series"].items()
        }

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
        """Record a confusion matrix and/or an ROC curve as an artifact of the run."""
        body = {
            "labels": None if labels is None else [str(label) for label in labels],
            "matrix": None if matrix is None else [_numbers(row) for row in matrix],
            "fpr": _numbers(fpr),
            "tpr": _numbers(tpr),
            "threshold": _numbers(threshold),
            "display_name": display_name,
        }
        logged = self._on_run("POST", experiment, run, ":logClassificationMetrics", body=body)
        return _classification(logged)

    def classification_metrics(self, experiment: str, run: str) -> list[ClassificationMetrics]:
        """The run's classification metrics: those logged to it, and for a pipeline run
        those its tasks wrote."""
        found = self._on_run("GET", experiment, run, segment="classificationMetrics")
        return [_classification(c) for c in found["classification_metrics"]]

    def log_model(self, experiment: str, run: str, model: Any, **_options: Any) -> NoReturn:
        """Not over REST: saving the model needs the home's artifact store."""
        raise self.server.unsupported(
            f"log_model to run {run!r} of experiment {experiment!r} (it saves the model into "
            "the home's artifact store; over REST, register it with Client.upload_model from a "
            "URL the server reads, and log its reference to the run as a param)"
        )

    # -- inside ------------------------------------------------------------------

    def _call(self, method: str, where: str, **options: Any) -> Any:
        return self.server.call(method, where, answers=_EXPERIMENT, **options)

    def _on_run(
        self,
        method: str,
        experiment: str,
        run: str,
        verb: str = "",
        *,
        segment: str | None = None,
        **options: Any,
    ) -> Any:
        """Call the route of one run: `.../runs/{run}{verb}`, or `.../runs/{run}/{segment}`."""
        segments = [experiment, "runs", run] + ([segment] if segment else [])
        where = path(ROOT, *segments, suffix=verb)
        return self.server.call(method, where, answers=_RUN, **options)


def _fits_a_query(columns: Sequence[str] | None) -> bool:
    """Whether a query can send `columns`: not an empty list, and no name with a comma (a
    query's columns may be separated by commas)."""
    return columns is None or (bool(columns) and not any("," in c for c in columns))


def _mapping(values: Mapping[str, Any]) -> Any:
    """A mapping as JSON takes it; anything else is sent as it is, for the server to name."""
    return dict(values) if isinstance(values, Mapping) else values


def _metrics(metrics: Mapping[str, Any]) -> dict[str, float | str]:
    """Metrics checked here (numpy numbers become floats), NaN and the infinities spelled."""
    return {key: to_json(value) for key, value in check_metrics(metrics).items()}


def _numbers(values: Sequence[Any] | None) -> list[Any] | None:
    """Numbers as JSON takes them (numpy's too), NaN and the infinities spelled; anything
    else as it is, for the server to name."""
    if values is None:
        return None
    sent = []
    for value in values:
        try:
            number = float(value) if not isinstance(value, bool | str | bytes) else value
        except (TypeError, ValueError):
            number = value
        sent.append(to_json(number) if isinstance(number, float) else number)
    return sent


def _run(data: Any) -> ExperimentRun:
    """A run from its JSON, its metrics back as floats."""
    if isinstance(data, dict):
        for field in ("metrics", "time_series_metrics"):
            if isinstance(data.get(field), dict):
                data[field] = {k: from_json(v) for k, v in data[field].items()}
    return rebuild(ExperimentRun, data)


def _classification(data: Any) -> ClassificationMetrics:
    if isinstance(data, dict):
        for field in ("fpr", "tpr", "thresholds"):
            data[field] = [from_json(v) for v in data.get(field) or []]
        data["matrix"] = [[from_json(v) for v in row] for row in data.get("matrix") or []]
    return rebuild(ClassificationMetrics, data)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """A search row as the library makes it: times as datetimes, metrics as floats."""
    for column in ("start_time", "end_time"):
        if isinstance(row.get(column), str):
            row[column] = datetime.fromisoformat(row[column])
    for column, value in row.items():
        if column.startswith(_METRIC_COLUMNS):
            row[column] = from_json(value)
    return row


def _run_of_row(row: dict[str, Any]) -> ExperimentRun:
    """The run a full search row (every column) describes."""
    parts: dict[str, dict[str, Any]] = {"params": {}, "metrics": {}, "time_series_metrics": {}}
    labels: dict[str, str] = {}
    for column, value in row.items():
        if column.startswith("label."):
            labels[column[len("label.") :]] = value
            continue
        for prefix, field in _PREFIXES.items():
            if column.startswith(prefix):
                parts[field][column[len(prefix) :]] = value
    return ExperimentRun(
        experiment=row["experiment_name"],
        run_name=row["run_name"],
        run_type=row["run_type"],
        state=ExperimentRunState(row["state"]),
        pipeline_run=row.get("pipeline_run"),
        labels=labels,
        created_at=row["start_time"],
        ended_at=row.get("end_time"),
        **parts,
    )
