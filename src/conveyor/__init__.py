"""Conveyor: run Kubeflow Pipelines v2 locally, fast, with the Vertex AI workflow around them.

`conveyor.run(pipeline, arguments)` runs a pipeline and returns a `Run`;
`conveyor.init(experiment=...)`, `conveyor.start_run(...)` and the `log_*` calls track
experiments (`conveyor.tracking`). The names are imported on first use, so
`import conveyor.store...` does not pay for importing kfp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.home import Home
    from conveyor.pipelines.runner import Run, TaskInfo

_TRACKING_NAMES = frozenset(
    {
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
    }
)
"""The experiment-tracking calls, from `conveyor.tracking`."""

__all__ = ["Run", "TaskInfo", "resume", "run", *sorted(_TRACKING_NAMES)]


def run(
    pipeline: Any,
    arguments: dict[str, Any] | None = None,
    *,
    home: Home | None = None,
    **options: Any,
) -> Run:
    """Run a pipeline to its end in `home` (default: the home of the environment's
    settings, `.conveyor/` here or `$CONVEYOR_HOME`); `options` are those of
    `conveyor.pipelines.runner.run` (`parallelism`, `enable_caching`, ...)."""
    from conveyor.client import Client

    with Client(home) as client:
        return client.run(pipeline, arguments, **options)


def resume(run_id: str, *, home: Home | None = None, **options: Any) -> Run:
    """Continue a failed, cancelled or killed run, re-running only what did not complete."""
    from conveyor.client import Client

    with Client(home) as client:
        return client.resume(run_id, **options)


def __getattr__(name: str) -> Any:
    if name in ("Run", "TaskInfo"):
        from conveyor.pipelines import runner

        return getattr(runner, name)
    if name in _TRACKING_NAMES:
        from conveyor import tracking

        return getattr(tracking, name)
    raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
