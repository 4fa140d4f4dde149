"""Conveyor's experiments and runs as MLflow's entities, and the ids, names, states and
errors between the two (for `conveyor.experiments.mlflow_store`, which documents the
mapping).

Imported only by the MLflow tracking store: it imports mlflow.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Container, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from mlflow.entities import (
    Experiment as MlflowExperiment,
)
from mlflow.entities import (
    ExperimentTag,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    NOT_IMPLEMENTED,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.tracking import SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME, MLFLOW_RUN_NOTE, MLFLOW_USER
from mlflow.utils.name_utils import _generate_random_name

from conveyor.errors import ConveyorError, UsageError
from conveyor.experiments.records import Experiment, ExperimentRun, TimeSeriesPoint
from conveyor.store.metadata.experiment_contexts import check_name
from conveyor.store.metadata.kinds import ExperimentRunState

DEFAULT_EXPERIMENT = "Default"
"""The Conveyor experiment MLflow's default experiment (id "0") stands for."""
DEFAULT_EXPERIMENT_ID = "0"

STATES = {
    "RUNNING": ExperimentRunState.RUNNING,
    "FINISHED": ExperimentRunState.COMPLETE,
    "FAILED": ExperimentRunState.FAILED,
    "KILLED": ExperimentRunState.CANCELLED,
}
"""MLflow's run statuses as Conveyor's run states (SCHEDULED has none)."""
STATUSES = {state: status for status, state in STATES.items()}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
F = TypeVar("F", bound=Callable[..., Any])
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 128


def experiment_id_of(name: str, context_id: int) -> str:
    """MLflow's id of an experiment: its context id, "0" for the default experiment."""
    return DEFAULT_EXPERIMENT_ID if name == DEFAULT_EXPERIMENT else str(context_id)


def context_id_of(mlflow_id: object, what: str) -> int:
    """The context id an MLflow experiment id names; MLflow's RESOURCE_DOES_NOT_EXIST when
    it names none (Conveyor's ids are decimal integers)."""
    text = str(mlflow_id)
    if not text.isdecimal() or len(text) > 18:
        raise not_found(what, text)
    return int(text)


def stamp(moment: datetime) -> str:
    """A moment as hex microseconds since the epoch: the part of a run's or a model's id that
    no other run or model has (MLflow caches artifact locations by these ids, process-wide,
    across homes, and a database may give a deleted row's id to a new one)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format((moment - _EPOCH) // timedelta(microseconds=1), "x")


def stamped_id(number: int, created_at: datetime, prefix: str = "") -> str:
    """MLflow's id of a run (`{context id}-{stamp}`) or logged model (`m-{artifact id}-
    {stamp}`)."""
    return f"{prefix}{number}-{stamp(created_at)}"


def split_id(mlflow_id: object, what: str, prefix: str = "") -> tuple[int, str]:
    """The number and stamp of a `stamped_id`; RESOURCE_DOES_NOT_EXIST when it is none."""
    text = str(mlflow_id)
    number, _, stamped = text.removeprefix(prefix).partition("-")
    if not text.startswith(prefix) or not number.isdecimal() or len(number) > 18 or not stamped:
        raise not_found(what, text)
    return int(number), stamped


def not_found(what: str, mlflow_id: str) -> MlflowException:
    return MlflowException(f"no {what} has the id {mlflow_id!r}", RESOURCE_DOES_NOT_EXIST)


def millis(moment: datetime | None) -> int | None:
    """A datetime as MLflow's milliseconds since the epoch."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def experiment_entity(
    experiment: Experiment, mlflow_id: str, artifact_location: str
) -> MlflowExperiment:
    tags = []
    if experiment.description:
        tags.append(ExperimentTag(MLFLOW_RUN_NOTE, experiment.description))
    created = millis(experiment.created_at)
    return MlflowExperiment(
        experiment_id=mlflow_id,
        name=experiment.name,
        artifact_location=artifact_location,
        lifecycle_stage=LifecycleStage.ACTIVE,
        tags=tags,
        creation_time=created,
        last_update_time=created,
    )


def run_entity(
    context_id: int,
    run: ExperimentRun,
    experiment_id: str,
    artifact_uri: str,
    last_points: Mapping[str, TimeSeriesPoint],
    inputs: RunInputs | None = None,
    outputs: RunOutputs | None = None,
) -> Run:
    """A Conveyor run as an MLflow run: its summary metrics (and each series' last value for
    keys without a summary), its params as text, its labels as tags."""
    start = millis(run.created_at)
    tags = dict(run.labels)
    name = tags.setdefault(MLFLOW_RUN_NAME, run.run_name)
    info = RunInfo(
        run_id=stamped_id(context_id, run.created_at),
        experiment_id=experiment_id,
        user_id=tags.get(MLFLOW_USER, ""),
        status=STATUSES[run.state],
        start_time=start,
        end_time=millis(run.ended_at),
        lifecycle_stage=LifecycleStage.ACTIVE,
        artifact_uri=artifact_uri,
        run_name=name,
    )
    metrics = []
    for key, value in {**run.time_series_metrics, **run.metrics}.items():
        point = last_points.get(key)
        at = millis(point.wall_time) if point else millis(run.ended_at) or start
        metrics.append(Metric(key, float(value), at, point.step if point else 0))
    data = RunData(
        metrics=metrics,
        params=[Param(key, _text(value)) for key, value in run.params.items()],
        tags=[RunTag(key, value) for key, value in tags.items()],
    )
    return Run(info, data, inputs or RunInputs(dataset_inputs=[]), outputs)


def state_of(status: str) -> ExperimentRunState:
    """The Conveyor state of an MLflow run status."""
    try:
        return STATES[status]
    except KeyError:
        raise MlflowException(
            f"run status {status!r} is not one Conveyor keeps: use one of {', '.join(STATES)}",
            INVALID_PARAMETER_VALUE,
        ) from None


def run_name_for(given: str | None, taken: Container[str]) -> str:
    """A Conveyor run name for MLflow's `given` one: itself when it is a valid name not in
    `taken`, else a valid name made from it (or a random one), with `-2`, `-3`, ... until it
    is free."""
    if given is None:
        given = _generate_random_name()
    base = given
    if not _valid(base):
        base = _NOT_NAME.sub("-", given).lstrip("._-")[: _MAX_NAME - 8] or _generate_random_name()
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base[: _MAX_NAME - 1 - len(str(count))]}-{count}"
    return name


def translated(conflict: int = INVALID_STATE) -> Callable[[F], F]:
    """A store method whose Conveyor errors become MlflowExceptions with MLflow's codes."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with translated_errors(conflict):
                return method(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def translated_errors(conflict: int = INVALID_STATE) -> Iterator[None]:
    try:
        yield
    except ConveyorError as exc:
        status = getattr(exc, "http_status", 500)
        code = {404: RESOURCE_DOES_NOT_EXIST, 409: conflict, 400: INVALID_PARAMETER_VALUE}
        raise MlflowException(str(exc), code.get(status, INTERNAL_ERROR)) from exc


def unsupported(what: str) -> MlflowException:
    return MlflowException(f"the Conveyor tracking store does not support {what}", NOT_IMPLEMENTED)


def check_max_results(max_results: int) -> None:
    if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
        raise MlflowException(
            f"max_results must be at most {SEARCH_MAX_RESULTS_THRESHOLD}, not {max_results}",
            INVALID_PARAMETER_VALUE,
        )


def _valid(name: str) -> bool:
    try:
        check_name(name, "run")
    except UsageError:
        return False
    return True


def _text(value: Any) -> str:
    """A param as MLflow's text (Conveyor keeps numbers and booleans as they were logged)."""
    return value if isinstance(value, str) else str(value)
