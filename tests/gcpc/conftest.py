"""Fixtures of the GCPC tests: Cloud Storage mapped to a folder, and Google's components run
by Conveyor's implementations in this process, from the specs GCPC compiles them to.

`launch(ModelUploadOp, parameters={...}, artifacts={...})` compiles the component with kfp,
fills its executor's arguments as a run does (`gcpc.local_container`, then the
placeholders), calls the implementation's `run` with them and returns what it wrote: the
output artifacts of its executor output, and `gcp_resources`. Running it in this process
rather than as the task's process keeps the tests fast; `test_gcpc_pipelines.py` and
`test_gcpc_example.py` run whole pipelines.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gcpc_support import executor_of

from conveyor.components.gcpc._launcher import parse
from conveyor.pipelines.executors import gcpc
from conveyor.pipelines.placeholders import Context, Job, resolve_command

JOB = Job(
    name="",
    resource_name="",
    uuid="",
    pipeline_root="",
    create_time_utc="2026-01-01T00:00:00+00:00",
    schedule_time_utc="2026-01-01T00:00:00+00:00",
)
"""No run: `pipeline_job` names none, so uploads link to no run."""


@pytest.fixture
def gcs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cloud Storage mapped to a folder of the test (`CONVEYOR_GCS_ROOT`)."""
    root = tmp_path / "gcs"
    root.mkdir()
    monkeypatch.setenv("CONVEYOR_GCS_ROOT", str(root))
    return root


@dataclass
class Launched:
    """What an implementation wrote."""

    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Output artifacts by name: `uri`, `metadata`."""
    gcp_resources: dict[str, Any] | None = None
    staged: dict[str, str] = field(default_factory=dict)
    """Where each output artifact was staged (the URI the run gave it)."""


@pytest.fixture
def launch(tmp_path: Path):
    counter = iter(range(10**6))

    def run(
        component: Any,
        parameters: dict[str, Any] | None = None,
        artifacts: dict[str, dict[str, Any]] | None = None,
    ) -> Launched:
        container, definition = executor_of(component)
        work = tmp_path / f"task-{next(counter)}"
        work.mkdir()
        declared = definition.get("inputDefinitions", {}).get("parameters", {})
        values = {n: d["defaultValue"] for n, d in declared.items() if "defaultValue" in d}
        values |= parameters or {}
        outputs = definition.get("outputDefinitions", {})
        staged = {name: str(work / "staged" / name) for name in outputs.get("artifacts", {})}
        executor_input = {
            "inputs": {
                "parameterValues": values,
                "artifacts": {
                    name: {"artifacts": [{"name": name, **artifact}]}
                    for name, artifact in (artifacts or {}).items()
                },
            },
            "outputs": {
                "parameters": {
                    name: {"outputFile": str(work / "outputs" / name)}
                    for name in outputs.get("parameters", {})
                },
                "artifacts": {
                    name: {"artifacts": [{"name": name, "uri": uri, "metadata": {}}]}
                    for name, uri in staged.items()
                },
                "outputFile": str(work / "executor_output.json"),
            },
        }
        (work / "outputs").mkdir()
        local = gcpc.local_container(container, values)
        context = Context.for_task(JOB, "task")
        words = local["command"][4:] + resolve_command(local["args"], executor_input, context)
        module = importlib.import_module(local["command"][3])
        module.run(parse(words, getattr(module, "OPTIONS", ())))
        launched = Launched(staged=staged)
        output_file = work / "executor_output.json"
        if output_file.exists():
            produced = json.loads(output_file.read_text())["artifacts"]
            launched.artifacts = {n: listed["artifacts"][0] for n, listed in produced.items()}
        resources = work / "outputs" / "gcp_resources"
        if resources.exists():
            launched.gcp_resources = json.loads(resources.read_text())
        return launched

    return run
