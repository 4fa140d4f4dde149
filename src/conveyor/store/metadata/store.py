"""`MetadataStore`: the record of runs, tasks and artifacts that every layer reads and writes.

Each call is one short transaction of its own (open, write, commit), so the
engine may call the store from any thread while tasks run, and a crash leaves
either all of a call's records or none. `MetadataStore.open` shares one store per
database within a process (`shelf.py`); it holds a small pool of connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from conveyor.store.metadata import (
    connect,
    experiment_contexts,
    leases,
    queries,
    recording,
    schema,
)
from conveyor.store.metadata.errors import NotFound, RunEnded
from conveyor.store.metadata.failures import translated
from conveyor.store.metadata.kinds import (
    CONTAINER_EXECUTION,
    EXPERIMENT,
    EXPERIMENT_RUN,
    FINAL_STATES,
    PIPELINE,
    PIPELINE_RUN,
    ArtifactState,
    EventType,
    ExecutionState,
    RunStatus,
)
from conveyor.store.metadata.lineage import execution_lineage, lineage
from conveyor.store.metadata.mlmd_tables import (
    ARTIFACT_TYPES,
    CONTEXT_TYPES,
    EXECUTION_TYPES,
    PIPELINE_SPECS,
)
from conveyor.store.metadata.records import (
    DEFAULT_LINEAGE_DEPTH,
    ArtifactRecord,
    CacheHit,
    ExecutionDetail,
    Lineage,
    RunDetail,
    RunnerRecord,
    RunRecord,
)
from conveyor.store.metadata.shelf import SHELF

_PENDING = frozenset({ArtifactState.PENDING})
_RUNNER_GONE = "its runner stopped before it finished (killed, or its machine went down)"


class MetadataStore:
    """Runs (pipeline run contexts), their executions, artifacts and events; see docs/metadata.md."""

    def __init__(self, engine: Engine, where: str, identity: tuple[int, int] | None = None) -> None:
        """Use `MetadataStore.open`, which also checks and migrates the schema."""
        self._engine = engine
        self._identity = identity
        """The SQLite file's (device, inode) when opened: replaced files are other stores."""
        self._single = engine.execution_options(**connect.SINGLE_STATEMENT)
        self._held = threading.local()
        """The connection of `held_connection`, per thread."""
        self.where = where
        """The store's location, for messages (no password)."""
        self._types: dict[tuple[str, str], int] = {}
        # An in-memory database is one connection: threads take turns on it.
        memory = connect.is_memory(engine.url)
        self._turn: AbstractContextManager[Any] = threading.Lock() if memory else nullcontext()

    @classmethod
    def open(cls, url: str | None = None) -> MetadataStore:
        """The store at `url` (default: `connect.default_url()`), migrated if older.

        Stores are shared within a process (see `shelf.py`): opening the same
        database again hands out the open store while it is still current, and
        `close` gives it back. An in-memory database is new at each `open`.

        Raises StoreError, having changed nothing, for a database that is not a
        Conveyor store, one written by a newer Conveyor, or a server that does
        not answer.
        """
        url = url or connect.default_url()
        if connect.is_memory(connect.parse(url)):
            return cls._connect(url)
        return SHELF.take(url, lambda: cls._connect(url))

    @classmethod
    def _connect(cls, url: str) -> MetadataStore:
        engine = connect.create(url)
        where = connect.describe(engine.url)
        try:
            with translated(where):
                schema.prepare(engine, where)
                connect.use_wal(engine)
            identity = connect.file_identity(engine.url)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, where, identity)

    def current(self) -> bool:
        """Whether this store still speaks for its database: for a SQLite file, the same
        file, and the schema at this code's revision (another process may have moved it)."""
        if connect.file_identity(self._engine.url) != self._identity:
            return False
        try:
            with self._read_one() as conn:
                return schema.revision(conn) == schema.head()
        except Exception:  # a corrupted or vanished database: opening anew says what it is
            return False

    def dispose(self) -> None:
        """Close the store's connections for good."""
        self._engine.dispose()

    def close(self) -> None:
        """Done with the store: give it back to the process's shelf, or close an in-memory one."""
        if connect.is_memory(self._engine.url):
            self.dispose()
        else:
            SHELF.give_back(self)

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Runs

    def create_run(
        self,
        run_id: str,
        pipeline_name: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        spec: Mapping[str, Any] | None = None,
        spec_digest: str | None = None,
        lease: str | None = None,
        origin: Mapping[str, Any] | None = None,
        display_name: str | None = None,
        labels: Mapping[str, str] | None = None,
        experiment: str | None = None,
    ) -> None:
        """Record a run of `pipeline_name`, RUNNING, with its parameters and pipeline spec.

        The spec is stored once under its digest, however many runs use it; a
        caller that knows the digest already (`recording.spec_digest`) passes it.
        `lease` (a token of the caller's choosing) makes this process the run's
        runner: it renews the lease while it runs and gives it back in `end_run`.
        `origin` says which pipeline version ran and what fired the run (JSON).
        `display_name` and `labels` name and label the run; with `experiment`, the run
        joins that experiment (made if new) as its run `display_name` (default: the run
        id), in the same transaction (`experiment_contexts`).
        """
        types = (self._type(CONTEXT_TYPES, PIPELINE), self._type(CONTEXT_TYPES, PIPELINE_RUN))
        if spec is not None and spec_digest is None:
            spec_digest = recording.spec_digest(spec)
        labels = experiment_contexts.check_labels(labels)
        if display_name is not None:
            experiment_contexts.check_name(display_name, "run")
        named = {"display_name": display_name, "labels": labels, "experiment": experiment}
        if experiment is not None:
            experiment_types = (
                self._type(CONTEXT_TYPES, EXPERIMENT),
                self._type(CONTEXT_TYPES, EXPERIMENT_RUN),
            )
        with self._write() as conn:
            if spec is not None:
                recording.store_spec(conn, spec, spec_digest)
            recording.create_run(
                conn,
                types,
                run_id,
                pipeline_name,
                dict(parameters or {}),
                spec_digest,
                dict(origin or {}),
                {k: v for k, v in named.items() if v},
            )
            if experiment is not None:
                stamp = recording.now()
                experiment_id = experiment_contexts.ensure_experiment(
                    conn, experiment_types[0], experiment, None, stamp
                )
                properties = experiment_contexts.new_run_properties(
                    experiment,
                    display_name or run_id,
                    run_type=PIPELINE_RUN,
                    pipeline_run=run_id,
                    params=parameters,
                    labels=labels,
                )
                experiment_contexts.create_run(
                    conn, experiment_types[1], experiment_id, properties, stamp
                )
            if lease is not None:
                leases.give(conn, recording.run_context(conn, types[1], run_id), lease)

    def resume_run(self, run_id: str, lease: str) -> int:
        """Make this process the runner of a run again: take its lease (`RunBusy` if a live
        process holds it), mark it RUNNING, and close as CANCELED the executions its last
        runner left running. Returns how many it closed."""
        run_type = self._type(CONTEXT_TYPES, PIPELINE_RUN)
        with self._write() as conn:
            context = recording.run_context(conn, run_type, run_id)
            leases.take(conn, context, run_id, lease)
            recording.update_run(conn, run_type, run_id, RunStatus.RUNNING, None, None)
            return recording.close_started(conn, context, _RUNNER_GONE)

    def renew_lease(self, run_id: str, lease: str) -> leases.Renewal:
        """Tell the store this runner is alive; learn whether it should cancel or stop."""
        with self._write() as conn:
            context = recording.run_context(conn, self._type(CONTEXT_TYPES, PIPELINE_RUN), run_id)
            return leases.renew(conn, context, lease)

    def end_run(self, run_id: str, lease: str, status: RunStatus | str, error: str | None) -> bool:
        """Record a run's final status and give its lease back, if this runner still holds
        it; False (and nothing written) if another process took the run over or closed it."""
        status = RunStatus(status)
        run_type = self._type(CONTEXT_TYPES, PIPELINE_RUN)
        with self._write() as conn:
            context = recording.run_context(conn, run_type, run_id)
            if not leases.give_back(conn, context, lease):
                return False
            recording.update_run(conn, run_type, run_id, status, error, None)
            return True

    def cancel_run(self, run_id: str) -> RunnerRecord | None:
        """Cancel a RUNNING run. If a live process runs it, ask that runner (it stops its
        tasks and records CANCELLED) and return it; otherwise close the run here: CANCELLED,
        with the executions left running CANCELED, and return None."""
        run_type = self._type(CONTEXT_TYPES, PIPELINE_RUN)
        with self._write() as conn:
            context = recording.run_context(conn, run_type, run_id)
            status = queries.run_status(conn, context)
            if status != RunStatus.RUNNING:
                raise RunEnded(f"run {run_id} is {status} already; nothing to cancel")
            runner = leases.ask_to_cancel(conn, context)
            if runner is None:
                recording.close_started(conn, context, _RUNNER_GONE)
                recording.update_run(
                    conn,
                    run_type,
                    run_id,
                    RunStatus.CANCELLED,
                    "cancelled: its runner was gone",
                    None,
                )
            return runner

    def update_run(
        self,
        run_id: str,
        status: RunStatus | str,
        *,
        error: str | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Set a run's status; a finished status gets an end time (now unless given)."""
        status = RunStatus(status)
        run_type = self._type(CONTEXT_TYPES, PIPELINE_RUN)
        with self._write() as conn:
            recording.update_run(conn, run_type, run_id, status, error, ended_at)

    def list_runs(
        self,
        *,
        pipeline: str | None = None,
        status: RunStatus | str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        experiment: str | None = None,
        labels: Mapping[str, str] | None = None,
        after: str | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, optionally of one pipeline, in one status, created since a
        time, in one experiment, with these labels; with `after` (a run id), those that
        follow that run in this order: the next page of a listing."""
        status = RunStatus(status) if status is not None else None
        with self._read() as conn:
            return queries.list_runs(
                conn, pipeline, status, since, limit, experiment, dict(labels or {}), after
            )

    def get_run(self, run_id: str) -> RunDetail:
        """One run with its spec and its executions (parameters, artifacts, times)."""
        with self._read() as conn:
            return queries.get_run(conn, run_id)

    def run_marker(self, run_id: str) -> tuple[Any, ...]:
        """A value that changes whenever the run as `get_run` shows it changes (its status,
        a task's state or times, new tasks, artifacts, a runner lost), read by one small
        query: a watcher compares it with the last one and reads the run only when it moved."""
        with self._read_one() as conn:
            return queries.run_marker(conn, run_id)

    def execution_state(self, execution_id: int) -> ExecutionState:
        """The state of one execution; NotFound if there is none."""
        with self._read_one() as conn:
            return queries.execution_state(conn, execution_id)

    # Pipeline specs

    def store_spec(self, spec: Mapping[str, Any]) -> str:
        """Store a compiled pipeline spec once (runs and registered pipeline versions
        share it); its digest, which names it."""
        digest = recording.spec_digest(spec)
        with self._write() as conn:
            recording.store_spec(conn, spec, digest)
        return digest

    def get_spec(self, digest: str) -> dict[str, Any]:
        """The pipeline spec stored under `digest`; NotFound if none is."""
        with self._read_one() as conn:
            found = conn.execute(
                select(PIPELINE_SPECS.c.spec).where(PIPELINE_SPECS.c.digest == digest)
            ).scalar()
        if found is None:
            raise NotFound(f"no pipeline spec {digest!r} in the metadata store")
        return found

    # Executions

    def create_execution(
        self,
        run_id: str,
        task_key: str,
        *,
        name: str | None = None,
        type: str | None = None,
        state: ExecutionState | str | None = None,
        parameters: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Sequence[int]] | None = None,
        cache_key: str | None = None,
        cache_key_parts: Mapping[str, Any] | None = None,
        log_uri: str | None = None,
        started_at: datetime | None = None,
        cached_from: int | None = None,
    ) -> int:
        """Record a task of a run as an execution, with INPUT events to `inputs`; its id.

        `task_key` is the task's path in the run (`for-loop-2[3]/train`); `name`
        defaults to its last part. `inputs` are artifact ids by input name, in
        list order. `type` defaults to `system.ContainerExecution`, `state` to
        RUNNING; a RUNNING execution starts now unless `started_at` says.

        With `cached_from` (a COMPLETE execution, from `find_cached`), the new
        execution is recorded as `record_cached` does: finished, CACHED, with the
        type, key, parameters and outputs of the one it reuses. Only `name` and
        `inputs` go with it; any other argument raises ValueError rather than be
        dropped.
        """
        if cached_from is not None:
            _refuse_with_cached_from(
                cached_from,
                type=type,
                state=state,
                parameters=parameters,
                cache_key=cache_key,
                cache_key_parts=cache_key_parts,
                log_uri=log_uri,
                started_at=started_at,
            )
            hit = {"task_key": task_key, "name": name, "inputs": inputs}
            return self.record_cached(run_id, [{**hit, "cached_from": cached_from}])[0]
        values = {
            "type_id": self._type(EXECUTION_TYPES, type or CONTAINER_EXECUTION),
            "task_key": task_key,
            "name": name or task_key.rsplit("/", 1)[-1],
            "state": ExecutionState(state or ExecutionState.RUNNING),
            "input_parameters": dict(parameters or {}),
            "output_parameters": {},
            "started_at": started_at,
            "ended_at": None,
            "log_uri": log_uri,
            "error": None,
            "cache_key": cache_key,
            "cache_key_parts": dict(cache_key_parts) if cache_key_parts is not None else None,
        }
        run = (self._type(CONTEXT_TYPES, PIPELINE_RUN), run_id)
        with self._write() as conn:
            return recording.create_execution(conn, run, values, inputs or {})

    def record_cached(self, run_id: str, batch: Sequence[Mapping[str, Any]]) -> list[int]:
        """Record cache hits of a run as CACHED executions, all in one transaction; their ids.

        Each item names the hit's `task_key` and the COMPLETE execution it reuses
        (`cached_from`), and optionally its `name` and input artifact ids
        (`inputs`). A CACHED execution takes the type, cache key and key parts,
        input and output parameters and output artifacts of the one it reuses: a
        hit has the same key, so the same parts, parameters among them. An item
        naming anything else raises ValueError rather than have it dropped.
        """
        if not batch:
            return []
        run_type = self._type(CONTEXT_TYPES, PIPELINE_RUN)
        rows = [_hit_row(item) for item in batch]
        with self._write() as conn:
            run = recording.run_context(conn, run_type, run_id)
            return recording.record_cached(conn, run, rows)

    def finish_execution(
        self,
        execution_id: int,
        state: ExecutionState | str,
        *,
        outputs: Mapping[str, Any] | None = None,
        error: str | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """End a NEW or RUNNING execution as COMPLETE, FAILED or CANCELED, with its output parameters."""
        state = ExecutionState(state)
        if state not in FINAL_STATES:
            raise ValueError(f"an execution finishes COMPLETE, FAILED or CANCELED, not {state}")
        values: dict[str, Any] = {
            "state": state,
            "error": error,
            "ended_at": ended_at or recording.now(),
        }
        if outputs is not None:
            values["output_parameters"] = dict(outputs)
        with self._write() as conn:
            recording.finish_execution(conn, execution_id, values)

    def record_events(
        self, execution_id: int, type: EventType | str, artifacts: Mapping[str, Sequence[int]]
    ) -> None:
        """Link an execution to artifacts (ids by input or output name, in list order)."""
        kind = EventType(type)
        with self._write() as conn:
            recording.add_events(conn, execution_id, kind, recording.links(artifacts))

    # Artifacts

    def create_artifact(
        self,
        uri: str,
        type: str,
        name: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        output_of: int | None = None,
        position: int = 0,
    ) -> int:
        """Record an artifact as PENDING (its bytes are still being written); its id.

        `type` is the artifact's schema title (`system.Model`). With
        `output_of`, the artifact is also recorded as that execution's output
        `name`, at `position` in an artifact list, and joins its run.
        """
        values = {
            "type_id": self._type(ARTIFACT_TYPES, type),
            "uri": uri,
            "name": name,
            "metadata": dict(metadata or {}),
            "sha256": None,
            "size": None,
        }
        with self._write() as conn:
            return recording.create_artifact(conn, values, output_of, position)

    def publish_artifact(
        self,
        artifact_id: int,
        *,
        sha256: str,
        size: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Mark a PENDING artifact LIVE: its bytes are complete. Only LIVE outputs are cache hits."""
        values: dict[str, Any] = {"state": ArtifactState.LIVE, "sha256": sha256, "size": size}
        if metadata is not None:
            values["metadata"] = dict(metadata)
        with self._write() as conn:
            recording.set_artifact(conn, artifact_id, _PENDING, **values)

    def set_artifact_state(self, artifact_id: int, state: ArtifactState | str) -> None:
        """Mark an artifact MARKED_FOR_DELETION or DELETED; either stops it being a cache hit."""
        state = ArtifactState(state)
        if state == ArtifactState.MARKED_FOR_DELETION:
            allowed = frozenset({ArtifactState.LIVE, ArtifactState.PENDING})
        elif state == ArtifactState.DELETED:
            allowed = frozenset(ArtifactState) - {ArtifactState.DELETED}
        else:
            raise ValueError(f"use publish_artifact to make an artifact LIVE, not {state}")
        with self._write() as conn:
            recording.set_artifact(conn, artifact_id, allowed, state=state)

    def get_artifact(self, artifact_id: int) -> ArtifactRecord:
        with self._read() as conn:
            return queries.get_artifact(conn, artifact_id)

    def live_artifacts(self, type_name: str) -> list[ArtifactRecord]:
        """The LIVE artifacts of a type (`conveyor.PredictionLog`), oldest first."""
        with self._read() as conn:
            ids = queries.live_artifact_ids(conn, type_name)
            return [queries.get_artifact(conn, i) for i in ids]

    # Cache and lineage

    def find_cached(
        self, pipeline_name: str, cache_key: str, *, max_age: timedelta | None = None
    ) -> CacheHit | None:
        """The cache hit for a task: the latest COMPLETE execution with `cache_key` in a run of
        `pipeline_name`, ended within `max_age`, whose output artifacts are all LIVE."""
        not_before = recording.now() - max_age if max_age is not None else None
        with self._read_one() as conn:
            return queries.find_cached(conn, pipeline_name, cache_key, not_before)

    def find_cached_like_last_run(
        self, pipeline_name: str, run_id: str, *, max_age: timedelta | None = None
    ) -> dict[str, CacheHit]:
        """`find_cached` for every cache key that the latest other run of `pipeline_name`
        recorded, by key, in one query: a pipeline run again looks up those keys."""
        not_before = recording.now() - max_age if max_age is not None else None
        with self._read_one() as conn:
            return queries.find_cached_like_last_run(conn, pipeline_name, run_id, not_before)

    def previous_execution(
        self, pipeline_name: str, task_key: str, *, before: int | None = None
    ) -> ExecutionDetail | None:
        """The latest execution of the same task in the same pipeline, recorded before the
        execution `before` (or ever): what a cache miss is explained against."""
        with self._read() as conn:
            return queries.previous_execution(conn, pipeline_name, task_key, before)

    def lineage(self, artifact: int | str, *, depth: int = DEFAULT_LINEAGE_DEPTH) -> Lineage:
        """The graph upstream and downstream of an artifact (an id, or a URI: every
        artifact recorded there), up to `depth` executions away on each side."""
        with self._read() as conn:
            return lineage(conn, artifact, depth)

    def execution_lineage(
        self, execution_id: int, *, depth: int = DEFAULT_LINEAGE_DEPTH
    ) -> Lineage:
        """The graph around an execution: its inputs and outputs, then up to `depth`
        executions upstream of its inputs and downstream of its outputs."""
        with self._read() as conn:
            return execution_lineage(conn, execution_id, depth)

    # Plumbing

    def _type(self, table: Table, name: str) -> int:
        """The id of a type (a row of `table`), created (and committed) on first use."""
        key = (table.name, name)
        found = self._types.get(key)
        if found is None:
            with self._write() as conn:
                found = recording.get_or_create(conn, table, {"name": name})
            self._types[key] = found
        return found

    @contextmanager
    def held_connection(self) -> Iterator[None]:
        """Within this block, this thread's calls share one connection rather than taking
        one from the pool each time. A run records and looks up every task from one
        thread; on one connection SQLite's statement and page caches stay warm."""
        if getattr(self._held, "connection", None) is not None:
            yield  # held already, further up this thread
            return
        with translated(self.where):
            conn = self._engine.connect()
        self._held.connection = conn
        try:
            yield
        finally:
            self._held.connection = None
            conn.close()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction on the store's database, for the layers that keep tables of
        their own in it (the registry, the endpoints, the layers to come): committed when
        the block ends, rolled back if it raises. A `write` transaction takes the write
        lock at once (BEGIN IMMEDIATE on SQLite), so a read-then-write inside it is
        atomic; database errors leave it as `StoreError`s that name the store."""
        options = connect.WRITE if write else {}
        with self._turn, translated(self.where), self._transaction(options) as conn:
            yield conn

    def _write(self) -> AbstractContextManager[Connection]:
        return self.transaction(write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return self.transaction()

    @contextmanager
    def _transaction(self, options: dict[str, bool]) -> Iterator[Connection]:
        held: Connection | None = getattr(self._held, "connection", None)
        if held is None:
            with self._engine.execution_options(**options).begin() as conn:
                yield conn
            return
        held.execution_options(**options)  # in place, for this transaction's BEGIN
        try:
            with held.begin():
                yield held
        finally:
            held.execution_options(**dict.fromkeys(options, False))

    @contextmanager
    def _read_one(self) -> Iterator[Connection]:
        """For a read of one statement, consistent on its own: no transaction around it
        on SQLite. Ended once, by what began it: SQLAlchemy, if the read went through it;
        else the driver (PostgreSQL's begins a transaction for any statement)."""
        held: Connection | None = getattr(self._held, "connection", None)
        with self._turn, translated(self.where):
            if held is None:
                with self._single.connect() as conn:  # returned to the pool, ended there
                    yield conn
                return
            try:
                yield held
            finally:
                if held.in_transaction():
                    held.rollback()
                else:
                    held.connection.driver_connection.rollback()


_HIT_FIELDS = frozenset({"task_key", "cached_from", "name", "inputs"})
"""What an item of `record_cached` may name: the rest comes from the execution it reuses."""


def _hit_row(item: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, Sequence[int]], int]:
    """An item of `record_cached` as `recording.record_cached` takes it."""
    extra = item.keys() - _HIT_FIELDS
    if extra:
        raise ValueError(
            f"a cache hit names its task_key, cached_from, name and inputs, not "
            f"{', '.join(sorted(extra))}: a CACHED execution takes the rest from the one it reuses"
        )
    values = {
        "task_key": item["task_key"],
        "name": item.get("name") or item["task_key"].rsplit("/", 1)[-1],
    }
    return values, item.get("inputs") or {}, item["cached_from"]


def _refuse_with_cached_from(cached_from: int, **given: Any) -> None:
    """Raise ValueError for arguments of `create_execution` that a CACHED execution
    would drop: it takes them from the execution it reuses, or has none."""
    refused = sorted(name for name, value in given.items() if value is not None)
    if refused:
        raise ValueError(
            f"create_execution(cached_from={cached_from}) records a CACHED execution that "
            f"takes its type, parameters and cache key from execution {cached_from}, "
            f"finished at once; pass only name and inputs with it, not {', '.join(refused)}"
        )
