"""Run leases: which process runs a run, whether it still does, and cancel requests to it.

A runner takes its run's lease when the run starts or resumes, renews it every
`HEARTBEAT`, and gives it back when the run ends. A lease is alive while its
heartbeat is recent and, on this host, while its process exists (the pid with
its start time, since pids are reused). A RUNNING run without a live lease has
lost its runner (SIGKILL, a crash, a reboot): resuming it continues it,
cancelling it closes it. While a lease is alive nobody else may take it, so two
processes never run one run; the statements here run inside the caller's write
transaction, which makes the check and the taking one step.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from conveyor.store.metadata.errors import RunBusy
from conveyor.store.metadata.mlmd_tables import CONTEXTS, RUN_LEASES
from conveyor.store.metadata.records import RunnerRecord

HEARTBEAT = timedelta(seconds=2)
"""How often a runner renews its lease (and so how soon it hears a cancel request)."""
TIMEOUT = timedelta(seconds=30)
"""A lease not renewed for this long is dead, wherever its runner was."""
SAME_START = 1.0
"""Seconds within which two start times of one pid are the same process."""


class Renewal(StrEnum):
    """What a runner learns when it renews its lease."""

    HELD = "HELD"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    LOST = "LOST"
    """Another process holds the lease now, or the run was closed: stop, record nothing more."""


def this_host() -> str:
    return socket.gethostname()


def process_exists(pid: int, started: float) -> bool:
    """Whether process `pid`, started at `started` (epoch seconds), still runs here."""
    import psutil  # lazily: only the commands that look at runners pay for it

    try:
        process = psutil.Process(pid)
        return (
            abs(process.create_time() - started) < SAME_START
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; whose it is we cannot tell


def process_started(pid: int) -> float:
    import psutil

    return psutil.Process(pid).create_time()


def alive(lease: Row[Any], now: datetime) -> bool:
    if now - lease.heartbeat_at > TIMEOUT:
        return False
    if lease.host != this_host():
        return True  # only its heartbeat can tell
    return process_exists(lease.pid, lease.pid_started)


def runner(lease: Row[Any], now: datetime) -> RunnerRecord:
    """A lease as the faces show it: who runs the run, last heard when, and alive or not."""
    return RunnerRecord(
        host=lease.host,
        pid=lease.pid,
        heartbeat_at=lease.heartbeat_at,
        cancel_requested=lease.cancel_requested,
        alive=alive(lease, now),
    )


def runners(conn: Connection, context_ids: list[int]) -> dict[int, RunnerRecord]:
    """The runners of these run contexts, by context id; a run with none is absent."""
    if not context_ids:
        return {}
    found = conn.execute(select(RUN_LEASES).where(RUN_LEASES.c.context_id.in_(context_ids)))
    stamp = datetime.now(UTC)
    return {row.context_id: runner(row, stamp) for row in found}


def take(conn: Connection, context_id: int, run_id: str, owner: str) -> None:
    """Give the run's lease to this process, unless a live process holds it."""
    conn.execute(select(CONTEXTS.c.id).where(CONTEXTS.c.id == context_id).with_for_update())
    held = conn.execute(select(RUN_LEASES).where(RUN_LEASES.c.context_id == context_id)).first()
    stamp = datetime.now(UTC)
    if held is not None and alive(held, stamp):
        raise RunBusy(busy_message(run_id, held, stamp))
    conn.execute(delete(RUN_LEASES).where(RUN_LEASES.c.context_id == context_id))
    give(conn, context_id, owner)


def give(conn: Connection, context_id: int, owner: str) -> None:
    """Make this process the holder of a lease nobody holds."""
    pid = os.getpid()
    conn.execute(
        insert(RUN_LEASES).values(
            context_id=context_id,
            owner=owner,
            host=this_host(),
            pid=pid,
            pid_started=process_started(pid),
            heartbeat_at=datetime.now(UTC),
            cancel_requested=False,
        )
    )


def renew(conn: Connection, context_id: int, owner: str) -> Renewal:
    mine = (RUN_LEASES.c.context_id == context_id, RUN_LEASES.c.owner == owner)
    conn.execute(update(RUN_LEASES).where(*mine).values(heartbeat_at=datetime.now(UTC)))
    cancel = conn.execute(select(RUN_LEASES.c.cancel_requested).where(*mine)).first()
    if cancel is None:
        return Renewal.LOST
    return Renewal.CANCEL_REQUESTED if cancel[0] else Renewal.HELD


def give_back(conn: Connection, context_id: int, owner: str) -> bool:
    """Release the lease; False if this owner no longer held it."""
    mine = (RUN_LEASES.c.context_id == context_id, RUN_LEASES.c.owner == owner)
    return conn.execute(delete(RUN_LEASES).where(*mine)).rowcount == 1


def ask_to_cancel(conn: Connection, context_id: int) -> RunnerRecord | None:
    """Ask the live runner of a run to cancel it; None if it has none (the caller closes the
    run itself). A lease that is not alive is removed."""
    conn.execute(select(CONTEXTS.c.id).where(CONTEXTS.c.id == context_id).with_for_update())
    held = conn.execute(select(RUN_LEASES).where(RUN_LEASES.c.context_id == context_id)).first()
    stamp = datetime.now(UTC)
    if held is None or not alive(held, stamp):
        conn.execute(delete(RUN_LEASES).where(RUN_LEASES.c.context_id == context_id))
        return None
    conn.execute(
        update(RUN_LEASES)
        .where(RUN_LEASES.c.context_id == context_id)
        .values(cancel_requested=True)
    )
    return dataclasses.replace(runner(held, stamp), cancel_requested=True)


def busy_message(run_id: str, lease: Row[Any], now: datetime) -> str:
    seconds = max(0, round((now - lease.heartbeat_at).total_seconds()))
    return (
        f"run {run_id} is running in process {lease.pid} on {lease.host} "
        f"(last heard {seconds}s ago); `conveyor runs cancel {run_id}` stops it"
    )
