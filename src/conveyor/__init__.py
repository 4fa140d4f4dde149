"""Conveyor: run Kubeflow Pipelines v2 locally, fast, with the Vertex AI workflow around them."""

from conveyor.pipelines.runner import Run, TaskInfo, run

__all__ = ["Run", "TaskInfo", "run"]
