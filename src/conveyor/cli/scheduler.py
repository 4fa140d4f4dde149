"""`conveyor scheduler`: fire the home's schedules and triggers, and `conveyor run-fire`,
the process each fire runs in."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from conveyor.cli._output import err, out, state_text, when

if TYPE_CHECKING:
    from conveyor.automation.scheduler import Tick


def scheduler(
    once: Annotated[
        bool,
        typer.Option("--once", help="Fire what is due now, wait for those runs to end, then exit."),
    ] = False,
    poll: Annotated[
        float, typer.Option(help="The most seconds between two looks at the store.", min=0.1)
    ] = 10.0,
) -> None:
    """Fire the schedules and triggers of the home, each run in a process of its own, until
    interrupted. Several schedulers may share one store: each time fires once.

    Runs under way when the scheduler stops go on to their end.

    Example: conveyor scheduler
    """
    from conveyor.automation.scheduler import Scheduler
    from conveyor.cli._signals import terminate_as_interrupt
    from conveyor.home import open_home

    with open_home() as home:
        fired = Scheduler.of(home)
        if once:
            print_tick(fired.tick())
            print_tick(fired.wait())
            return
        err.print(f"Scheduling the pipelines of {home.settings.folder} (Ctrl-C stops)")
        stop = threading.Event()
        try:
            with terminate_as_interrupt():
                fired.run(stop, poll_seconds=poll, on_tick=print_tick)
        except KeyboardInterrupt:
            err.print("Stopped scheduling; runs under way go on.")


def print_tick(done: Tick) -> None:
    """A line per fire a round started and per fire it saw end."""
    for claim in done.started:
        what = f"run {claim.run_id}" if claim.run_id else "monitoring job"
        out.print(f"{claim.source} {claim.source_name}: started {what} (fire {claim.fire_id})")
    for fire in done.settled:
        line = Text(f"{when(fire.updated_at)} UTC  fire {fire.id}  ")
        line.append_text(state_text(fire.state.value))
        if fire.error:
            line.append(f"  {fire.error}")
        out.print(line)


def run_fire(
    fire_id: Annotated[int, typer.Argument(help="The fire to run (the scheduler's).")],
) -> None:
    """Run one fire of a schedule or trigger to its end: what the scheduler starts."""
    from conveyor.automation.launch import execute
    from conveyor.home import open_home

    with open_home() as home:
        status = execute(fire_id, home)
    raise typer.Exit(status)
