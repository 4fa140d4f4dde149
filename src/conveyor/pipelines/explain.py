"""Why a task of a run hit or missed the cache: the answer of `conveyor runs explain-cache`.

A task that ran is compared with the nearest earlier execution of the same task
in the same pipeline (`MetadataStore.previous_execution`). Either their keys
differ, and the explanation names each part that changed (`parameters.n: 3 ->
4`), or the keys are equal and the explanation says why that earlier entry could
not be reused: it had not completed, it ran with caching off, an output is no
longer LIVE or present, or it was older than the run's cache max age.

    with MetadataStore.open() as store:
        print("\\n".join(explain_cache(store, run_id, "make").lines()))

    task 'make' of run tiny-20261124-164916-2dfbb4: cache miss: its key differs from the ...
      compared with execution 1 of run tiny-20261124-164908-8b2892 (task 'make', SUCCEEDED, ...)
      what differs:
        parameters.n: 3 -> 4

(`tests/pipelines/test_explain.py` holds these lines to their exact wording.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conveyor.errors import UsageError
from conveyor.pipelines.cache import differences
from conveyor.pipelines.state import of_execution
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.artifacts.errors import ArtifactStoreError
from conveyor.store.metadata import (
    DAG_EXECUTION,
    IMPORTER_EXECUTION,
    ArtifactState,
    ExecutionDetail,
    ExecutionState,
    MetadataStore,
    RunDetail,
)
from conveyor.store.metadata.records import to_json

HIT = "hit"
NOT_CACHEABLE = "not-cacheable"
CACHING_OFF = "caching-off"
FIRST_EXECUTION = "first-execution"
KEY_CHANGED = "key-changed"
ENTRY_UNUSABLE = "entry-unusable"
"""The reasons an explanation gives, as `CacheExplanation.reason`."""

SWITCHES = (
    "set_caching_options(enable_caching=False) on the task in the pipeline",
    "--no-cache on `conveyor run` (enable_caching=False in Python), for every task of the run",
    "CONVEYOR_DISABLE_CACHE=1 in the environment, for every run that does not turn it on",
)
"""What turns caching off, from the narrowest to the widest."""

_ITERATION = re.compile(r"\[\d+\]$")
SHOWN = 80
"""`cache.differences` cuts values whose JSON is longer than this."""


@dataclass(frozen=True)
class Earlier:
    """An execution an explanation refers to: the one reused, or the one compared with."""

    execution_id: int
    run_id: str
    task_key: str
    state: str
    ended_at: datetime | None

    def describe(self) -> str:
        ended = f", ended {_when(self.ended_at)}" if self.ended_at else ""
        return (
            f"execution {self.execution_id} of run {self.run_id} "
            f"(task {self.task_key!r}, {self.state}{ended})"
        )


@dataclass(frozen=True)
class CacheExplanation:
    """Whether a task hit the cache, and if not, why not."""

    run_id: str
    pipeline: str
    task: str
    """The task's key in the run (`for-loop-2[3]/train`)."""
    execution_id: int
    state: str
    hit: bool
    reason: str
    """One of HIT, NOT_CACHEABLE, CACHING_OFF, FIRST_EXECUTION, KEY_CHANGED, ENTRY_UNUSABLE."""
    summary: str
    reused: Earlier | None = None
    """On a hit: the execution whose results the task took."""
    compared_with: Earlier | None = None
    """On a miss: the nearest earlier execution of the task in the pipeline."""
    differences: list[str] = field(default_factory=list)
    """The parts of the key that differ from `compared_with`, one line each."""
    notes: list[str] = field(default_factory=list)
    """Further sentences: which switch turned caching off, why an equal entry was refused."""

    def lines(self) -> list[str]:
        """The explanation for a person: a headline, then indented details."""
        lines = [f"task {self.task!r} of run {self.run_id}: {self.summary}"]
        if self.reused is not None:
            lines.append(f"  it reused the results of {self.reused.describe()}")
        if self.compared_with is not None:
            lines.append(f"  compared with {self.compared_with.describe()}")
        if self.differences:
            lines.append("  what differs:")
            lines += [f"    {line}" for line in self.differences]
        lines += [f"  {note}" for note in self.notes]
        return lines

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def explain_cache(
    store: MetadataStore,
    run_id: str,
    task_key: str,
    artifacts: ArtifactStore | None = None,
) -> CacheExplanation:
    """Explain the cache outcome of task `task_key` (its key, or a unique last part) in a run.

    With `artifacts`, the outputs of an equal earlier entry are also checked for
    presence in the artifact store, as the cache lookup does. Raises `NotFound`
    for an unknown run and `UsageError`, listing the run's tasks, for an
    unknown task.
    """
    run = store.get_run(run_id)
    execution = _execution_of(run, task_key)
    base = {
        "run_id": run.run_id,
        "pipeline": run.pipeline_name,
        "task": execution.task_key,
        "execution_id": execution.id,
        "state": of_execution(execution.state),
    }
    if execution.state == ExecutionState.CACHED:
        return _hit(store, run, execution, base)
    if execution.type in (DAG_EXECUTION, IMPORTER_EXECUTION) or not execution.cache_key_parts:
        return _not_cacheable(execution, base)
    if execution.cache_key is None:
        return _caching_off(run, execution, base)
    previous = store.previous_execution(run.pipeline_name, execution.task_key, before=execution.id)
    if previous is None:
        return CacheExplanation(
            **base,
            hit=False,
            reason=FIRST_EXECUTION,
            summary=(
                f"cache miss: no earlier execution of this task in pipeline {run.pipeline_name!r}"
            ),
            notes=["cache entries are shared only between runs of the same pipeline name"],
        )
    compared = _earlier(previous)
    changed = differences(previous.cache_key_parts or {}, execution.cache_key_parts)
    if changed:
        return CacheExplanation(
            **base,
            hit=False,
            reason=KEY_CHANGED,
            summary="cache miss: its key differs from the nearest earlier execution",
            compared_with=compared,
            differences=changed,
            notes=[
                *_text_changes(previous.cache_key_parts or {}, execution.cache_key_parts),
                *_about_inputs(previous.cache_key_parts or {}, execution.cache_key_parts),
            ],
        )
    return CacheExplanation(
        **base,
        hit=False,
        reason=ENTRY_UNUSABLE,
        summary=(
            "cache miss: the nearest earlier execution has the same key but could not be reused"
        ),
        compared_with=compared,
        notes=_why_unusable(store, run, previous, execution, artifacts),
    )


# -- the outcomes ------------------------------------------------------------------


def _hit(
    store: MetadataStore, run: RunDetail, execution: ExecutionDetail, base: dict[str, Any]
) -> CacheExplanation:
    source = None
    if execution.cached_from_id is not None:
        found = _find_execution(store, run.pipeline_name, execution.cached_from_id, execution)
        source = _earlier(found) if found else None
    notes = []
    if source is None:
        notes.append(f"it reused the results of execution {execution.cached_from_id}")
    return CacheExplanation(
        **base, hit=True, reason=HIT, summary="cache hit", reused=source, notes=notes
    )


def _not_cacheable(execution: ExecutionDetail, base: dict[str, Any]) -> CacheExplanation:
    if execution.type == DAG_EXECUTION:
        why = (
            "it is a group of tasks (a sub-pipeline, condition, loop or exit handler); "
            "only the container tasks inside it are cached, each on its own"
        )
    elif execution.type == IMPORTER_EXECUTION:
        why = "it is an importer, which records its artifact again on every run"
    else:
        why = "it recorded no cache key parts"
    return CacheExplanation(
        **base, hit=False, reason=NOT_CACHEABLE, summary="not cached", notes=[why]
    )


def _caching_off(
    run: RunDetail, execution: ExecutionDetail, base: dict[str, Any]
) -> CacheExplanation:
    task = _task_spec(run.spec or {}, execution.task_key)
    if task is not None and not task.get("cachingOptions", {}).get("enableCache", False):
        which = "the task sets set_caching_options(enable_caching=False)"
    else:
        which = "the run turned it off (--no-cache, or CONVEYOR_DISABLE_CACHE=1)"
    return CacheExplanation(
        **base,
        hit=False,
        reason=CACHING_OFF,
        summary="cache miss: caching was off for this task",
        notes=[which, "caching is turned off by:", *(f"- {switch}" for switch in SWITCHES)],
    )


def _why_unusable(
    store: MetadataStore,
    run: RunDetail,
    previous: ExecutionDetail,
    execution: ExecutionDetail,
    artifacts: ArtifactStore | None,
) -> list[str]:
    """Why an earlier execution with an equal key was no cache hit for `execution`."""
    notes: list[str] = []
    entry = previous
    if previous.state == ExecutionState.CACHED and previous.cached_from_id is not None:
        original = _find_execution(store, run.pipeline_name, previous.cached_from_id, previous)
        if original is not None:
            notes.append(
                f"execution {previous.id} was itself a cache hit; the entry is "
                f"{_earlier(original).describe()}"
            )
            entry = original
    if entry.cache_key is None:
        notes.append(f"execution {entry.id} ran with caching off, so it left no entry to reuse")
        return notes
    if entry.state not in (ExecutionState.COMPLETE, ExecutionState.CACHED):
        notes.append(
            f"execution {entry.id} had not completed ({of_execution(entry.state)}): "
            "only executions that SUCCEEDED are cache entries"
        )
        return notes
    started = execution.started_at or execution.created_at
    if entry.ended_at is not None and entry.ended_at > started:
        notes.append(
            f"execution {entry.id} completed at {_when(entry.ended_at)}, after this task "
            f"started at {_when(started)}"
        )
        return notes
    gone = []
    for name, records in entry.outputs.items():
        for record in records:
            if record.state != ArtifactState.LIVE:
                gone.append(
                    f"its output {name!r} (artifact {record.id}, {record.uri}) is "
                    f"{record.state.value}, no longer LIVE: a hit needs every output LIVE"
                )
            elif artifacts is not None and not _present(artifacts, record.uri):
                gone.append(
                    f"its output {name!r} (artifact {record.id}) is missing from the "
                    f"artifact store at {record.uri}: a hit needs every output present"
                )
    if gone:
        return notes + gone
    if entry.ended_at is not None:
        age = started - entry.ended_at
        notes.append(
            f"execution {entry.id} ended {_age(age)} before this task started: older than "
            "the cache max age the run was given (--cache-max-age)"
        )
    return notes


def _text_changes(before: Any, after: Any, path: str = "", cut: bool | None = None) -> list[str]:
    """Changed texts that the one-line differences cut short (a component's source inside its
    command, a long URI), shown where they differ: the first changed line, or whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            line
            for name in sorted(set(before) & set(after))
            for line in _text_changes(before[name], after[name], _join(path, name))
        ]
    if cut is None:  # `differences` shows this value whole, or cut short
        cut = _cut(before) or _cut(after)
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            line
            for i, (old, new) in enumerate(zip(before, after, strict=True))
            for line in _text_changes(old, new, f"{path}[{i}]", cut)
        ]
    if not (cut and isinstance(before, str) and isinstance(after, str)) or before == after:
        return []
    if "\n" not in before + after:
        return [f"{path}: {before} -> {after}"]
    old_lines, new_lines = before.splitlines(), after.splitlines()
    for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if old != new:
            return [f"{path}, line {number}: {old.strip()!r} -> {new.strip()!r}"]
    shorter = min(len(old_lines), len(new_lines))
    return [f"{path}: {len(old_lines)} lines -> {len(new_lines)} lines, after line {shorter}"]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _cut(value: Any) -> bool:
    return len(json.dumps(value, sort_keys=True, default=str)) > SHOWN


def _about_inputs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """A hint for input artifacts that changed identity: an upstream task ran again."""
    was, now = before.get("artifacts", {}), after.get("artifacts", {})
    changed = [n for n in sorted(set(was) & set(now)) if was[n] != now[n]]
    if not changed:
        return []
    names = ", ".join(repr(n) for n in changed)
    return [
        f"input artifact {names} is another artifact than before (an upstream task ran "
        "again); `conveyor run --cache-by-content` keys inputs by their sha256 instead, "
        "so identical content still hits"
    ]


# -- finding things ----------------------------------------------------------------


def _execution_of(run: RunDetail, task_key: str) -> ExecutionDetail:
    """The latest execution of a task in the run (a resumed run may hold several)."""
    latest: dict[str, ExecutionDetail] = {}
    for execution in run.executions:
        latest[execution.task_key] = execution
    if task_key in latest:
        return latest[task_key]
    by_last_part = [key for key in latest if key.rsplit("/", 1)[-1] == task_key]
    if len(by_last_part) == 1:
        return latest[by_last_part[0]]
    if by_last_part:
        raise UsageError(
            f"task {task_key!r} is ambiguous in run {run.run_id}; give its whole key: "
            + ", ".join(by_last_part)
        )
    if _task_spec(run.spec or {}, task_key) is not None:
        raise UsageError(
            f"task {task_key!r} of run {run.run_id} never started (skipped, not triggered, or "
            "not reached), so it has no cache outcome"
        )
    known = ", ".join(latest) if latest else "none recorded"
    raise UsageError(f"run {run.run_id} has no task {task_key!r}; its tasks: {known}")


def _find_execution(
    store: MetadataStore, pipeline: str, execution_id: int, near: ExecutionDetail
) -> ExecutionDetail | None:
    """An execution of `pipeline` by id: usually an earlier run of the same task."""
    found = store.previous_execution(pipeline, near.task_key, before=execution_id + 1)
    if found is not None and found.id == execution_id:
        return found
    # A hit may reuse another task with the same key (same component, same inputs).
    for record in store.list_runs(pipeline=pipeline):
        for execution in store.get_run(record.run_id).executions:
            if execution.id == execution_id:
                return execution
    return None


def _task_spec(spec: dict[str, Any], task_key: str) -> dict[str, Any] | None:
    """The PipelineTaskSpec of a task key, walking DAG components (`[n]` marks an iteration)."""
    component: dict[str, Any] = spec.get("root", {})
    task = None
    for segment in task_key.split("/"):
        task = component.get("dag", {}).get("tasks", {}).get(_ITERATION.sub("", segment))
        if task is None:
            return None
        component = spec.get("components", {}).get(task.get("componentRef", {}).get("name"), {})
    return task


def _present(artifacts: ArtifactStore, uri: str) -> bool:
    try:
        return artifacts.is_complete(uri)
    except ArtifactStoreError:
        return True  # not an artifact the store manages: the lookup does not judge it either


def _earlier(execution: ExecutionDetail) -> Earlier:
    return Earlier(
        execution.id,
        execution.run_id,
        execution.task_key,
        of_execution(execution.state),
        execution.ended_at,
    )


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _age(age: timedelta) -> str:
    """`3d 4h`, `2h 5m`, `45s`: the two largest units."""
    seconds = max(0, int(age.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])
