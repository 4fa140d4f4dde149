"""What one task does on a Ray node: fetch its inputs, run its component, hand back its
outputs.

The node may be another machine, so nothing of the driver's disk is assumed: the task
works in a scratch folder of its own. Input artifacts at remote URIs (`s3://...`) are
downloaded into it; inputs at local paths are read where they are (an artifact root that
every node shares). The component runs as in a local worker (`_worker.run`), writing its
log, output parameters and executor output into the scratch folder; those come back in
the task's answer, which is small. Output artifacts never travel through Ray's object
store: with a remote artifact root they are uploaded to the staging URIs the driver chose
(`upload`), with a shared local root they are written straight to the driver's staging
paths. The scratch folder is removed whatever happens.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import fsspec

from conveyor.pipelines.executors import _worker


def run(job: dict[str, Any], upload: dict[str, str]) -> dict[str, Any]:
    """Run one task (a `python.worker_job` dict) on this node. `upload` maps output
    artifact names to the URIs their files go to; the others are written in place.

    The answer: `succeeded`, `error`, `log` (bytes), `files` (the driver's path of the
    executor output and of each output parameter file: their bytes)."""
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-task-"))
    try:
        executor_input = copy.deepcopy(job["executor_input"])
        _fetch_inputs(executor_input, scratch / "inputs")
        moved = _redirect_outputs(executor_input, scratch, upload)
        log = scratch / "log.txt"
        succeeded, error = _worker.run(
            {
                **job,
                "executor_input": executor_input,
                "log_path": str(log),
                "module_path": str(scratch / "ephemeral_component.py"),
            }
        )
        if succeeded:
            _upload(executor_input, upload)
        files = {
            driver_path: Path(here).read_bytes()
            for here, driver_path in moved.items()
            if os.path.isfile(here)
        }
        output_file = executor_input["outputs"]["outputFile"]
        if output_file in moved and moved[output_file] in files:
            files[moved[output_file]] = _restore(files[moved[output_file]], moved)
        return {
            "succeeded": succeeded,
            "error": error,
            "log": log.read_bytes() if log.exists() else b"",
            "files": files,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fetch_inputs(executor_input: dict[str, Any], folder: Path) -> None:
    """Download each input artifact at a remote URI into `folder`; point the task at it."""
    artifacts = executor_input.get("inputs", {}).get("artifacts", {})
    for number, artifact in enumerate(_artifacts(artifacts)):
        uri = artifact.get("uri", "")
        if "://" not in uri:
            continue
        fs, path = fsspec.core.url_to_fs(uri)
        local = folder / str(number) / (Path(path).name or "data")
        local.parent.mkdir(parents=True)
        if fs.isdir(path):
            for name in fs.find(path):
                target = local / os.path.relpath(name, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(name, str(target))
        elif fs.exists(path):
            fs.get_file(path, str(local))
        # else: a metadata-only artifact (Metrics...): nothing is stored at its URI
        artifact["uri"] = str(local)


def _redirect_outputs(
    executor_input: dict[str, Any], scratch: Path, upload: dict[str, str]
) -> dict[str, str]:
    """Point the output files into `scratch`: the executor output, each output parameter's
    file, and each output artifact to upload. The answer maps each new path to the
    driver's."""
    outputs = executor_input["outputs"]
    moved = {}
    driver_file = outputs["outputFile"]
    outputs["outputFile"] = moved_to = str(scratch / "executor_output.json")
    moved[moved_to] = driver_file
    (scratch / "parameters").mkdir()
    for number, (_, parameter) in enumerate(sorted(outputs.get("parameters", {}).items())):
        driver_path = parameter["outputFile"]
        parameter["outputFile"] = moved_to = str(scratch / "parameters" / str(number))
        moved[moved_to] = driver_path
    for name, listed in outputs.get("artifacts", {}).items():
        if name not in upload:
            continue
        for artifact in listed.get("artifacts", []):
            driver_path = artifact["uri"]
            local = scratch / "outputs" / name / Path(driver_path).name
            local.parent.mkdir(parents=True)
            artifact["uri"] = str(local)
            moved[str(local)] = driver_path
    return moved


def _upload(executor_input: dict[str, Any], upload: dict[str, str]) -> None:
    """Send each output artifact the component wrote to its staging URI."""
    for name, listed in executor_input["outputs"].get("artifacts", {}).items():
        if name not in upload:
            continue
        local = Path(listed["artifacts"][0]["uri"])
        if not os.path.lexists(local):
            continue  # a metadata-only output
        fs, target = fsspec.core.url_to_fs(upload[name])
        if local.is_dir():
            for path in sorted(p for p in local.rglob("*") if p.is_file()):
                fs.put_file(str(path), f"{target}/{path.relative_to(local).as_posix()}")
        else:
            fs.put_file(str(local), target)


def _restore(executor_output: bytes, moved: dict[str, str]) -> bytes:
    """The executor output names its artifacts at their scratch paths: name the driver's."""
    output = json.loads(executor_output)
    for artifact in _artifacts(output.get("artifacts", {})):
        artifact["uri"] = moved.get(artifact.get("uri", ""), artifact.get("uri", ""))
    return json.dumps(output).encode()


def _artifacts(listed: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for entry in listed.values() for a in entry.get("artifacts", [])]
