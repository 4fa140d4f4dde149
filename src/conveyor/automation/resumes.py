"""Resuming a run in a process of its own: what a server does, which never runs tasks itself.

    record = start_resume(home, run_id)    # RUNNING, its lease held by the new process

`start_resume` refuses what `conveyor runs resume` would refuse (the checks of
`conveyor.pipelines.runner.check_resumable`), then starts `conveyor runs resume RUN_ID` in
this Python, in a session of its own, with the home's settings in its environment (as a
fired run starts, `conveyor.automation.launch`) and its output added to `resume.log` in
the run's folder. It returns once that process holds the run's lease (or has already
finished the run), so the caller can follow the run as any other; a process that ends
before it took the run (another process took it first) is `ResumeNotStarted`, quoting the
end of its output, and one still starting after `timeout` seconds is `ResumeSlow`.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from conveyor.automation.errors import ResumeNotStarted, ResumeSlow
from conveyor.automation.launch import start_process, tail
from conveyor.pipelines.runner import check_resumable, run_folder
from conveyor.store.metadata import RunDetail, RunStatus
from conveyor.store.metadata.leases import this_host

if TYPE_CHECKING:
    from conveyor.home import Home

RESUME_COMMAND = [sys.executable, "-m", "conveyor", "runs", "resume"]
"""How a resume's process starts: `conveyor runs resume RUN_ID`, in this Python."""
LOG_NAME = "resume.log"
"""The resumes' output, in the run's folder (each resume adds to it)."""
START_SECONDS = 60.0
"""How long `start_resume` waits for its process to take the run."""
POLL_SECONDS = 0.1
"""How often it looks at the run meanwhile."""


def start_resume(home: Home, run_id: str, *, timeout: float = START_SECONDS) -> RunDetail:
    """Resume run `run_id` of `home` in a process of its own; the run once that process
    holds it (see the module docstring)."""
    before = home.store.get_run(run_id)
    check_resumable(before)
    log_path = run_folder(home.settings, run_id) / LOG_NAME
    process = start_process([*RESUME_COMMAND, run_id], home.settings.to_env(), log_path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            code: int | None = process.wait(POLL_SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        now = home.store.get_run(run_id)
        if _taken(now, process.pid) or (code in (0, 1) and _ended_again(now, before)):
            break
        if code is not None:
            raise ResumeNotStarted(
                f"`conveyor runs resume {run_id}` ended (exit code {code}) before it took "
                f"the run: {tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise ResumeSlow(
                f"the process resuming run {run_id} (pid {process.pid}) has not taken it "
                f"after {timeout:g} s; its output is in {log_path}"
            )
    if process.returncode is None:  # reaped when it ends: a long-lived server keeps no zombie
        threading.Thread(target=process.wait, name=f"resume {run_id}", daemon=True).start()
    return now


def _taken(run: RunDetail, pid: int) -> bool:
    """Whether the process `pid` of this host holds the run's lease."""
    runner = run.runner
    return (
        run.status == RunStatus.RUNNING
        and runner is not None
        and runner.pid == pid
        and runner.host == this_host()
    )


def _ended_again(run: RunDetail, before: RunDetail) -> bool:
    """Whether the run ended again since `before`: a quick resume that is over already."""
    return run.status != RunStatus.RUNNING and run.ended_at != before.ended_at
