"""`/api/v1/runs`: pipeline runs over REST, for the console and any other client; thin calls
to the home's metadata store.

    GET  /api/v1/runs                        runs, newest first, filtered, a page at a time
    GET  /api/v1/runs/{run_id}               one run with its tasks (?view=full: with its spec)
    GET  /api/v1/runs/{run_id}/log?task=KEY  the end of a task's log, as text
    GET  /api/v1/runs/{run_id}/cache?task=KEY  why the task was (or was not) a cache hit
    POST /api/v1/runs/{run_id}:cancel        cancel a RUNNING run, whichever process runs it
    POST /api/v1/runs/{run_id}:resume        resume a failed or cancelled run, in a process of its own

Listing takes the filters of `conveyor runs list` (pipeline, status, experiment, labels,
since) and pages by a token that names the last run of the page before, so a page does not
shift when new runs start. Reading needs the `read` role, cancelling and resuming `deploy`.
A resumed run runs in a process of its own (`conveyor.automation.resumes`), never in the
server's. A task's log is read only from a regular file inside the home's runs folder, whatever its record says.
Errors answer `{"error": {"code", "message", "status"}}` (`conveyor.api.errors`). See
docs/api.md.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.errors import responses, responses_beside
from conveyor.api.params import RUN_ID
from conveyor.automation.resumes import start_resume
from conveyor.errors import UsageError
from conveyor.home import Home
from conveyor.pipelines import lease
from conveyor.pipelines.explain import explain_cache
from conveyor.serving.auth import Role, needs
from conveyor.store.metadata import ExecutionDetail, NotFound, RunDetail, RunRecord, RunStatus

PREFIX = "/api/v1/runs"
MAX_PAGE = 1000
LOG_TAIL_BYTES = 64 * 1024
"""How much of a task's log `/log` answers by default: its end."""

router = APIRouter(prefix=PREFIX, tags=["runs"], route_class=JsonRoute)

READ, DEPLOY = needs(Role.READ), needs(Role.DEPLOY)
RunIdPath = Annotated[
    str, PathParam(pattern=RUN_ID, description="A run id.", examples=["train-20261207-0a1b2c"])
]
TaskQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=1024,
        description="A task key (`for-loop-2[3]/train`) or its unique last part.",
    ),
]


class ExecutionOut(BaseModel):
    """A task of a run: its state, parameters, times, cache key and artifacts by name."""

    id: int
    task_key: str
    name: str
    type: str
    state: str
    input_parameters: dict[str, Any]
    output_parameters: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    cache_key: str | None
    cached_from_id: int | None
    inputs: dict[str, list[dict[str, Any]]]
    outputs: dict[str, list[dict[str, Any]]]


class RunOut(BaseModel):
    run_id: str
    pipeline_name: str
    status: RunStatus
    parameters: dict[str, Any]
    error: str | None
    created_at: datetime
    ended_at: datetime | None
    runner_lost: bool = Field(description="RUNNING, but no live process runs it.")
    origin: dict[str, Any]
    display_name: str | None
    labels: dict[str, str]
    experiment: str | None

    @classmethod
    def of(cls, run: RunRecord) -> RunOut:
        # Its fields alone: a RunDetail's `to_json()` would convert its spec and every task.
        return cls(**{name: getattr(run, name) for name in cls.model_fields})


class RunDetailOut(RunOut):
    executions: list[ExecutionOut]
    pipeline_spec: dict[str, Any] | None = Field(
        default=None, description="The compiled spec (with ?view=full)."
    )

    @classmethod
    def of_detail(cls, run: RunDetail, full: bool) -> RunDetailOut:
        shown = RunOut.of(run).model_dump()
        executions = [_execution_out(e) for e in run.executions]
        return cls(**shown, executions=executions, pipeline_spec=run.spec if full else None)


def _execution_out(execution: ExecutionDetail) -> ExecutionOut:
    """The task as the API shows it, read from its fields (pydantic takes the times and
    states as they are): a 500-task run's page asks for 500 of them."""
    fields = {name: getattr(execution, name) for name in _EXECUTION_FIELDS}
    artifacts = {
        side: {
            name: [a.to_json() for a in found] for name, found in getattr(execution, side).items()
        }
        for side in ("inputs", "outputs")
    }
    return ExecutionOut(**fields, **artifacts)


_EXECUTION_FIELDS = [
    name for name in ExecutionOut.model_fields if name not in ("inputs", "outputs")
]


class RunList(BaseModel):
    runs: list[RunOut]
    next_page_token: str | None = Field(description="Fetches the next page; null on the last.")


class CacheOut(BaseModel):
    task_key: str
    hit: bool
    reason: str = Field(
        description="hit, not-cacheable, caching-off, first-execution, key-changed or "
        "entry-unusable."
    )
    lines: list[str] = Field(description="The explanation for a person, line by line.")


class CancelOut(BaseModel):
    run_id: str
    status: RunStatus = Field(
        description="CANCELLED, or still RUNNING while its runner stops its tasks."
    )


def _home(request: Request) -> Home:
    return request.app.state.home


_READ = responses(400, 404)


@router.get("", response_model=RunList, responses=_READ, summary="List runs", openapi_extra=READ)
def list_runs(
    request: Request,
    pipeline: Annotated[str | None, Query(max_length=255)] = None,
    status: RunStatus | None = None,
    experiment: Annotated[str | None, Query(max_length=128)] = None,
    label: Annotated[
        list[str] | None, Query(description="key=value, repeatable: runs with every label.")
    ] = None,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only runs created since then: an ISO 8601 time (UTC without a zone).",
            examples=["2026-12-01T08:00:00Z"],
        ),
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    page_token: Annotated[str | None, Query(max_length=400)] = None,
) -> RunList:
    """Runs, newest first: of a pipeline, in a status, in an experiment, with labels,
    created since a time; a page at a time."""
    labels = dict(_label(item) for item in label or [])
    after_time = _time(since) if since is not None else None
    after = _run_of(page_token) if page_token else None
    try:
        found = _home(request).store.list_runs(
            pipeline=pipeline,
            status=status,
            since=after_time,
            limit=page_size + 1,
            experiment=experiment,
            labels=labels,
            after=after,
        )
    except NotFound:
        raise UsageError("page_token names no run now; list again from the first page") from None
    page = found[:page_size]
    token = _token(page[-1].run_id) if len(found) > page_size else None
    return RunList(runs=[RunOut.of(run) for run in page], next_page_token=token)


@router.get(
    "/{run_id}",
    response_model=RunDetailOut,
    responses=_READ,
    summary="Get a run",
    openapi_extra=READ,
)
def get_run(
    run_id: RunIdPath, request: Request, view: Literal["basic", "full"] = "basic"
) -> RunDetailOut:
    """A run with its tasks (executions) and their artifacts; `view=full` adds its spec."""
    return RunDetailOut.of_detail(_home(request).store.get_run(run_id), view == "full")


@router.get(
    "/{run_id}/log",
    response_class=PlainTextResponse,
    responses=responses_beside(400, 404),
    summary="The end of a task's log",
    openapi_extra=READ,
)
def task_log(
    run_id: RunIdPath,
    task: TaskQuery,
    request: Request,
    tail_bytes: Annotated[int, Query(ge=1, le=16 * 1024 * 1024)] = LOG_TAIL_BYTES,
) -> PlainTextResponse:
    """The last `tail_bytes` of the task's log (the whole log when shorter), as UTF-8 text;
    404 when the task has no log yet."""
    home = _home(request)
    execution = task_execution(home.store.get_run(run_id), task)
    path = log_file(home, execution.log_uri, execution.task_key)
    with path.open("rb") as log:
        size = os.fstat(log.fileno()).st_size
        log.seek(max(0, size - tail_bytes))
        text = log.read(tail_bytes).decode("utf-8", errors="replace")
    return PlainTextResponse(text, headers={"X-Log-Size": str(size)})


@router.get(
    "/{run_id}/cache",
    response_model=CacheOut,
    responses=_READ,
    summary="Explain a task's cache outcome",
    openapi_extra=READ,
)
def task_cache(run_id: RunIdPath, task: TaskQuery, request: Request) -> CacheOut:
    """Why the task was, or was not, a cache hit (`conveyor runs explain-cache`)."""
    home = _home(request)
    explained = explain_cache(home.store, run_id, task, home.artifacts)
    return CacheOut(
        task_key=explained.task,
        hit=explained.hit,
        reason=explained.reason,
        lines=explained.lines(),
    )


@router.post(
    "/{run_id}:cancel",
    response_model=CancelOut,
    responses=responses(400, 404, 409),
    summary="Cancel a run",
    openapi_extra=DEPLOY,
)
def cancel_run(run_id: RunIdPath, request: Request) -> CancelOut:
    """Cancel a RUNNING run: a run whose runner is gone is closed at once; a live runner is
    asked to stop its tasks, and records CANCELLED within a heartbeat or two. 409 when the
    run has ended."""
    return CancelOut(run_id=run_id, status=lease.cancel(_home(request).store, run_id))


@router.post(
    "/{run_id}:resume",
    response_model=RunOut,
    status_code=202,
    responses=responses(400, 404, 409, 503),
    summary="Resume a run",
    openapi_extra=DEPLOY,
)
def resume_run(run_id: RunIdPath, request: Request) -> RunOut:
    """Continue a FAILED or CANCELLED run (or a RUNNING one whose runner is gone),
    re-running only what did not complete, in a process of its own; answers the run once
    that process runs it. 409 for a run that succeeded or that a live process runs, or when
    the process ended before it took the run (its output quoted); 400 for a run with no
    recorded pipeline spec."""
    return RunOut.of(start_resume(_home(request), run_id))


def _label(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise UsageError(f"label takes key=value, got {item!r}")
    return key, value


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"since {text!r} is not an ISO 8601 time, as 2026-12-01T08:00:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _token(run_id: str) -> str:
    return base64.urlsafe_b64encode(run_id.encode()).decode()


def _run_of(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, binascii.Error):
        raise UsageError(
            f"page_token {token!r} is not one a listing returned; list from the first page"
        ) from None


def task_execution(run: RunDetail, task: str) -> Any:
    """The execution of `task`: its key, or its key's unique last part; the latest one
    when it ran several times (a resumed run)."""
    exact = [e for e in run.executions if e.task_key == task]
    found = exact or [e for e in run.executions if e.task_key.rsplit("/", 1)[-1] == task]
    if not found:
        raise NotFound(f"run {run.run_id} has no task {task!r}")
    if len({e.task_key for e in found}) > 1:
        keys = ", ".join(sorted({e.task_key for e in found}))
        raise UsageError(f"task {task!r} names several tasks of run {run.run_id}: {keys}")
    return found[-1]


def log_file(home: Home, log_uri: str | None, task_key: str) -> Path:
    """The task's log, if it is a regular file inside the home's runs folder."""
    missing = NotFound(f"task {task_key} has no log")
    if not log_uri:
        raise missing
    runs = home.settings.runs_dir.resolve()
    path = Path(log_uri)
    try:
        inside = path.resolve().is_relative_to(runs)
        regular = stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        raise missing from None
    if not (inside and regular):
        raise missing
    return path
