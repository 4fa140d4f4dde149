"""`CustomTrainingJobOp` and `create_custom_training_job_from_component`: the job's
container command runs here, as a local process of the task.

The first worker pool's `container_spec` `command` and `args` run; its image is not
pulled. The command runs in Conveyor's environment: the folder of Conveyor's interpreter
comes first on `PATH`, so `python3` is Conveyor's Python. A KFP Python component
(`create_custom_training_job_from_component`) runs kfp's executor in the interpreter the
executor chose for it (Conveyor's, or the cached environment of its
`packages_to_install`), its placeholders filled as Vertex AI fills them, so its outputs
are the task's. Only the chief replica runs: other replicas and worker pools (distributed
training) are named in the log and skipped; machines and accelerators are not Conveyor's
to choose.

Environment, as Vertex AI sets it: the pool's `env`; `AIP_MODEL_DIR`,
`AIP_CHECKPOINT_DIR` and `AIP_TENSORBOARD_LOG_DIR` (`model/`, `checkpoints/` and `logs/`
under `base_output_directory`, when it is given; folders made, and local paths when
`CONVEYOR_GCS_ROOT` maps `gs://`); `CLOUD_ML_PROJECT_ID`, `CLOUD_ML_REGION`,
`CLOUD_ML_JOB_ID`. A job running longer than its `timeout` is stopped.

Output: `gcp_resources` (`CustomJob`, `projects/P/locations/L/customJobs/ID`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from typing import Any

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, LauncherError, main, new_id
from conveyor.components.gcpc._storage import Storage

OUTPUT_FOLDERS = {
    "AIP_MODEL_DIR": "model",
    "AIP_CHECKPOINT_DIR": "checkpoints",
    "AIP_TENSORBOARD_LOG_DIR": "logs",
}
_DURATION = re.compile(r"(\d+(\.\d+)?)s")


def run(args: Arguments) -> None:
    job_spec = args.payload.get("job_spec") or {}
    pools = job_spec.get("worker_pool_specs") or []
    if not pools or not isinstance(pools[0], dict):
        raise LauncherError("CustomTrainingJobOp: worker_pool_specs is empty; give one pool")
    container = pools[0].get("container_spec")
    if not container:
        raise LauncherError(
            "CustomTrainingJobOp: the first worker pool has no container_spec (a "
            "python_package_spec is not supported here); give the container's command"
        )
    command = [str(w) for w in (*(container.get("command") or ()), *(container.get("args") or ()))]
    if not command:
        raise LauncherError(
            f"CustomTrainingJobOp: the worker pool gives no command; Conveyor does not pull "
            f"{container.get('image_uri', 'the image')} to find its entrypoint, so name it"
        )
    job_id = new_id()
    resource = args.resource("customJobs", job_id)
    args.write_gcp_resources("CustomJob", resource.uri)
    with Client() as client:
        storage = Storage.of(client)
    env = environment(args, job_spec, container, storage, job_id)
    _skipped(pools)
    name = args.payload.get("display_name", "")
    print(f"custom job {name} ({resource}) runs: {shlex.join(command)[:500]}", flush=True)
    for variable in OUTPUT_FOLDERS:
        if variable in env:
            print(f"{variable}={env[variable]}", flush=True)
    timeout = _seconds((job_spec.get("scheduling") or {}).get("timeout"))
    try:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise LauncherError(f"the worker pool's command {command[0]!r} was not found") from None
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise LauncherError(
            f"custom job {name} ran longer than its timeout, {timeout:g}s"
        ) from None
    if code != 0:
        raise LauncherError(f"custom job {name}: the worker pool's command exited with code {code}")


def environment(
    args: Arguments,
    job_spec: dict[str, Any],
    container: dict[str, Any],
    storage: Storage,
    job_id: str,
) -> dict[str, str]:
    """The worker's environment variables (module docstring)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env |= {
        "CLOUD_ML_PROJECT_ID": args.project,
        "CLOUD_ML_REGION": args.location,
        "CLOUD_ML_JOB_ID": job_id,
    }
    base = (job_spec.get("base_output_directory") or {}).get("output_uri_prefix")
    if base:
        for variable, folder in OUTPUT_FOLDERS.items():
            env[variable] = storage.makedirs(f"{base.rstrip('/')}/{folder}").rstrip("/") + "/"
    for item in container.get("env") or ():
        if isinstance(item, dict) and item.get("name"):
            env[str(item["name"])] = str(item.get("value", ""))
    return env


def _skipped(pools: list[Any]) -> None:
    """Say what of a distributed job does not run here."""
    replicas = int((pools[0] or {}).get("replica_count") or 1)
    others = [p for p in pools[1:] if p]
    if replicas > 1 or others:
        print(
            f"only the chief replica runs here: {replicas - 1} more replicas of the first "
            f"worker pool and {len(others)} other worker pools are skipped",
            flush=True,
        )


def _seconds(duration: Any) -> float | None:
    """A Vertex AI duration (`604800s`) in seconds; None when not given."""
    if not duration:
        return None
    found = _DURATION.fullmatch(str(duration).strip())
    if found is None:
        raise LauncherError(f"timeout {duration!r} is not a duration in seconds such as 3600s")
    return float(found.group(1))


if __name__ == "__main__":
    sys.exit(main(run))
