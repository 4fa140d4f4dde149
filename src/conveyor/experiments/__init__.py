"""Experiment tracking: experiments, their runs, params, metrics and time series across runs,
with Vertex AI Experiments' semantics and names (`Experiments`), for Python, the command line,
REST and MLflow (its tracking store, `conveyor.experiments.mlflow_store`).

See docs/experiments.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import exports

if TYPE_CHECKING:
    from conveyor.experiments.errors import (
        ExperimentConflict,
        ExperimentNotFound,
        ExperimentRunExists,
        ExperimentRunNotFound,
        ExperimentUsageError,
    )
    from conveyor.experiments.records import (
        ClassificationMetrics,
        Experiment,
        ExperimentRun,
        ExperimentRunState,
        RunPage,
        TimeSeriesPoint,
    )
    from conveyor.experiments.tracker import Experiments

__getattr__ = exports(
    __name__,
    {
        "errors": (
            "ExperimentConflict",
            "ExperimentNotFound",
            "ExperimentRunExists",
            "ExperimentRunNotFound",
            "ExperimentUsageError",
        ),
        "records": (
            "ClassificationMetrics",
            "Experiment",
            "ExperimentRun",
            "ExperimentRunState",
            "RunPage",
            "TimeSeriesPoint",
        ),
        "tracker": ("Experiments",),
    },
)

__all__ = [
    "ClassificationMetrics",
    "Experiment",
    "ExperimentConflict",
    "ExperimentNotFound",
    "ExperimentRun",
    "ExperimentRunExists",
    "ExperimentRunNotFound",
    "ExperimentRunState",
    "ExperimentUsageError",
    "Experiments",
    "RunPage",
    "TimeSeriesPoint",
]
