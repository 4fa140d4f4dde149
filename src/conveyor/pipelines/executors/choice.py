"""The executors of a run, by the name `conveyor run --executor` takes.

- `local` (the default): Python components in warm worker processes, Google Cloud
  Pipeline Components by Conveyor's implementations (`gcpc`), TFX's components in the
  cached environment of their tfx release (`tfx_executor`), other container
  components in docker/podman or as local processes, importers at once.
- `inline`: Python components in the calling process, on its thread, one at a
  time, for a debugger; container components and importers as with `local`.
- `ray`: Python components as tasks of a Ray cluster (`ray_executor`); Google Cloud
  Pipeline Components and importers as with `local`; other container components refused.

The engine gives each task to the first executor of the list that accepts it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import InvalidPipeline, UsageError
from conveyor.pipelines.executors import tfx_executor
from conveyor.pipelines.executors.base import Executor
from conveyor.pipelines.executors.container import ContainerExecutor
from conveyor.pipelines.executors.gcpc_executor import GcpcExecutor, GcsImporterExecutor
from conveyor.pipelines.executors.inline import InlineExecutor
from conveyor.pipelines.executors.python import PythonExecutor
from conveyor.pipelines.placeholders import Job

if TYPE_CHECKING:
    from conveyor.store.artifacts import ArtifactStore

CHOICES = ("local", "inline", "ray")
DEFAULT = "local"


def check(name: str) -> None:
    """Refuse an unknown name, naming the choices, before anything is recorded."""
    if name not in CHOICES:
        raise UsageError(f"unknown executor {name!r}; choose one of: {', '.join(CHOICES)}")


def prepare(
    name: str,
    spec: dict[str, Any],
    artifacts: ArtifactStore,
    ray_address: str,
    envs_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> None:
    """Refuse, before a run is recorded, what executor `name` cannot run: for `ray`, joins
    the cluster at `ray_address` and checks the pipeline and the artifact root against it;
    with `envs_dir`, TFX components whose executor class their tfx environment (built
    there if need be) cannot import."""
    check(name)
    if name == "ray":
        from conveyor.pipelines.executors import ray_executor

        ray_executor.check_cluster(spec, artifacts, ray_address)
    if envs_dir is not None:
        problems = tfx_executor.unimportable(spec, envs_dir, log)
        if problems:
            raise InvalidPipeline("\n".join(problems))


def make(
    name: str,
    job: Job,
    envs_dir: Path,
    log: Callable[[str], None] | None = None,
    import_roots: tuple[Path, ...] = (),
    artifacts: ArtifactStore | None = None,
) -> list[Executor]:
    """The executors of one run; `job` fills the run placeholders of container commands,
    environments for `packages_to_install` go under `envs_dir`, `log` shows progress
    (building a package environment), importers take local URIs only under
    `import_roots` (when there are any); Ray tasks' outputs travel through `artifacts`."""
    check(name)
    gcpc, importer = GcpcExecutor(job, envs_dir, log), GcsImporterExecutor(import_roots)
    if name == "ray":
        from conveyor.pipelines.executors.ray_executor import RayExecutor

        assert artifacts is not None
        return [RayExecutor(artifacts), gcpc, importer]
    python = InlineExecutor() if name == "inline" else PythonExecutor(envs_dir, log=log)
    tfx = tfx_executor.TfxExecutor(job, envs_dir, log)
    return [python, gcpc, tfx, ContainerExecutor(job=job), importer]
