"""Each fire runs in a process of its own: `Launcher` starts it, `execute` is what it runs.

A run that crashes, or a job that eats the memory, takes down its own process, never the
scheduler's. The process gets the home's settings through its environment (as a run's
tasks do) and the fire's id as its argument; the fire holds everything else: the request
as resolved at the claim, the run id, the scheduled time. Its output goes to
`<home>/automation/fires/<fire id>.log`.

Fired runs are recorded as `conveyor run` records runs, with their origin: the pipeline
version, and the schedule or trigger that fired them (`RunRecord.origin`). A fired process
is not tied to its scheduler: stopping or restarting the scheduler leaves the runs under
way to finish (each holds its run's lease).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.automation import requests
from conveyor.automation.fires import CLAIM_SECONDS, Claim, Fires
from conveyor.automation.schedule_records import FireRecord, FireState
from conveyor.errors import ConveyorError
from conveyor.store.metadata import RunExists, RunStatus

if TYPE_CHECKING:
    from conveyor.home import Home

LOG_FOLDER = Path("automation") / "fires"
"""Where fired processes write their output, in the home's folder."""
TAIL_BYTES = 2000
"""How much of a failed process's output an error quotes (a fire's, a resume's)."""


class Launcher:
    """Starts claimed fires as processes: `command + [fire id]`, with `environment` (the
    home's settings as variables) over this process's, writing to `log_folder`."""

    def __init__(self, command: list[str], environment: dict[str, str], log_folder: Path) -> None:
        self.command = command
        self.environment = environment
        self.log_folder = log_folder

    def start(self, claim: Claim) -> subprocess.Popen[bytes]:
        return start_process(
            [*self.command, str(claim.fire_id)], self.environment, self.log_path(claim.fire_id)
        )

    def log_path(self, fire_id: int) -> Path:
        return self.log_folder / f"{fire_id}.log"

    def tail(self, fire_id: int) -> str:
        """The end of a fired process's output, for the error of a fire that failed."""
        return tail(self.log_path(fire_id))


def start_process(
    command: list[str], environment: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """`command` in a process of its own session, with `environment` over this process's
    variables, no input, and its output added to `log_path`: a Ctrl-C or a stop meant for
    the process that starts it (a scheduler, a server) leaves it be."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            env={**os.environ, **environment},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def tail(log_path: Path) -> str:
    """The end of a started process's output (its last `TAIL_BYTES`), for an error that
    quotes it; empty when there is none."""
    try:
        with log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - TAIL_BYTES))
            return log.read().decode(errors="replace").strip()
    except OSError:
        return ""


def execute(fire_id: int, home: Home) -> int:
    """Run fire `fire_id` of `home` to its end and record how it ended; the exit status
    of the fired process (0 when it succeeded)."""
    fires = Fires(home.store)
    fire = fires.get(fire_id)
    request = fire.event.get("request") or {}
    if fire.state != FireState.CLAIMED or not request:
        print(f"fire {fire_id} is {fire.state}, not waiting to start: nothing to do")
        return 0
    fires.start(fire_id)
    with _Heartbeat(fires, fire_id):
        try:
            if requests.PIPELINE_JOB in request:
                return _run_pipeline(fire, request[requests.PIPELINE_JOB], home, fires)
            return _run_monitoring_job(fire, request[requests.MONITORING_JOB], home, fires)
        except RunExists:
            print(f"run {fire.run_id} was started already, by an earlier start of this fire")
            return 0
        except ConveyorError as error:
            fires.finish(fire_id, FireState.FAILED, str(error))
            print(f"error: {error}")
            return 1


class _Heartbeat:
    """Renews a fire's claim while its process works, so that no scheduler takes it over."""

    def __init__(self, fires: Fires, fire_id: int) -> None:
        self.fires, self.fire_id = fires, fire_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="fire-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(CLAIM_SECONDS / 3):
            # The store away for a moment: the next beat tries again.
            with contextlib.suppress(ConveyorError):
                self.fires.renew(self.fire_id, _claim_end())

    def __enter__(self) -> _Heartbeat:
        self.fires.renew(self.fire_id, _claim_end())
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _run_pipeline(fire: FireRecord, body: dict[str, Any], home: Home, fires: Fires) -> int:
    from conveyor.pipelines.runner import run

    origin = {
        "pipeline_version": body["pipeline"],
        "fired_by": {
            "source": fire.source,
            "fire_id": fire.id,
            "occurrence": fire.occurrence,
            **{k: v for k, v in fire.event.items() if k != "request"},
        },
    }
    outcome = run(
        home.pipelines.spec(body["pipeline"]),
        body["parameters"],
        home=home,
        enable_caching=body.get("enable_caching"),
        run_id=fire.run_id,
        origin=origin,
        log=print,
    )
    succeeded = outcome.status == RunStatus.SUCCEEDED
    fires.finish(fire.id, FireState.SUCCEEDED if succeeded else FireState.FAILED, outcome.error)
    print(f"run {outcome.run_id}: {outcome.status}")
    return 0 if succeeded else 1


def _run_monitoring_job(fire: FireRecord, body: dict[str, Any], home: Home, fires: Fires) -> int:
    from conveyor.monitoring.queries import job_window
    from conveyor.monitoring.records import JobState

    monitor = home.monitors.get(body["monitor"])
    window = job_window(monitor, at=fire.scheduled_time) if fire.scheduled_time else None
    job = home.monitors.run(
        monitor.name,
        start_time=window.start if window else None,
        end_time=window.end if window else None,
    )
    succeeded = job.state == JobState.SUCCEEDED
    fires.finish(
        fire.id,
        FireState.SUCCEEDED if succeeded else FireState.FAILED,
        job.error,
        event={"job_id": job.id},
    )
    print(f"monitoring job {job.id} of {monitor.name}: {job.state}")
    return 0 if succeeded else 1


def _claim_end() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=CLAIM_SECONDS)
