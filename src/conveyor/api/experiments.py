"""`/api/v1/experiments`: experiment tracking over REST; thin calls to the home's
`Experiments` (Vertex AI Experiments).

    GET    /api/v1/experiments                                   the experiments
    POST   /api/v1/experiments                                   create one
    POST   /api/v1/experiments:searchRuns                        search the runs of several
    GET    /api/v1/experiments/{experiment}                      one, with its number of runs
    DELETE /api/v1/experiments/{experiment}                      it, with its runs
    GET    /api/v1/experiments/{experiment}/runs                 search its runs
    POST   /api/v1/experiments/{experiment}/runs                 start (or resume) a run
    GET    /api/v1/experiments/{experiment}/runs/{run}           one run
    DELETE /api/v1/experiments/{experiment}/runs/{run}           it, with its points
    POST   .../runs/{run}:end                                    end it
    POST   .../runs/{run}:logParams                              params
    POST   .../runs/{run}:logMetrics                             summary metrics
    POST   .../runs/{run}:logTimeSeriesMetrics                   one point of each metric
    POST   .../runs/{run}:logPoints                              many points at once
    POST   .../runs/{run}:setLabels                              labels
    POST   .../runs/{run}:logClassificationMetrics               a confusion matrix, an ROC curve
    GET    .../runs/{run}/timeSeries                             its points, by key
    GET    .../runs/{run}/classificationMetrics                  its classification metrics

Reads need the token role `read` (searching several experiments is a POST that only
reads), creating experiments and starting, logging to and ending runs `track`, deleting
`admin` (`conveyor.serving.auth`). JSON has no NaN nor infinities: a metric is a number or
one of the strings "NaN", "Infinity" and "-Infinity", both ways, as the runs' properties
keep them (`conveyor.experiments.values`). A search answers rows of columns
(`conveyor.experiments.search`), filtered, ordered, paged and projected on the server. Bad
input answers 400 naming the field, an unknown experiment or run 404, a name taken or a
run that has ended 409; errors answer `{"error": {"code", "message", "status"}}`
(`conveyor.api.errors`). See docs/experiments.md.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from conveyor.api.bodies import INT64, JsonRoute
from conveyor.api.errors import responses
from conveyor.api.params import ExperimentName, ExperimentPath, RunName, RunPath
from conveyor.experiments import ClassificationMetrics, ExperimentRun, Experiments, RunPage
from conveyor.experiments.search import MAX_PAGE_SIZE
from conveyor.experiments.values import from_json, to_json
from conveyor.serving.auth import Role, needs
from conveyor.store.metadata.records import to_json as record_json

PREFIX = "/api/v1/experiments"

router = APIRouter(prefix=PREFIX, tags=["experiments"], route_class=JsonRoute)

READ, TRACK, ADMIN = needs(Role.READ), needs(Role.TRACK), needs(Role.ADMIN)

SPELLED = ("NaN", "Infinity", "-Infinity")
"""How a metric that is no JSON number is written."""


def experiments(request: Request) -> Experiments:
    """The home's experiments: the routes' dependency."""
    return request.app.state.home.experiments  # type: ignore[no-any-return]


ExperimentsDep = Annotated[Experiments, Depends(experiments)]


def _metric_in(value: Any) -> Any:
    return from_json(value) if isinstance(value, str) and value in SPELLED else value


def _metric_out(value: float) -> float | str:
    return to_json(value)


Metric = Annotated[
    float,
    BeforeValidator(_metric_in),
    PlainSerializer(_metric_out, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string", "enum": list(SPELLED)}],
            "description": 'A number, or "NaN", "Infinity" or "-Infinity".',
        }
    ),
]
"""A metric: a JSON number, or NaN and the infinities spelled as strings."""


def _seconds(value: Any) -> Any:
    """A wall time as seconds since the epoch: a number, or ISO 8601 text (no zone: UTC)."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is neither a number of seconds since the epoch nor an ISO 8601 time"
            ) from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return value


WallTime = Annotated[
    float,
    BeforeValidator(_seconds),
    Field(allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
            "description": "Seconds since the epoch, or an ISO 8601 time (no zone: UTC).",
        }
    ),
]
Step = Annotated[int, Field(ge=INT64[0], le=INT64[1])]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
State = Literal["RUNNING", "COMPLETE", "FAILED", "CANCELLED"]


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NewExperiment(_Shape):
    name: ExperimentName
    description: str | None = None
    exist_ok: bool = Field(default=False, description="An existing one is answered as it is.")


class ExperimentOut(BaseModel):
    name: str
    description: str | None
    created_at: datetime
    run_count: int


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class ExperimentDeleted(BaseModel):
    name: str
    runs_deleted: int


class NewExperimentRun(_Shape):
    run: RunName
    resume: bool = Field(default=False, description="Start an existing run again.")
    labels: dict[str, str] | None = Field(default=None, examples=[{"team": "churn"}])


class ExperimentRunOut(BaseModel):
    experiment: str
    run_name: str
    run_type: str = Field(examples=["system.ExperimentRun"])
    state: State
    pipeline_run: str | None = Field(description="The pipeline run it is, if one.")
    params: dict[str, Any]
    metrics: dict[str, Metric]
    time_series_metrics: dict[str, Metric] = Field(
        description="The last value (at the highest step) of each time series."
    )
    labels: dict[str, str]
    created_at: datetime
    ended_at: datetime | None


class ExperimentRunEnd(_Shape):
    state: Literal["COMPLETE", "FAILED", "CANCELLED"] = "COMPLETE"


class ExperimentParams(_Shape):
    params: dict[str, str | int | float | bool] = Field(examples=[{"max_depth": 4}])


class ExperimentMetrics(_Shape):
    metrics: dict[str, Metric] = Field(examples=[{"accuracy": 0.91}])


class ExperimentTimeSeriesMetrics(_Shape):
    metrics: dict[str, Metric] = Field(examples=[{"loss": 0.3}])
    step: Step | None = Field(default=None, description="None: one past the run's last step.")
    wall_time: WallTime | None = Field(default=None, description="None: now.")


class LoggedStep(BaseModel):
    step: int


class ExperimentPoint(_Shape):
    key: str
    value: Metric
    step: Step
    wall_time: WallTime | None = Field(default=None, description="None: now.")


class ExperimentPoints(_Shape):
    points: list[ExperimentPoint]
    as_summary: bool = Field(
        default=False,
        description="Each key's summary metric becomes its series' last value too (MLflow).",
    )


class ExperimentLabels(_Shape):
    labels: dict[str, str] = Field(examples=[{"team": "churn"}])


class ClassificationMetricsIn(_Shape):
    """A confusion matrix (`labels`, `matrix`: rows the true labels) and/or an ROC curve
    (`fpr`, `tpr`, `threshold` of one length)."""

    labels: list[str] | None = Field(default=None, examples=[["stays", "churns"]])
    matrix: list[list[Metric]] | None = Field(default=None, examples=[[[40, 3], [5, 12]]])
    fpr: list[Metric] | None = None
    tpr: list[Metric] | None = None
    threshold: list[Metric] | None = None
    display_name: str | None = None


class ClassificationMetricsOut(BaseModel):
    artifact_id: int
    display_name: str
    labels: list[str]
    matrix: list[list[Metric]]
    fpr: list[Metric | None]
    tpr: list[Metric | None]
    thresholds: list[Metric | None]


class ClassificationMetricsList(BaseModel):
    classification_metrics: list[ClassificationMetricsOut]


class TimeSeriesPointOut(BaseModel):
    step: int
    value: Metric
    wall_time: datetime


class TimeSeriesOut(BaseModel):
    time_series: dict[str, list[TimeSeriesPointOut]] = Field(
        description="The points of each key, in step order."
    )


class RunSearch(_Shape):
    """A search of the runs of several experiments."""

    experiments: list[ExperimentName] = Field(min_length=1, examples=[["churn"]])
    filter: str | None = Field(
        default=None, examples=['metric.accuracy >= 0.9 and param.model = "tree"']
    )
    order_by: list[str] | str | None = Field(default=None, examples=[["metric.accuracy DESC"]])
    page_size: PageSize | None = None
    page_token: str | None = None
    columns: list[str] | None = Field(
        default=None,
        description="Only these columns (names, or prefixes ending in * such as metric.*); "
        "experiment_name and run_name always.",
    )


class RunPageOut(BaseModel):
    runs: list[dict[str, Any]] = Field(
        description="Each run as a row of columns: experiment_name, run_name, run_type, "
        "state, start_time, end_time, pipeline_run, label.*, param.*, metric.*, "
        "time_series_metric.* (metrics spelled as in metrics)."
    )
    total: int = Field(description="How many runs matched, on every page.")
    next_page_token: str | None


# Experiments: a bad name answers 400, an unknown experiment 404, a name taken 409.

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=ExperimentList, summary="List the experiments", openapi_extra=READ)
def list_experiments(experiments: ExperimentsDep) -> ExperimentList:
    """Every experiment, by name, with its number of runs."""
    return ExperimentList(experiments=[ExperimentOut(**e.to_json()) for e in experiments.list()])


@router.post(
    "",
    response_model=ExperimentOut,
    status_code=201,
    responses=_WRITE,
    summary="Create an experiment",
    openapi_extra=TRACK,
)
def create(body: NewExperiment, experiments: ExperimentsDep, response: Response) -> ExperimentOut:
    """A new experiment; with `exist_ok`, an existing one is answered as it is (else 409)."""
    made = experiments.create(body.name, description=body.description, exist_ok=body.exist_ok)
    response.headers["Location"] = f"{PREFIX}/{made.name}"
    return ExperimentOut(**made.to_json())


@router.post(
    ":searchRuns",
    response_model=RunPageOut,
    responses=_READ,
    summary="Search the runs of several experiments",
    openapi_extra=READ,
)
def search_several(body: RunSearch, experiments: ExperimentsDep) -> RunPageOut:
    """One page of the runs of `experiments`, as rows: those `filter` keeps, in `order_by`
    order (default: the newest first), with only `columns` if given."""
    fields = body.model_dump(exclude={"experiments", "columns", "page_size"})
    found = experiments.search_runs(
        body.experiments,
        columns=_columns(body.columns),
        page_size=body.page_size or MAX_PAGE_SIZE,
        **fields,
    )
    return _page(found)


@router.get(
    "/{experiment}",
    response_model=ExperimentOut,
    responses=_READ,
    summary="Get an experiment",
    openapi_extra=READ,
)
def get(experiment: ExperimentPath, experiments: ExperimentsDep) -> ExperimentOut:
    return ExperimentOut(**experiments.get(experiment).to_json())


@router.delete(
    "/{experiment}",
    response_model=ExperimentDeleted,
    responses=_READ,
    summary="Delete an experiment",
    openapi_extra=ADMIN,
)
def delete(experiment: ExperimentPath, experiments: ExperimentsDep) -> ExperimentDeleted:
    """Delete the experiment with its runs and their points; pipeline runs that joined it
    stay, out of it, and so do the artifacts and model versions its runs logged."""
    return ExperimentDeleted(name=experiment, runs_deleted=experiments.delete(experiment))


# Runs: an unknown experiment or run answers 404, a run name taken or a run that has
# ended 409.


@router.get(
    "/{experiment}/runs",
    response_model=RunPageOut,
    responses=_READ,
    summary="Search an experiment's runs",
    openapi_extra=READ,
)
def search_runs(
    experiment: ExperimentPath,
    experiments: ExperimentsDep,
    filter: Annotated[
        str | None,
        Query(
            description='Clauses joined by `and`: metric.accuracy >= 0.9 and param.model = "tree"'
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        Query(description="Columns, each optionally followed by ASC or DESC; repeatable."),
    ] = None,
    page_size: Annotated[PageSize | None, Query()] = None,
    page_token: Annotated[str | None, Query(description="A search's next_page_token.")] = None,
    columns: Annotated[
        list[str] | None,
        Query(
            description="Only these columns (names, or prefixes ending in * such as "
            "metric.*), repeatable or separated by commas; experiment_name and run_name always."
        ),
    ] = None,
) -> RunPageOut:
    """One page of the experiment's runs, as rows: those `filter` keeps, in `order_by` order
    (default: the newest first), with only `columns` if given."""
    found = experiments.search_runs(
        experiment,
        filter=filter,
        order_by=order_by,
        page_size=page_size or MAX_PAGE_SIZE,
        page_token=page_token,
        columns=_columns(columns, commas=True),
    )
    return _page(found)


@router.post(
    "/{experiment}/runs",
    response_model=ExperimentRunOut,
    status_code=201,
    responses=_WRITE,
    summary="Start a run",
    openapi_extra=TRACK,
)
def start_run(
    experiment: ExperimentPath,
    body: NewExperimentRun,
    experiments: ExperimentsDep,
    response: Response,
) -> ExperimentRunOut:
    """Start run `run` of the experiment, RUNNING; with `resume`, start an existing run
    again (its new labels join its others)."""
    run = experiments.start_run(experiment, body.run, resume=body.resume, labels=body.labels)
    response.headers["Location"] = f"{PREFIX}/{experiment}/runs/{run.run_name}"
    return _run(run)


@router.get(
    "/{experiment}/runs/{run}",
    response_model=ExperimentRunOut,
    responses=_READ,
    summary="Get a run",
    openapi_extra=READ,
)
def get_run(
    experiment: ExperimentPath, run: RunPath, experiments: ExperimentsDep
) -> ExperimentRunOut:
    return _run(experiments.get_run(experiment, run))


@router.delete(
    "/{experiment}/runs/{run}",
    status_code=204,
    response_class=Response,
    responses=_READ,
    summary="Delete a run",
    openapi_extra=ADMIN,
)
def delete_run(experiment: ExperimentPath, run: RunPath, experiments: ExperimentsDep) -> Response:
    """Delete the run with its points; a pipeline run stays, out of the experiment."""
    experiments.delete_run(experiment, run)
    return Response(status_code=204)


@router.post(
    "/{experiment}/runs/{run}:end",
    response_model=ExperimentRunOut,
    responses=_WRITE,
    summary="End a run",
    openapi_extra=TRACK,
)
def end_run(
    experiment: ExperimentPath,
    run: RunPath,
    experiments: ExperimentsDep,
    body: ExperimentRunEnd | None = None,
) -> ExperimentRunOut:
    """End a RUNNING run as `state` (COMPLETE by default)."""
    state = "COMPLETE" if body is None else body.state
    return _run(experiments.end_run(experiment, run, state))


@router.post(
    "/{experiment}/runs/{run}:logParams",
    status_code=204,
    response_class=Response,
    responses=_WRITE,
    summary="Log params",
    openapi_extra=TRACK,
)
def log_params(
    experiment: ExperimentPath, run: RunPath, body: ExperimentParams, experiments: ExperimentsDep
) -> Response:
    """Record params; one logged again with another value is refused (400), with the same
    value changes nothing."""
    experiments.log_params(experiment, run, body.params)
    return Response(status_code=204)


@router.post(
    "/{experiment}/runs/{run}:logMetrics",
    status_code=204,
    response_class=Response,
    responses=_WRITE,
    summary="Log summary metrics",
    openapi_extra=TRACK,
)
def log_metrics(
    experiment: ExperimentPath, run: RunPath, body: ExperimentMetrics, experiments: ExperimentsDep
) -> Response:
    """Record summary metrics; one logged again takes the new value."""
    experiments.log_metrics(experiment, run, body.metrics)
    return Response(status_code=204)


@router.post(
    "/{experiment}/runs/{run}:logTimeSeriesMetrics",
    response_model=LoggedStep,
    responses=_WRITE,
    summary="Log time-series metrics",
    openapi_extra=TRACK,
)
def log_time_series_metrics(
    experiment: ExperimentPath,
    run: RunPath,
    body: ExperimentTimeSeriesMetrics,
    experiments: ExperimentsDep,
) -> LoggedStep:
    """Record one point of each metric at `step` (default: one past the run's last step)
    and `wall_time` (default: now); answers the step used."""
    step = experiments.log_time_series_metrics(
        experiment, run, body.metrics, body.step, body.wall_time
    )
    return LoggedStep(step=step)


@router.post(
    "/{experiment}/runs/{run}:logPoints",
    status_code=204,
    response_class=Response,
    responses=_WRITE,
    summary="Log time-series points",
    openapi_extra=TRACK,
)
def log_points(
    experiment: ExperimentPath, run: RunPath, body: ExperimentPoints, experiments: ExperimentsDep
) -> Response:
    """Record many time-series points at once, each its key, value, step and wall time."""
    points = [(p.key, p.value, p.step, p.wall_time) for p in body.points]
    experiments.log_points(experiment, run, points, as_summary=body.as_summary)
    return Response(status_code=204)


@router.post(
    "/{experiment}/runs/{run}:setLabels",
    status_code=204,
    response_class=Response,
    responses=_WRITE,
    summary="Set labels",
    openapi_extra=TRACK,
)
def set_labels(
    experiment: ExperimentPath, run: RunPath, body: ExperimentLabels, experiments: ExperimentsDep
) -> Response:
    """Set labels; those not named stay."""
    experiments.set_labels(experiment, run, body.labels)
    return Response(status_code=204)


@router.post(
    "/{experiment}/runs/{run}:logClassificationMetrics",
    response_model=ClassificationMetricsOut,
    status_code=201,
    responses=_WRITE,
    summary="Log classification metrics",
    openapi_extra=TRACK,
)
def log_classification_metrics(
    experiment: ExperimentPath,
    run: RunPath,
    body: ClassificationMetricsIn,
    experiments: ExperimentsDep,
) -> ClassificationMetricsOut:
    """Record a confusion matrix and/or an ROC curve as a `system.ClassificationMetrics`
    artifact of the run."""
    logged = experiments.log_classification_metrics(experiment, run, **body.model_dump())
    return _classification(logged)


@router.get(
    "/{experiment}/runs/{run}/timeSeries",
    response_model=TimeSeriesOut,
    responses=_READ,
    summary="Get a run's time series",
    openapi_extra=READ,
)
def time_series(
    experiment: ExperimentPath,
    run: RunPath,
    experiments: ExperimentsDep,
    keys: Annotated[
        list[str] | None, Query(description="Only these keys (repeatable); none: every key.")
    ] = None,
    first_step: Annotated[Step | None, Query()] = None,
    last_step: Annotated[Step | None, Query()] = None,
) -> TimeSeriesOut:
    """The points of the run's time series, by key, in step order."""
    found = experiments.time_series(
        experiment, run, keys, first_step=first_step, last_step=last_step
    )
    return TimeSeriesOut(
        time_series={
            key: [TimeSeriesPointOut(**p.to_json()) for p in points]
            for key, points in found.items()
        }
    )


@router.get(
    "/{experiment}/runs/{run}/classificationMetrics",
    response_model=ClassificationMetricsList,
    responses=_READ,
    summary="Get a run's classification metrics",
    openapi_extra=READ,
)
def classification_metrics(
    experiment: ExperimentPath, run: RunPath, experiments: ExperimentsDep
) -> ClassificationMetricsList:
    """Those logged to the run, and for a pipeline run those its tasks wrote."""
    found = experiments.classification_metrics(experiment, run)
    return ClassificationMetricsList(classification_metrics=[_classification(c) for c in found])


# Answers


def _run(run: ExperimentRun) -> ExperimentRunOut:
    return ExperimentRunOut(**run.to_json())


def _classification(found: ClassificationMetrics) -> ClassificationMetricsOut:
    return ClassificationMetricsOut(**found.to_json())


def _page(page: RunPage) -> RunPageOut:
    """A page, its rows in JSON: times in ISO 8601, metrics spelled where JSON has no
    number for them."""
    rows = [
        {key: _cell(key, value) for key, value in record_json(row).items()} for row in page.runs
    ]
    return RunPageOut(runs=rows, total=page.total, next_page_token=page.next_page_token)


def _cell(column: str, value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return to_json(value)  # a metric's column (params are finite)
    return value


_COMMA = re.compile(r",(?=(?:[^`]*`[^`]*`)*[^`]*$)")
"""A comma outside backticks (a quoted key may hold commas)."""


def _columns(columns: list[str] | None, *, commas: bool = False) -> list[str] | None:
    """The columns of a projection; from a query, each may list several separated by
    commas."""
    if columns is None or not commas:
        return columns
    return [part.strip() for item in columns for part in _COMMA.split(item) if part.strip()]
