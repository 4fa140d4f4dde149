"""Python components as Ray tasks on a cluster: `conveyor run --executor ray`.

The engine stays the driver: it schedules, caches, retries and records as for a local run;
only the running of each Python component moves to a node of the cluster
(`_ray_task.run`), with the task's resources (`ray_resources`), its `packages_to_install`
as a pip `runtime_env` (Ray builds and caches one per set of packages on each node) and
its `set_env_variable`s as the runtime_env's `env_vars`. Ray retries a task whose worker
or node died (`NODE_RETRIES`), before the task's own retry policy sees a failure.

Artifacts go through the artifact root, never Ray's object store: a remote root (S3, GCS)
by fsspec, or a local root every node shares. `check_cluster` refuses a local root that
the cluster's nodes cannot all see before a run starts, as it refuses an unreachable
cluster and container components (which the driver runs here instead only when they are
Google Cloud Pipeline Components or importers, as the local executor does).
"""

from __future__ import annotations

import contextlib
import posixpath
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import UsageError
from conveyor.pipelines.executors import python_component, ray_resources
from conveyor.pipelines.executors.base import CANCELLED, Executor, Task, TaskRequest, TaskResult
from conveyor.pipelines.executors.python import read_output, worker_job
from conveyor.store.artifacts.remote import RemoteArtifactStore

if TYPE_CHECKING:
    from conveyor.store.artifacts import ArtifactStore

NODE_RETRIES = 3
"""How often Ray runs a task again when its worker process or node died under it."""
CONNECT_SECONDS = 10.0
"""How long a cluster's address may take to accept a connection before it is unreachable."""

_connect_lock = threading.Lock()
_joined: list[str] = []
"""The address this process joined (a process joins one cluster)."""


def connect(address: str) -> None:
    """Join the Ray cluster at `address` (`auto`, `HOST:PORT`, `ray://HOST:PORT`), once per
    process; a cluster that does not answer, or another cluster than the one this process
    joined, is a `UsageError` saying so."""
    import ray

    with _connect_lock:
        if ray.is_initialized():
            if _joined and _joined[0] != address:
                raise UsageError(
                    f"this process has joined the Ray cluster at {_joined[0]}; it cannot run "
                    f"tasks on {address} too (run it from another process)"
                )
            return
        host, port = _host_port(address)
        if host is not None:
            try:
                socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
            except OSError as exc:
                raise UsageError(
                    f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one "
                    f"with `ray start --head` or give its address with --ray-address"
                ) from None
        try:
            ray.init(
                address=address, namespace="conveyor", log_to_driver=False, logging_level="WARNING"
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UsageError(f"cannot join the Ray cluster at {address}: {exc}") from None
        _joined[:] = [address]


def check_cluster(spec: dict[str, Any], artifacts: ArtifactStore, address: str) -> None:
    """Refuse, before the run starts, what the cluster cannot run: an unreachable cluster,
    a container component, a local artifact root that not every node sees."""
    from conveyor.pipelines.executors import gcpc

    for label, executor in spec.get("deploymentSpec", {}).get("executors", {}).items():
        container = executor.get("container")
        if container is None or python_component.parse(container) is not None:
            continue
        if gcpc.implementation(container) is None:
            raise UsageError(
                f"executor {label} runs the container image {container.get('image')!r}: the "
                f"Ray executor runs Python components only (`@dsl.component`); run this "
                f"pipeline with --executor local"
            )
    connect(address)
    if isinstance(artifacts, RemoteArtifactStore):
        return
    import ray

    here = ray.util.get_node_ip_address()
    elsewhere = sorted({n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]} - {here})
    if elsewhere:
        raise UsageError(
            f"the artifact root {artifacts.root} is a local folder, but the Ray cluster has "
            f"nodes on other machines ({', '.join(elsewhere)}) that cannot read it; use an "
            f"S3 or GCS artifact root (CONVEYOR_ARTIFACT_ROOT=s3://bucket/prefix)"
        )


class RayTask:
    """A submitted Ray task, as `Executor.holding` stops it."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def wait(self) -> int | None:
        import ray

        ray.wait([self.ref])
        return None

    def kill(self) -> None:
        import ray

        with contextlib.suppress(Exception):  # ended already
            ray.cancel(self.ref, force=True)


class RayExecutor(Executor):
    """Runs `@dsl.component` functions as tasks of the Ray cluster the process joined
    (`connect`); output artifacts travel through `artifacts`, the run's artifact store."""

    fetches_inputs = True

    def __init__(self, artifacts: ArtifactStore) -> None:
        super().__init__()
        self.artifacts = artifacts
        self._remote: Any = None

    def accepts(self, spec: dict[str, Any]) -> bool:
        return "container" in spec and python_component.parse(spec["container"]) is not None

    def execute(self, request: TaskRequest, task: Task) -> TaskResult:
        import ray
        from ray.exceptions import RayError

        component = python_component.parse(request.container)
        assert component is not None
        parameters = request.executor_input.get("inputs", {}).get("parameterValues", {})
        options = ray_resources.options_of(request.container, parameters)
        missing = ray_resources.unsatisfiable(options, ray.nodes())
        if missing is not None:
            return TaskResult(request.key, False, error=missing)
        options["runtime_env"] = _runtime_env(component, request.container)
        upload = self._upload_uris(request)
        ref = self._task().options(**options).remote(worker_job(request, component), upload)
        try:
            with self.holding(task, RayTask(ref)):
                answer = ray.get(ref)
        except RayError as exc:
            self._drop(upload)
            return TaskResult(request.key, False, error=_error_of(exc, task))
        _write_back(request, answer)
        try:
            if answer["succeeded"]:
                self._take(request, upload)
        finally:
            self._drop(upload)
        if not answer["succeeded"]:
            return TaskResult(request.key, False, error=answer["error"])
        return TaskResult(request.key, True, executor_output=read_output(request))

    def _task(self) -> Any:
        if self._remote is None:
            import ray

            from conveyor.pipelines.executors import _ray_task

            self._remote = ray.remote(max_retries=NODE_RETRIES)(_ray_task.run)
        return self._remote

    def _upload_uris(self, request: TaskRequest) -> dict[str, str]:
        """Where, with a remote root, each output artifact goes up; nothing with a local one."""
        if not isinstance(self.artifacts, RemoteArtifactStore):
            return {}
        area = self.artifacts.upload_area()
        names = request.executor_input["outputs"].get("artifacts", {})
        return {name: posixpath.join(area, str(number)) for number, name in enumerate(names)}

    def _take(self, request: TaskRequest, upload: dict[str, str]) -> None:
        """Bring each uploaded output to its staging path here, which the engine publishes."""
        assert isinstance(self.artifacts, RemoteArtifactStore) or not upload
        outputs = request.executor_input["outputs"]["artifacts"]
        for name, uri in upload.items():
            self.artifacts.take_upload(uri, Path(outputs[name]["artifacts"][0]["uri"]))

    def _drop(self, upload: dict[str, str]) -> None:
        for uri in upload.values():
            assert isinstance(self.artifacts, RemoteArtifactStore)
            self.artifacts.drop_upload(uri)


def _error_of(exc: BaseException, task: Task) -> str:
    """One line on why Ray could not run the task."""
    from ray.exceptions import RuntimeEnvSetupError, TaskCancelledError

    if task.cancelled or isinstance(exc, TaskCancelledError):
        return CANCELLED
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if isinstance(exc, RuntimeEnvSetupError):
        return f"Ray could not install the task's packages: {lines[-1] if lines else exc}"
    return f"{type(exc).__name__}: {lines[-1] if lines else 'the Ray task failed'}"


def _runtime_env(component: python_component.PythonComponent, container: dict[str, Any]) -> dict:
    """The task's packages as a pip runtime_env, its `set_env_variable`s as env_vars."""
    env: dict[str, Any] = {}
    if component.packages:
        options = []
        if component.index_urls:
            options = ["--index-url", component.index_urls[0]]
            for extra in component.index_urls[1:]:
                options += ["--extra-index-url", extra]
        env["pip"] = {"packages": [*options, *component.packages], "pip_check": False}
    variables = {e["name"]: e.get("value", "") for e in container.get("env", [])}
    if variables:
        env["env_vars"] = variables
    return env


def _write_back(request: TaskRequest, answer: dict[str, Any]) -> None:
    """The task's log, executor output and output parameters, where the engine reads them;
    only at the paths this request named, whatever the answer holds."""
    with open(request.log_path, "ab") as log:
        log.write(answer["log"])
    outputs = request.executor_input["outputs"]
    named = {outputs["outputFile"]} | {
        p["outputFile"] for p in outputs.get("parameters", {}).values()
    }
    for path, data in answer["files"].items():
        if path in named:
            Path(path).write_bytes(data)


def _host_port(address: str) -> tuple[str | None, int]:
    if address == "auto":
        return None, 0
    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"Ray address {address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    return host.strip("[]"), int(port)
