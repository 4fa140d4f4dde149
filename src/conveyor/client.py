"""`Client`: the public Python face of Conveyor, for scripts, notebooks and components.

    from conveyor.client import Client

    client = Client()                       # .conveyor/ here, or $CONVEYOR_HOME
    run = client.run("pipeline.py:train", {"lr": 0.1})
    for record in client.list_runs(status="FAILED", since="1d"):
        print(record.run_id, record.error)
    print(client.explain_cache(run.run_id, "train").lines())

This is the embedded mode: the client reads and writes the metadata store
directly, opening it for each call and closing it after, so a long-lived client
holds no connection and sees what other processes wrote. A remote mode (the same
methods over REST) comes later; the methods therefore take and return plain
values and dataclasses with `to_json()`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor import config
from conveyor.errors import UsageError
from conveyor.pipelines.cache import parse_age
from conveyor.pipelines.explain import CacheExplanation, explain_cache
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.artifacts import naming as artifact_naming
from conveyor.store.artifacts.errors import ArtifactStoreError
from conveyor.store.metadata import (
    Lineage,
    MetadataStore,
    NotFound,
    RunDetail,
    RunRecord,
    RunStatus,
)
from conveyor.store.metadata.store import DEFAULT_LINEAGE_DEPTH

if TYPE_CHECKING:
    from conveyor.pipelines.runner import Run

__all__ = ["Client", "parse_since"]

_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*[smhdw]?\s*$", re.IGNORECASE)


class Client:
    """Runs, their records, lineage and cache explanations, in one Conveyor home.

    `home` is the folder of Conveyor's files (default: `conveyor.config.home()`
    when the client is made). `CONVEYOR_METADATA_URL` and
    `CONVEYOR_ARTIFACT_ROOT` still move the store and the artifacts elsewhere.
    The home is put in `CONVEYOR_HOME` for the length of each call, so use one
    home per process at a time.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home).expanduser().resolve() if home is not None else config.home()

    # -- runs -------------------------------------------------------------------

    def run(self, pipeline: Any, arguments: dict[str, Any] | None = None, **options: Any) -> Run:
        """Run a pipeline to its end; `options` are those of `conveyor.run`
        (`parallelism`, `enable_caching`, `cache_max_age`, `cache_by_content`, ...)."""
        from conveyor.pipelines import runner  # imports kfp: only when running

        with self._here():
            return runner.run(pipeline, arguments, **options)

    def resume(self, run_id: str, **options: Any) -> Run:
        """Continue a failed, cancelled or killed run, re-running only what did not complete."""
        from conveyor.pipelines import runner

        with self._here():
            return runner.resume(run_id, **options)

    def list_runs(
        self,
        pipeline: str | None = None,
        status: str | None = None,
        since: str | datetime | timedelta | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first: of one pipeline, in one status (any case), created since a
        moment (`30m`, `7d`, an ISO date or time, a datetime, or a timedelta back from now)."""
        wanted = _status(status) if status is not None else None
        after = parse_since(since) if since is not None else None
        if limit is not None and limit < 1:
            raise UsageError(f"limit must be at least 1, got {limit}")
        with self._store() as store:
            return store.list_runs(pipeline=pipeline, status=wanted, since=after, limit=limit)

    def get_run(self, run_id: str) -> RunDetail:
        """One run with its parameters, spec and executions; `NotFound` if unknown."""
        with self._store() as store:
            return store.get_run(run_id)

    # -- lineage and the cache ---------------------------------------------------

    def lineage(self, artifact: int | str, depth: int = DEFAULT_LINEAGE_DEPTH) -> Lineage:
        """The graph upstream and downstream of an artifact, given by id (`12` or `"12"`) or
        by URI (a local path may be relative to the working folder)."""
        if depth < 0:
            raise UsageError(f"lineage depth must be 0 or more, got {depth}")
        if isinstance(artifact, str) and artifact.strip().isdigit():
            artifact = int(artifact)
        with self._store() as store:
            missing: NotFound | None = None
            for spelling in _spellings(artifact):
                try:
                    return store.lineage(spelling, depth=depth)
                except NotFound as exc:
                    missing = missing or exc
            assert missing is not None
            raise missing

    def explain_cache(self, run_id: str, task: str) -> CacheExplanation:
        """Whether task `task` of a run hit the cache, and if it missed, why."""
        with self._store() as store:
            return explain_cache(store, run_id, task, _artifact_store())

    # -- plumbing ---------------------------------------------------------------

    @contextmanager
    def _here(self) -> Iterator[None]:
        before = os.environ.get("CONVEYOR_HOME")
        os.environ["CONVEYOR_HOME"] = str(self.home)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("CONVEYOR_HOME", None)
            else:
                os.environ["CONVEYOR_HOME"] = before

    @contextmanager
    def _store(self) -> Iterator[MetadataStore]:
        with self._here(), MetadataStore.open() as store:
            yield store


def parse_since(value: str | datetime | timedelta, now: datetime | None = None) -> datetime:
    """The moment a `since` filter names, in UTC.

    A duration back from now (`30m`, `12h`, `7d`, `2w`, a timedelta), or an ISO
    date or time (`2026-11-01`, `2026-11-01T08:00`); a date or time without a
    zone is local time.
    """
    now = now or datetime.now(UTC)
    if isinstance(value, timedelta):
        return now - value
    if isinstance(value, datetime):
        moment = value
    elif _DURATION.match(value):
        try:
            return now - parse_age(value)
        except UsageError:
            raise UsageError(
                f"since {value!r} must be a positive duration (30m, 12h, 7d) or an ISO date "
                "(2026-11-01)"
            ) from None
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise UsageError(
                f"since {value!r} is neither a duration (30m, 12h, 7d) nor an ISO date (2026-11-01)"
            ) from None
    return (moment if moment.tzinfo else moment.astimezone()).astimezone(UTC)


def _artifact_store() -> ArtifactStore | None:
    """The artifact store, to check that cached outputs are present; None when it cannot be
    opened (an explanation then goes by the states in the metadata store alone)."""
    try:
        return ArtifactStore.open(config.artifact_root())
    except ArtifactStoreError:
        return None


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text.upper())
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise UsageError(f"unknown run status {text!r}; use one of {known}") from None


def _spellings(artifact: int | str) -> list[int | str]:
    """An artifact as given, then a local URI as the local store records it (absolute)."""
    if isinstance(artifact, int) or not artifact_naming.is_local(artifact):
        return [artifact]
    other = str(artifact_naming.local_of(artifact))
    return [artifact] if other == artifact else [artifact, other]
