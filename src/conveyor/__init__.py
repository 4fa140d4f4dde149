"""Conveyor: run Kubeflow Pipelines v2 locally, fast, with the Vertex AI workflow around them.

`conveyor.run(pipeline, arguments)` runs a pipeline and returns a `Run`. The
names are imported on first use, so `import conveyor.store...` does not pay for
importing kfp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.pipelines.runner import Run, TaskInfo, resume, run

__all__ = ["Run", "TaskInfo", "resume", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from conveyor.pipelines import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
