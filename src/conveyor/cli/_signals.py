"""SIGTERM as Ctrl-C, for the commands that wait on a run.

A service manager, `kill` or a CI runner's timeout stops a process with SIGTERM. A run
treats it as Ctrl-C: running tasks are stopped (their processes and the processes
those started), and the run is recorded CANCELLED, rather than the process dying with
tasks left running and the run left RUNNING.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; nothing to change elsewhere
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
