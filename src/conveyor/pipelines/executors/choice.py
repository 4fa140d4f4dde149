"""The executors of a run, by the name `conveyor run --executor` takes.

- `local` (the default): Python components in warm worker processes, Google Cloud
  Pipeline Components by Conveyor's implementations (`gcpc`), other container
  components in docker/podman or as local processes, importers at once.
- `inline`: Python components in the calling process, on its thread, one at a
  time, for a debugger; container components and importers as with `local`.

The engine gives each task to the first executor of the list that accepts it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conveyor.errors import UsageError
from conveyor.pipelines.executors.base import Executor
from conveyor.pipelines.executors.container import ContainerExecutor
from conveyor.pipelines.executors.gcpc_executor import GcpcExecutor, GcsImporterExecutor
from conveyor.pipelines.executors.inline import InlineExecutor
from conveyor.pipelines.executors.python import PythonExecutor
from conveyor.pipelines.placeholders import Job

CHOICES = ("local", "inline")
DEFAULT = "local"


def check(name: str) -> None:
    """Refuse an unknown name, naming the choices, before anything is recorded."""
    if name not in CHOICES:
        raise UsageError(f"unknown executor {name!r}; choose one of: {', '.join(CHOICES)}")


def make(
    name: str,
    job: Job,
    envs_dir: Path,
    log: Callable[[str], None] | None = None,
    import_roots: tuple[Path, ...] = (),
) -> list[Executor]:
    """The executors of one run; `job` fills the run placeholders of container commands,
    environments for `packages_to_install` go under `envs_dir`, `log` shows progress
    (building a package environment), importers take local URIs only under
    `import_roots` (when there are any)."""
    check(name)
    python = InlineExecutor() if name == "inline" else PythonExecutor(envs_dir, log=log)
    return [
        python,
        GcpcExecutor(job, envs_dir, log),
        ContainerExecutor(job=job),
        GcsImporterExecutor(import_roots),
    ]
