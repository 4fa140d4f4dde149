"""Watching a run as it goes on: its record again each time it changes, and a task's log
as it grows; what the faces stream (`GET /api/v1/runs/{run_id}/events`).

    watch = RunWatch(store, run_id)
    while True:
        run = watch.poll()          # the run when it changed since the last poll, else None
        ...
        if watch.ended:             # the run has ended and its last state was read
            break

Polling is cheap: `MetadataStore.run_marker` is one small query; the whole run is read
only when it moved. Each poll is a blocking call, for a thread (the faces run it off
their event loop).
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.store.metadata import ExecutionState, MetadataStore, NotFound, RunDetail, RunStatus
from conveyor.store.metadata.kinds import STARTED_STATES

LOG_CHUNK_BYTES = 1024 * 1024
"""The most of a log one poll reads: a task that writes faster is read over several."""


class RunWatch:
    """A run's record each time it changes, until it ends."""

    def __init__(self, store: MetadataStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.ended = False
        """Whether the run has ended (by the last run `poll` returned)."""
        self._marker: tuple[Any, ...] | None = None

    def poll(self) -> RunDetail | None:
        """The run, on the first call and whenever it changed since; None when it did not.
        NotFound when there is no such run."""
        marker = self.store.run_marker(self.run_id)
        if marker == self._marker:
            return None
        self._marker = marker
        run = self.store.get_run(self.run_id)
        self.ended = run.status != RunStatus.RUNNING
        return run


class LogWatch:
    """A task's log as it grows: its last `tail_bytes` first, then what was appended,
    until the task has ended and its log was read to the end.

    `find` gives the log's path, or raises NotFound while there is none (a task that has
    not opened it yet; the face decides which files may be read). Text is decoded as
    UTF-8 across reads: a character split between two reads is whole in the second."""

    def __init__(
        self,
        store: MetadataStore,
        execution_id: int,
        find: Callable[[], Path],
        tail_bytes: int,
    ) -> None:
        self.store = store
        self.execution_id = execution_id
        self.find = find
        self.tail_bytes = tail_bytes
        self.ended = False
        """Whether the task has ended and its log was read to its end."""
        self.state: ExecutionState | None = None
        """The task's state at the last poll."""
        self._offset: int | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def poll(self) -> str:
        """What the log gained since the last poll ('' for nothing yet)."""
        # The state first: a task that had ended before this read wrote all its log.
        self.state = self.store.execution_state(self.execution_id)
        live = self.state in STARTED_STATES
        try:
            path = self.find()
        except NotFound:
            self.ended = not live
            return ""
        data, size = self._read(path)
        self.ended = not live and self._offset == size
        return self._decoder.decode(data, final=self.ended)

    def _read(self, path: Path) -> tuple[bytes, int]:
        with path.open("rb") as log:
            size = os.fstat(log.fileno()).st_size
            if self._offset is None:
                self._offset = max(0, size - self.tail_bytes)
            elif size < self._offset:  # the file was replaced: read it again from its start
                self._offset = 0
                self._decoder.reset()
            log.seek(self._offset)
            data = log.read(min(size - self._offset, LOG_CHUNK_BYTES))
        self._offset += len(data)
        return data, size
