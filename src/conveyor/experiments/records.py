"""What experiment tracking returns: plain, frozen dataclasses that turn into JSON
(`to_json()`), as the store's records do."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from conveyor.store.metadata.kinds import ExperimentRunState
from conveyor.store.metadata.records import to_json

__all__ = [
    "ClassificationMetrics",
    "Experiment",
    "ExperimentRun",
    "ExperimentRunState",
    "RunPage",
    "TimeSeriesPoint",
]


class _Record:
    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class Experiment(_Record):
    """An experiment (Vertex AI's `system.Experiment` context) and how many runs it holds."""

    name: str
    description: str | None
    created_at: datetime
    run_count: int


@dataclasses.dataclass(frozen=True)
class ExperimentRun(_Record):
    """A run of an experiment: logged from Python or MLflow (`run_type`
    `system.ExperimentRun`), or a pipeline run that joined it (`system.PipelineRun`, whose
    state, params and metrics are those of the pipeline run and its tasks' `Metrics`)."""

    experiment: str
    run_name: str
    run_type: str
    state: ExperimentRunState
    pipeline_run: str | None
    params: dict[str, Any]
    metrics: dict[str, float]
    time_series_metrics: dict[str, float]
    """The last value (at the highest step) of each time series."""
    labels: dict[str, str]
    created_at: datetime
    ended_at: datetime | None


@dataclasses.dataclass(frozen=True)
class TimeSeriesPoint(_Record):
    step: int
    value: float
    wall_time: datetime


@dataclasses.dataclass(frozen=True)
class ClassificationMetrics(_Record):
    """A classifier's confusion matrix and ROC curve, as `log_classification_metrics` logged
    them or a pipeline task wrote them (KFP's `ClassificationMetrics`); any part may be
    empty."""

    artifact_id: int
    display_name: str
    labels: list[str]
    matrix: list[list[float]]
    fpr: list[float]
    tpr: list[float]
    thresholds: list[float]


@dataclasses.dataclass(frozen=True)
class RunPage(_Record):
    """One page of a search of runs; `next_page_token` fetches the next, if there is one."""

    runs: list[dict[str, Any]]
    """Each run as a row: `experiment_name`, `run_name`, `run_type`, `state`, `start_time`,
    `end_time`, `pipeline_run`, `label.*`, `param.*`, `metric.*`, `time_series_metric.*`
    (only the columns asked for, when a projection is given)."""
    total: int
    """How many runs matched, on every page."""
    next_page_token: str | None
