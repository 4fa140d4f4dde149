"""`conveyor ci`: check a repository of pipelines before they ship, then upload them.

    repositories = find_repositories(["."])          # conveyor.automation.ci_targets
    report = check(repositories, registry=home.pipelines, open_home=open_sandbox)
    if report.ok:
        upload(report, home.pipelines, tag="prod")

Each pipeline gets these checks, each one case of the JUnit report:

- `compile`: kfp's compiler writes it as YAML, which is loaded and validated as
  `conveyor run` would; its name must suit the registry and no other pipeline's.
- `sample run`: with a CI profile (`ci_targets.Profile`), one run with the profile's
  parameters in a throwaway home under a temporary folder (never the user's home), which
  must succeed and produce the profile's outputs; skipped without a profile.
- `diff`: what changed since the latest registered version of the same name (a new
  pipeline, unchanged, or which components, parameters and images changed); never fails.

And each repository with a `tests/` folder, once: `tests`, `python -m pytest tests -q` in
a subprocess from the repository's root, with a throwaway home too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from conveyor.automation.ci_targets import Repository, Target
from conveyor.automation.errors import AutomationConflict, PipelineNotFound
from conveyor.automation.pipelines import check_pipeline_name
from conveyor.automation.spec_diff import SpecDiff
from conveyor.config import Settings
from conveyor.errors import ConveyorError, UsageError
from conveyor.pipelines import runner, validate
from conveyor.pipelines import spec as specs

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry
    from conveyor.automation.records import PipelineVersionRecord
    from conveyor.home import Home

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
COMPILE, TESTS, SAMPLE_RUN, DIFF = "compile", "tests", "sample run", "diff"
TAIL_LINES = 30
"""The last lines of a failing run's or test session's output that a check keeps."""

HomeOpener = Callable[[Settings], "Home"]
"""Opens the home of some settings (`conveyor.home.open_home`, given from above)."""
Progress = Callable[[str, str], None]
"""Told the pipeline (or repository) and the check about to start."""


@dataclass(frozen=True)
class CheckResult:
    """One check of one pipeline (or of a repository: `tests`), as a JUnit case."""

    pipeline: str
    """The target, `pipelines/train.py:train`; for `tests`, the repository's folder."""
    check: str
    result: str
    detail: str
    seconds: float = 0.0
    output: str | None = None
    """More than the detail line: a failed run's error, the test session's last lines."""

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "check": self.check,
            "result": self.result,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "output": self.output,
        }


@dataclass
class CheckedPipeline:
    """A pipeline as its checks left it: its spec once compiled, its diff once compared."""

    target: Target
    label: str
    spec: specs.PipelineSpec | None = None
    diff: SpecDiff | None = None
    against: str | None = None
    """The registered version it was compared with (`train@3`); None for a new pipeline."""

    @property
    def name(self) -> str | None:
        """The spec's `pipelineInfo.name`: the name it is registered under."""
        return self.spec["pipelineInfo"]["name"] if self.spec is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.label,
            "name": self.name,
            "spec_digest": self.spec.digest if self.spec is not None else None,
            "against": self.against,
            "diff": self.diff.to_json() if self.diff is not None else None,
        }


@dataclass
class Report:
    """Every check of a CI run, and the pipelines they checked."""

    checks: list[CheckResult] = field(default_factory=list)
    pipelines: list[CheckedPipeline] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.result == FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [c.to_json() for c in self.checks],
            "pipelines": [p.to_json() for p in self.pipelines],
        }


def check(
    repositories: Iterable[Repository],
    *,
    registry: PipelineRegistry,
    open_home: HomeOpener,
    progress: Progress | None = None,
    where: Path | None = None,
) -> Report:
    """Run every check of every pipeline of `repositories`; nothing raises for a failing
    pipeline, its checks say why. `where` (default: the working folder) is the folder
    pipelines and repositories are named from."""
    where = (where or Path.cwd()).resolve()
    report = Report()
    names: dict[str, str] = {}
    tell = progress or (lambda _pipeline, _check: None)
    with tempfile.TemporaryDirectory(prefix="conveyor-ci-") as scratch:
        for repository in repositories:
            shown = _shown(repository.root, where)
            if repository.tests is not None:
                tell(shown, TESTS)
                report.checks.append(_timed(shown, TESTS, partial(_run_tests, repository)))
            modules: dict[Path, ModuleType | ConveyorError] = {}
            for target in repository.targets:
                pipeline = CheckedPipeline(target, _label(target, where))
                report.pipelines.append(pipeline)
                report.checks.extend(
                    _check_pipeline(
                        pipeline, modules, names, Path(scratch), registry, open_home, tell
                    )
                )
    return report


def upload(
    report: Report, registry: PipelineRegistry, *, tag: str | None = None
) -> list[PipelineVersionRecord]:
    """Upload each pipeline of a passing `report` as a new version when its spec changed
    (the registry makes none for an unchanged one: `created` False), moving `tag` onto it;
    refused, with nothing uploaded, when a check failed."""
    if not report.ok:
        raise AutomationConflict(
            f"{len(report.failed)} CI check(s) failed; nothing uploaded (fix them and run again)"
        )
    return [
        registry.upload(p.name, p.spec, tags=[tag] if tag else (), source=p.target.label)
        for p in report.pipelines
        if p.spec is not None and p.name is not None
    ]


def _check_pipeline(
    pipeline: CheckedPipeline,
    modules: dict[Path, ModuleType | ConveyorError],
    names: dict[str, str],
    scratch: Path,
    registry: PipelineRegistry,
    open_home: HomeOpener,
    tell: Progress,
) -> list[CheckResult]:
    label = pipeline.label

    def compiled() -> tuple[str, str, None]:
        pipeline.spec = _compile(pipeline.target, modules, scratch)
        name = check_pipeline_name(pipeline.name, "pipelineInfo.name")
        if name in names:
            raise UsageError(
                f"pipeline name {name!r} is also the name of {names[name]}: their versions "
                "would mix in the registry; give one another name (@dsl.pipeline(name=...))"
            )
        names[name] = label
        return PASSED, f"compiled as {name}", None

    tell(label, COMPILE)
    results = [_timed(label, COMPILE, compiled)]
    spec = pipeline.spec
    if results[0].result == FAILED or spec is None:
        pipeline.spec = None
        why = "not compiled"
        return [*results, *(CheckResult(label, c, SKIPPED, why) for c in (SAMPLE_RUN, DIFF))]
    profile = pipeline.target.profile
    if profile is None:
        results.append(CheckResult(label, SAMPLE_RUN, SKIPPED, "no CI profile in conveyor.toml"))
    else:
        tell(label, SAMPLE_RUN)
        results.append(
            _timed(
                label,
                SAMPLE_RUN,
                lambda: _sample_run(spec, profile.parameters, profile.outputs, open_home),
            )
        )
    tell(label, DIFF)
    results.append(_timed(label, DIFF, lambda: _diff(pipeline, registry)))
    return results


def _timed(
    pipeline: str, name: str, work: Callable[[], tuple[str, str, str | None]]
) -> CheckResult:
    """The check `work` does, with how long it took; a Conveyor error, or any error of the
    user's code or of kfp, fails it with its message."""
    start = time.monotonic()
    try:
        result, detail, output = work()
    except ConveyorError as exc:
        result, detail, output = FAILED, str(exc), None
    except Exception as exc:
        result, detail, output = FAILED, f"{type(exc).__name__}: {exc}", None
    return CheckResult(pipeline, name, result, detail, time.monotonic() - start, output)


def _compile(
    target: Target, modules: dict[Path, ModuleType | ConveyorError], scratch: Path
) -> specs.PipelineSpec:
    """The target compiled by kfp's compiler to YAML, loaded and validated from there."""
    from kfp import compiler
    from kfp.dsl.graph_component import GraphComponent

    if target.file not in modules:  # each file imported once, however many pipelines it has
        try:
            modules[target.file] = specs.import_file(target.file)
        except ConveyorError as exc:
            modules[target.file] = exc
    module = modules[target.file]
    if isinstance(module, ConveyorError):
        raise module
    function = getattr(module, target.function, None)
    if not isinstance(function, GraphComponent):
        kind = "not defined" if function is None else "not a @dsl.pipeline function"
        raise UsageError(f"{target.function} in {target.file.name} is {kind}")
    path = Path(tempfile.mkdtemp(dir=scratch)) / f"{target.function}.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kfp's notes on images and versions, not errors
        compiler.Compiler().compile(function, str(path))
    spec = specs.load(path)
    validate.check_spec(spec)
    spec.source_dir = str(target.file.parent)  # its components import from there
    return spec


def _sample_run(
    spec: specs.PipelineSpec,
    parameters: dict[str, Any],
    outputs: tuple[str, ...],
    open_home: HomeOpener,
) -> tuple[str, str, str | None]:
    """One run with the profile's parameters in a throwaway home; it must succeed and
    produce every output the profile names."""
    with (
        tempfile.TemporaryDirectory(prefix="conveyor-ci-home-") as folder,
        open_home(Settings.from_env(folder, environ={})) as home,
    ):
        run = runner.run(spec, parameters, home=home)
        if run.status != "SUCCEEDED":
            error = run.error or ""
            first = error.splitlines()[0] if error else "no error recorded"
            return FAILED, f"run {run.status}: {first}", _tail(error)
        missing = _missing_outputs(home, spec, run, outputs)
    if missing:
        return FAILED, f"run succeeded but produced no {', '.join(missing)}", None
    found = f"; outputs found: {', '.join(outputs)}" if outputs else ""
    return PASSED, f"run succeeded ({len(run.tasks)} tasks){found}", None


def _missing_outputs(
    home: Home, spec: specs.PipelineSpec, run: runner.Run, outputs: tuple[str, ...]
) -> list[str]:
    """Which of `outputs` the run did not produce: `task/output`, an output parameter or
    a complete artifact of that task; `output`, an output of the pipeline."""
    produced: dict[str, list[str] | None] = {}
    """What the run produced: the URIs of an artifact output, None for a parameter."""
    for execution in home.store.get_run(run.run_id).executions:
        for name in execution.output_parameters:
            produced[f"{execution.task_key}/{name}"] = None
        for name, artifacts in execution.outputs.items():
            produced[f"{execution.task_key}/{name}"] = [a.uri for a in artifacts]
    artifacts = spec["root"].get("outputDefinitions", {}).get("artifacts", {})
    for name, value in run.outputs.items():
        if name not in artifacts:
            produced[name] = None
        else:
            produced[name] = [value] if isinstance(value, str) else list(value)
    missing = []
    for wanted in outputs:
        if wanted not in produced:
            missing.append(wanted)
            continue
        uris = produced[wanted]
        if uris is not None and not (uris and all(home.artifacts.is_complete(u) for u in uris)):
            missing.append(f"{wanted} (its artifact is not complete)")
    return missing


def _diff(pipeline: CheckedPipeline, registry: PipelineRegistry) -> tuple[str, str, None]:
    """What changed since the latest registered version of the same name."""
    assert pipeline.spec is not None and pipeline.name is not None
    try:
        latest = registry.resolve(f"{pipeline.name}@latest")
    except PipelineNotFound:
        return PASSED, "new pipeline", None
    pipeline.against = latest.reference
    pipeline.diff = SpecDiff.between(registry.spec(latest.reference), pipeline.spec)
    if not pipeline.diff.changed:
        return PASSED, f"unchanged since {latest.reference}", None
    return PASSED, f"changed since {latest.reference}: {pipeline.diff.summary()}", None


def _run_tests(repository: Repository) -> tuple[str, str, str | None]:
    """`python -m pytest tests -q` from the repository's root, with no Conveyor setting of
    this process: a throwaway home instead."""
    with tempfile.TemporaryDirectory(prefix="conveyor-ci-tests-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
        env.update(Settings.from_env(folder, environ={}).to_env())
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests", "-q"],
            cwd=repository.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
        )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else f"pytest exited with {done.returncode}"
    if done.returncode == 0:
        return PASSED, summary, None
    if done.returncode == 5:  # pytest: no tests collected
        return SKIPPED, "no tests collected in tests/", None
    return FAILED, summary, _tail(done.stdout + done.stderr)


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-TAIL_LINES:])


def _label(target: Target, where: Path) -> str:
    """The target as people type it from `where`: `pipelines/train.py:train`."""
    return f"{_shown(target.file, where)}:{target.function}"


def _shown(path: Path, where: Path) -> str:
    """`path` relative to `where` when inside it, else whole."""
    try:
        return path.relative_to(where).as_posix() or "."
    except ValueError:
        return str(path)
