"""`/api/v1/runs/{run_id}/events` and `.../log/events`: a run, and a task's log, streamed
as server-sent events while the run goes on.

    GET /api/v1/runs/{run_id}/events                 event: run, each time the run changes
    GET /api/v1/runs/{run_id}/log/events?task=KEY    event: log, the log's tail, then what
                                                     the task appends

`run` events carry the JSON of `GET /api/v1/runs/{run_id}`: one at once, then one each
time the run changes (its status, a task's state or times, new tasks or artifacts); the
stream ends after the event of the run's end. `log` events carry text: the log's last
`tail_bytes`, then each piece the task appends (line ends as newlines); once the task
has ended and its log was sent to the end, `end` carries its state (`COMPLETE`, `FAILED`,
...) and the stream ends: a stream that ends without it was cut, and may be opened again
(it sends the tail again). A comment (`: ping`) comes every 15 s while nothing
changes, for proxies. Both need the `read` role, as any route; a run or task that does
not exist answers 404 before any stream starts.

Watching is `conveyor.pipelines.watch`'s (a small query for a change marker a few times
a second, the run read only when it moved), each poll in a worker thread so that the
event loop never waits on the store. The streams are sse-starlette's
`EventSourceResponse`: besides pings and a client's disconnect (which ends its stream at
once), it ends open streams when uvicorn begins to shut down (SIGTERM, Ctrl-C), so that
`conveyor serve` and `conveyor ui` stop promptly; Starlette's `StreamingResponse` does
not, and uvicorn would wait its graceful timeout (30 s) for every open stream.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from conveyor.api.bodies import JsonRoute
from conveyor.api.errors import responses_beside
from conveyor.api.runs import (
    LOG_TAIL_BYTES,
    PREFIX,
    READ,
    RunDetailOut,
    RunIdPath,
    TaskQuery,
    log_file,
    task_execution,
)
from conveyor.home import Home
from conveyor.pipelines.watch import LogWatch, RunWatch
from conveyor.store.metadata import NotFound, RunDetail
from conveyor.store.metadata.kinds import STARTED_STATES

POLL_SECONDS = 0.25
"""How often a stream asks the store whether its run (or task) changed."""

router = APIRouter(prefix=PREFIX, tags=["runs"], route_class=JsonRoute)

_STREAM = {
    200: {
        "description": "Server-sent events (text/event-stream).",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **responses_beside(400, 404),
}


def _home(request: Request) -> Home:
    return request.app.state.home


@router.get(
    "/{run_id}/events",
    response_class=EventSourceResponse,
    responses=_STREAM,
    summary="Stream a run's changes",
    openapi_extra=READ,
)
def run_events(run_id: RunIdPath, request: Request) -> EventSourceResponse:
    """`event: run` with the run (as `GET /api/v1/runs/{run_id}` answers) at once and
    each time it changes, until it has ended."""
    watch = RunWatch(_home(request).store, run_id)
    first = watch.poll()  # NotFound: 404 before the stream starts
    return EventSourceResponse(_run_events(watch, first))


async def _run_events(watch: RunWatch, run: RunDetail | None) -> AsyncIterator[ServerSentEvent]:
    sent = None
    while True:
        if run is not None:
            shown = RunDetailOut.of_detail(run, full=False).model_dump_json()
            if shown != sent:
                yield ServerSentEvent(shown, event="run")
                sent = shown
        if watch.ended:
            return
        await anyio.sleep(POLL_SECONDS)
        try:
            run = await run_in_threadpool(watch.poll)
        except NotFound:  # deleted while watched: nothing more will come
            return


@router.get(
    "/{run_id}/log/events",
    response_class=EventSourceResponse,
    responses=_STREAM,
    summary="Stream a task's log",
    openapi_extra=READ,
)
def task_log_events(
    run_id: RunIdPath,
    task: TaskQuery,
    request: Request,
    tail_bytes: Annotated[int, Query(ge=1, le=16 * 1024 * 1024)] = LOG_TAIL_BYTES,
) -> EventSourceResponse:
    """`event: log` with the last `tail_bytes` of the task's log, then each piece it
    appends; `event: end` with the task's state once it has ended. 404 for a task that
    ended without a log."""
    home = _home(request)
    execution = task_execution(home.store.get_run(run_id), task)
    find = functools.partial(log_file, home, execution.log_uri, execution.task_key)
    if execution.state not in STARTED_STATES:
        find()  # NotFound: 404 before the stream starts
    watch = LogWatch(home.store, execution.id, find, tail_bytes)
    return EventSourceResponse(_log_events(watch))


async def _log_events(watch: LogWatch) -> AsyncIterator[ServerSentEvent]:
    while True:
        text = await run_in_threadpool(watch.poll)
        if text:
            yield ServerSentEvent(text, event="log")
        if watch.ended:
            yield ServerSentEvent(watch.state, event="end")
            return
        await anyio.sleep(POLL_SECONDS)
