"""Run a conformance pipeline on Conveyor and on kfp.local, and hold both to the same expectations.

Each test states what a pipeline must produce (status and pipeline outputs, with
artifacts given by their file contents). `run_pipeline` runs the pipeline on
kfp.local (the reference, `SubprocessRunner(use_venv=False)`) when the feature is
one that kfp.local supports, checks it, then runs it on Conveyor, checks it the
same way, and returns a `Result` for the Conveyor-only checks (task states, the
error message).

Every test runs once per Conveyor executor (`EXECUTORS`); kfp.local runs only
with the first, since its half does not depend on Conveyor's executor.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kfp import dsl

from conveyor import run as conveyor_run
from kfp_reference import on_kfp_local

CONVEYOR = "conveyor"
KFP_LOCAL = "kfp.local"
EXECUTORS = ("local", "inline", "ray")
"""Conveyor's executors (`conveyor.run(..., executor=...)`); each runs every test."""

TASK_STATES = {"SUCCEEDED", "FAILED", "SKIPPED", "NOT_TRIGGERED", "CANCELLED", "CACHED"}

Arguments = dict[str, Any] | Callable[[str], dict[str, Any]] | None


@pytest.fixture(autouse=True)
def conveyor_home(tmp_path, monkeypatch) -> Path:
    """Each test gets its own Conveyor folder (metadata, artifacts, logs)."""
    home = tmp_path / "conveyor-home"
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    return home


@dataclass
class LocalOutcome:
    """What kfp.local reported: its final state, pipeline outputs and failure message."""

    status: str
    outputs: dict[str, Any]
    error: str | None = None


@dataclass
class Result:
    """Both runs of one pipeline; `run` is Conveyor's `Run`."""

    run: Any
    kfp_local: LocalOutcome | None

    @property
    def runners(self) -> tuple[str, ...]:
        """The runners that ran the pipeline, by the names `arguments` are given."""
        return (KFP_LOCAL, CONVEYOR) if self.kfp_local else (CONVEYOR,)

    def states(self, *names: str) -> dict[str, str]:
        """The Conveyor states of the named tasks, for one assert over several tasks."""
        return {name: self.run.task(name).status for name in names}

    def most_at_once(self, pattern: str) -> int:
        """How many tasks whose names match `pattern` (a regex) were running at one moment."""
        spans = sorted(
            (info.started, info.finished)
            for info in self.run.tasks
            if re.fullmatch(pattern, info.name)
        )
        assert spans, f"no task matches {pattern!r}"
        events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
        running = most = 0
        for _, step in events:
            running += step
            most = max(most, running)
        return most


def read_artifact(uri: str) -> Any:
    """An artifact's contents: a file's text, a folder as {relative path: text}, None if absent."""
    path = Path(uri.removeprefix("file://"))
    if path.is_dir():
        return {
            str(child.relative_to(path)): child.read_text()
            for child in sorted(path.rglob("*"))
            if child.is_file()
        }
    if path.is_file():
        return path.read_text()
    return None


def artifact_output_names(pipeline) -> set[str]:
    """The pipeline outputs that are artifacts (or lists of artifacts), per the compiled spec."""
    return set(pipeline.pipeline_spec.root.output_definitions.artifacts)


def comparable_outputs(outputs: dict[str, Any], artifact_names: set[str]) -> dict[str, Any]:
    """Pipeline outputs with every artifact replaced by its contents."""
    result = {}
    for name, value in outputs.items():
        if name not in artifact_names:
            result[name] = value
        elif isinstance(value, list):
            result[name] = [read_artifact(_uri(item)) for item in value]
        else:
            result[name] = read_artifact(_uri(value))
    return result


def _uri(value: Any) -> str:
    """kfp.local returns artifacts as `dsl.Artifact` objects, Conveyor as their URIs."""
    if isinstance(value, dsl.Artifact):
        return value.uri
    assert isinstance(value, str) and os.path.isabs(value.removeprefix("file://")), (
        f"an artifact output should be an absolute local path, got {value!r}"
    )
    return value


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_on_kfp_local(pipeline, arguments: dict[str, Any], pipeline_root: Path) -> LocalOutcome:
    """Run the pipeline as kfp.local does (`on_kfp_local`): init, then call the pipeline function.

    kfp.local reports a failed task by raising RuntimeError("Pipeline ... finished
    with status FAILURE. Inner task failed: ..."); anything else it raises is a
    limitation of kfp.local and propagates.
    """
    with on_kfp_local(pipeline_root):
        try:
            task = pipeline(**arguments)
        except RuntimeError as error:
            message = _ANSI.sub("", str(error))
            if "finished with status FAILURE" not in message:
                raise
            return LocalOutcome("FAILED", {}, message)
    return LocalOutcome("SUCCEEDED", dict(task.outputs))


@pytest.fixture(params=EXECUTORS)
def executor(request, monkeypatch) -> str:
    """The Conveyor executor a test runs its pipelines with; `ray` on the session's cluster."""
    if request.param == "ray":
        if request.module.__name__.endswith("test_container_components"):
            pytest.skip(
                "the Ray executor runs Python components only; it refuses container "
                "components before the run (tests/pipelines/test_ray_executor.py)"
            )
        monkeypatch.setenv("CONVEYOR_RAY_ADDRESS", request.getfixturevalue("ray_cluster").address)
    return request.param


@pytest.fixture
def run_pipeline(tmp_path, executor) -> Callable[..., Result]:
    """Run a pipeline on kfp.local and Conveyor; check each against the expectations.

    `arguments` is a dict, or a function of the runner's name ("conveyor",
    "kfp.local") for pipelines that leave traces in files, so that each runner
    writes its own (`Result.runners` are those that ran). `outputs` are the
    expected pipeline outputs, artifacts by their contents (None: not checked).
    `failed_task` must appear in the failure message of each runner.
    `kfp_local=False` is for features kfp.local cannot run (say why at the call).
    Other keywords go to `conveyor.run`, with the test's `executor`.
    """

    def run(
        pipeline,
        arguments: Arguments = None,
        *,
        status: str = "SUCCEEDED",
        outputs: dict[str, Any] | None = None,
        failed_task: str | None = None,
        kfp_local: bool = True,
        **options,
    ) -> Result:
        def arguments_for(runner: str) -> dict[str, Any]:
            if callable(arguments):
                return arguments(runner)
            return dict(arguments or {})

        artifacts = artifact_output_names(pipeline)
        reference = None
        if kfp_local and executor == EXECUTORS[0]:
            reference = run_on_kfp_local(pipeline, arguments_for(KFP_LOCAL), tmp_path / "kfp-local")
            assert reference.status == status, f"kfp.local: {reference.error}"
            if outputs is not None:
                assert comparable_outputs(reference.outputs, artifacts) == outputs, "kfp.local"
            if failed_task is not None:
                assert f"'{failed_task}'" in reference.error, "kfp.local"

        result = conveyor_run(pipeline, arguments_for(CONVEYOR), executor=executor, **options)
        assert result.status == status, f"Conveyor: {result.error}"
        if outputs is not None:
            assert comparable_outputs(result.outputs, artifacts) == outputs, "Conveyor"
        if failed_task is not None:
            assert result.error and failed_task in result.error, "Conveyor"
        assert result.pipeline == pipeline.pipeline_spec.pipeline_info.name
        for info in result.tasks:
            assert info.status in TASK_STATES, (info.name, info.status)
            if info.status in ("SUCCEEDED", "FAILED"):
                assert info.started and info.finished and info.started <= info.finished, info
        return Result(result, reference)

    return run
