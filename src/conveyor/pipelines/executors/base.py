"""The contract between the engine and the ways a task can be executed.

The engine resolves a task into a `TaskRequest`: the KFP `ExecutorInput` JSON
(inputs with their values and artifacts, outputs with their local paths and the
`outputFile` where the executor output goes) plus the container spec from the
pipeline's `deploymentSpec`. An executor runs it and reports a `TaskResult`
through the callback it was given; the engine never knows how.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TaskRequest:
    """One task, resolved and ready to run."""

    key: str
    """Unique within the run, e.g. `root/for-loop-2[3]/train`."""
    executor_input: dict[str, Any]
    """KFP ExecutorInput as JSON (`inputs`, `outputs`, `outputs.outputFile`)."""
    container: dict[str, Any]
    """PipelineContainerSpec as JSON: `image`, `command`, `args`, `env`, `resources`."""
    log_path: Path
    """Where the task's stdout and stderr go."""
    workdir: Path
    """A private folder for the task's scratch files."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables (`set_env_variable`, and `env` of the spec)."""
    output_parameter_types: dict[str, str] = field(default_factory=dict)
    """Declared type of each output parameter (`STRING`, `NUMBER_INTEGER`, ...)."""


@dataclass
class TaskResult:
    """What an executor reports when a task ends."""

    key: str
    succeeded: bool
    executor_output: dict[str, Any] = field(default_factory=dict)
    """KFP ExecutorOutput as JSON (`parameterValues`, `artifacts`), if any."""
    error: str | None = None
    """One line on why the task failed (exception, exit code, signal)."""


Done = Callable[[TaskResult], None]


class Executor(abc.ABC):
    """Runs resolved tasks; several may run at once."""

    @abc.abstractmethod
    def accepts(self, container: dict[str, Any]) -> bool:
        """Whether this executor knows how to run tasks of this container spec."""

    @abc.abstractmethod
    def submit(self, request: TaskRequest, done: Done) -> None:
        """Start the task; call `done` exactly once, from any thread, when it ends."""

    @abc.abstractmethod
    def cancel(self, key: str) -> None:
        """Stop a running task; its `done` still gets called (as failed)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop everything and release processes; called once at the end of a run."""
