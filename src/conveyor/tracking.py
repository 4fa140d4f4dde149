"""Experiment tracking from a script or notebook, with Vertex AI's calls (`aiplatform.init`,
`start_run`, `log_params`, ...), on Conveyor's home:

    import conveyor

    conveyor.init(experiment="churn", description="tree models against boosting")
    with conveyor.start_run("depth-4"):                 # ends COMPLETE, or FAILED on error
        conveyor.log_params({"max_depth": 4})
        for epoch in range(3):
            conveyor.log_time_series_metrics({"loss": 1 / (epoch + 1)})   # steps 1, 2, 3
        conveyor.log_metrics({"accuracy": 0.91})
        conveyor.log_model(fitted, name="churn")        # a registry version, linked to the run
    conveyor.get_experiment_df("churn")                 # param.*, metric.*, ... per run

The process has one current experiment and one current run, as in Vertex AI's SDK; the
calls work on the home of the environment (`Client()`: `.conveyor/` here, or a server when
the environment has a `server_url`), or the one `init(home=...)` names. `start_run` returns
a `TrackedRun`, whose methods log to that run whether or not it is current.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conveyor.errors import UsageError
from conveyor.store.metadata.kinds import ExperimentRunState

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.client import Client
    from conveyor.experiments import ClassificationMetrics, ExperimentRun
    from conveyor.home import Home
    from conveyor.registry import ModelVersion

__all__ = [
    "TrackedRun",
    "end_run",
    "get_experiment_df",
    "init",
    "log_classification_metrics",
    "log_metrics",
    "log_model",
    "log_params",
    "log_time_series_metrics",
    "start_run",
]


class TrackedRun:
    """A run of an experiment to log to; a context manager that ends it (COMPLETE, or
    FAILED when the block raises) and stops it being the current run."""

    def __init__(self, client: Client, experiment: str, name: str) -> None:
        self.client, self.experiment, self.name = client, experiment, name

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.client.experiments.log_params(self.experiment, self.name, params)

    def log_metrics(self, metrics: Mapping[str, Any]) -> None:
        self.client.experiments.log_metrics(self.experiment, self.name, metrics)

    def log_time_series_metrics(
        self,
        metrics: Mapping[str, Any],
        step: int | None = None,
        wall_time: datetime | float | None = None,
    ) -> int:
        """One point of each metric at `step` (default: one past the run's last step)."""
        return self.client.experiments.log_time_series_metrics(
            self.experiment, self.name, metrics, step, wall_time
        )

    def log_classification_metrics(
        self,
        labels: Sequence[str] | None = None,
        matrix: Sequence[Sequence[float]] | None = None,
        fpr: Sequence[float] | None = None,
        tpr: Sequence[float] | None = None,
        threshold: Sequence[float] | None = None,
        display_name: str | None = None,
    ) -> ClassificationMetrics:
        return self.client.experiments.log_classification_metrics(
            self.experiment,
            self.name,
            labels=labels,
            matrix=matrix,
            fpr=fpr,
            tpr=tpr,
            threshold=threshold,
            display_name=display_name,
        )

    def log_model(self, model: Any, name: str, **options: Any) -> ModelVersion:
        """Register `model` (a fitted scikit-learn, XGBoost or LightGBM model, or a saved
        folder with `framework=`) as model `name`'s next version, linked to this run."""
        return self.client.experiments.log_model(
            self.experiment, self.name, model, name=name, **options
        )

    def get_state(self) -> ExperimentRunState:
        return self.get().state

    def get(self) -> ExperimentRun:
        return self.client.experiments.get_run(self.experiment, self.name)

    def end_run(self, state: ExperimentRunState | str = ExperimentRunState.COMPLETE) -> None:
        self.client.experiments.end_run(self.experiment, self.name, state)
        _TRACKING.forget(self)

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if self.get_state() == ExperimentRunState.RUNNING:
            self.end_run(ExperimentRunState.COMPLETE if kind is None else ExperimentRunState.FAILED)
        _TRACKING.forget(self)

    def __repr__(self) -> str:
        return f"TrackedRun(experiment={self.experiment!r}, name={self.name!r})"


class _Tracking:
    """The process's current client, experiment and run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: Client | None = None
        self.experiment: str | None = None
        self.run: TrackedRun | None = None

    def open(self, home: Home | str | os.PathLike[str] | None, env: str | None) -> Client:
        from conveyor.client import Client

        with self.lock:
            if self.client is not None and (home is not None or env is not None):
                self.client.close()
                self.client = None
            if self.client is None:
                self.client = Client(home, env=env)
            return self.client

    def current_client(self) -> Client:
        return self.client or self.open(None, None)

    def current_experiment(self) -> str:
        if self.experiment is None:
            raise UsageError("no experiment is set: call conveyor.init(experiment=NAME) first")
        return self.experiment

    def current_run(self) -> TrackedRun:
        if self.run is None:
            raise UsageError("no run is started: call conveyor.start_run(NAME) first")
        return self.run

    def forget(self, run: TrackedRun) -> None:
        with self.lock:
            if self.run is run:
                self.run = None

    def close(self) -> None:
        with self.lock:
            if self.client is not None:
                self.client.close()
            self.client, self.experiment, self.run = None, None, None


_TRACKING = _Tracking()
atexit.register(_TRACKING.close)


def init(
    experiment: str | None = None,
    description: str | None = None,
    *,
    home: Home | str | os.PathLike[str] | None = None,
    env: str | None = None,
) -> None:
    """Set the current experiment (made if new, with `description`), and the home (`home`,
    or the environment `env`) that the calls log to."""
    client = _TRACKING.open(home, env)
    if experiment is not None:
        client.experiments.create(experiment, description=description, exist_ok=True)
        _TRACKING.experiment = experiment
        _TRACKING.run = None


def start_run(
    run: str, resume: bool = False, *, labels: Mapping[str, str] | None = None
) -> TrackedRun:
    """Start run `run` of the current experiment (with `resume`, an existing run again) and
    make it the current run; also a context manager that ends it."""
    experiment = _TRACKING.current_experiment()
    client = _TRACKING.current_client()
    client.experiments.start_run(experiment, run, resume=resume, labels=labels)
    tracked = TrackedRun(client, experiment, run)
    _TRACKING.run = tracked
    return tracked


def end_run(state: ExperimentRunState | str = ExperimentRunState.COMPLETE) -> None:
    """End the current run as `state` (COMPLETE, FAILED or CANCELLED)."""
    _TRACKING.current_run().end_run(state)


def log_params(params: Mapping[str, Any]) -> None:
    _TRACKING.current_run().log_params(params)


def log_metrics(metrics: Mapping[str, Any]) -> None:
    _TRACKING.current_run().log_metrics(metrics)


def log_time_series_metrics(
    metrics: Mapping[str, Any], step: int | None = None, wall_time: datetime | float | None = None
) -> int:
    return _TRACKING.current_run().log_time_series_metrics(metrics, step, wall_time)


def log_classification_metrics(
    labels: Sequence[str] | None = None,
    matrix: Sequence[Sequence[float]] | None = None,
    fpr: Sequence[float] | None = None,
    tpr: Sequence[float] | None = None,
    threshold: Sequence[float] | None = None,
    display_name: str | None = None,
) -> ClassificationMetrics:
    return _TRACKING.current_run().log_classification_metrics(
        labels, matrix, fpr, tpr, threshold, display_name
    )


def log_model(model: Any, name: str, **options: Any) -> ModelVersion:
    return _TRACKING.current_run().log_model(model, name, **options)


def get_experiment_df(experiment: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The runs of `experiment` (default: the current one) as a DataFrame."""
    wanted = experiment if experiment is not None else _TRACKING.current_experiment()
    return _TRACKING.current_client().get_experiment_df(wanted)
