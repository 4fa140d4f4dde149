"""A run's lease, from both sides: the runner keeps it, another process cancels through it.

The store keeps the lease (`store/metadata/leases.py`); here the runner renews it
on a thread of its own while the engine runs, so that `runs list` can tell a live
run from one whose runner died, and so that `conveyor runs cancel` from another
process reaches the engine within a heartbeat.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from types import TracebackType

from conveyor.store.metadata import MetadataStore, RunStatus, StoreError
from conveyor.store.metadata.leases import HEARTBEAT, Renewal


def new_token() -> str:
    """A token naming one runner's hold on one run."""
    return secrets.token_hex(16)


class LeaseKeeper:
    """Renews a run's lease every heartbeat while the block runs; calls `stop` once when
    another process asks for the run to be cancelled, or has taken the run over."""

    def __init__(
        self, store: MetadataStore, run_id: str, token: str, stop: Callable[[], None]
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.token = token
        self.stop = stop
        self.heard: Renewal = Renewal.HELD
        """What the last renewal said; not HELD once `stop` was called."""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease {run_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _keep(self) -> None:
        while not self._done.wait(HEARTBEAT.total_seconds()):
            try:
                self.heard = self.store.renew_lease(self.run_id, self.token)
            except StoreError:
                continue  # busy or unreachable for now: the lease's timeout has room for it
            if self.heard != Renewal.HELD:
                self.stop()
                return


def cancel(
    store: MetadataStore,
    run_id: str,
    *,
    wait: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunStatus:
    """Cancel a RUNNING run, whichever process runs it, and return its status then.

    A run with a live runner is asked to cancel: its runner stops the tasks and
    records CANCELLED within a heartbeat or two. With `wait` (seconds), this waits
    for that, reporting through `progress`; a run whose runner is gone is closed at
    once. `RunEnded` if the run ended already.
    """
    runner = store.cancel_run(run_id)
    if runner is None:
        return RunStatus.CANCELLED
    if progress is not None:
        progress(f"asked process {runner.pid} on {runner.host} to cancel run {run_id}")
    deadline = time.monotonic() + (wait or 0)
    while True:
        run = store.get_run(run_id)
        if run.status != RunStatus.RUNNING:
            return run.status
        if run.runner_lost:  # it died before it could: close the run here
            return cancel(store, run_id)
        if time.monotonic() >= deadline:
            return run.status
        time.sleep(HEARTBEAT.total_seconds() / 4)
