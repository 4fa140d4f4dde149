"""Following a run in the terminal: what `conveyor run` and `conveyor runs resume` share.

Their common options, the live view (off for `--executor inline`, whose debugger takes
the terminal), SIGTERM taken as Ctrl-C, and the report: the outcome as JSON, or its
state, outputs and error, and the exit code (0 when the run succeeded, 1 otherwise).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from conveyor.cli._output import STATE_STYLES, print_json
from conveyor.cli._signals import terminate_as_interrupt

if TYPE_CHECKING:
    from conveyor.client import Client
    from conveyor.pipelines.runner import Run, TaskInfo
    from conveyor.pipelines.state import Node

ParallelismOption = Annotated[
    int | None, typer.Option(help="Tasks run at once (default: one per CPU).")
]
ExecutorOption = Annotated[
    str | None,
    typer.Option(
        help="local: Python components in warm worker processes; inline: in this "
        "process, one at a time, for a debugger; ray: as tasks of a Ray cluster. "
        "[default: the environment's executor, else local]",
        show_default=False,
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="The Ray cluster of --executor ray: auto, HOST:PORT or ray://HOST:PORT. "
        "[default: the environment's ray_address, else auto]",
        show_default=False,
    ),
]
OutcomeJsonOption = Annotated[
    bool, typer.Option("--json", help="Print the outcome as one JSON object, nothing else.")
]

Start = Callable[["Client", Callable[["Node"], None], Callable[[str], None]], "Run"]
"""Starts the run on a client, with a listener of its tasks and a log of its progress."""


def chosen_executor(given: str | None) -> str:
    """The executor asked for, else the environment's (read before the home opens: the
    local executor's workers must be forked first)."""
    from conveyor.config import Settings

    return given or Settings.from_env().executor


def follow(
    title: str, executor: str, as_json: bool, start: Start, *, outputs: bool = True
) -> NoReturn:
    """Run `start` under the live view titled `title`, report (with the pipeline's
    `outputs`, or not), and exit with the run's code."""
    from conveyor.cli.live import LiveView
    from conveyor.client import Client

    console = Console(stderr=as_json, quiet=as_json)
    view = LiveView(console, title, live=executor != "inline")

    def log(line: str) -> None:
        console.print(Text(line, style="dim"), highlight=False)  # untinted tree below

    if executor == "local":
        from conveyor.pipelines.executors.python import start_workers

        start_workers()  # forked before the home's store opens, so forked at all
    # With --json, stdout holds the outcome alone: what a library prints meanwhile (Ray's
    # driver reports a task it retries there) goes to stderr.
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with Client() as client, view, terminate_as_interrupt(), quiet:
        outcome = start(client, view, log)
    if as_json:
        print_json(outcome.to_json())
    else:
        report(console, outcome, outputs=outputs)
    raise typer.Exit(0 if outcome.status == "SUCCEEDED" else 1)


def report(console: Console, outcome: Run, *, outputs: bool = True) -> None:
    """The run's state, its outputs, its error, and every iteration of each loop that did
    not succeed (the live view folds them)."""
    style = STATE_STYLES.get(outcome.status, "yellow")
    console.print(f"run [bold]{outcome.run_id}[/]: [{style}]{outcome.status}[/]", highlight=False)
    for name, value in outcome.outputs.items() if outputs else ():
        shown = value if isinstance(value, str) else repr(value)
        console.print(f"  {name} = {shown}", highlight=False, markup=False)
    if outcome.error:
        console.print(outcome.error, style="red", highlight=False, markup=False, soft_wrap=True)
    for task in outcome.tasks:
        if task.iterations and task.status != "SUCCEEDED":
            console.print(iterations_table(task), highlight=False, soft_wrap=True)


def iterations_table(loop: TaskInfo) -> Text:
    """A loop's iterations, one a line: index, item (when short), state, the failed task."""
    iterations = loop.iterations or []
    failed = sum(1 for i in iterations if i.status == "FAILED")
    text = Text(
        f"loop {loop.label}: {loop.status}, {failed} of {len(iterations)} iterations failed"
    )
    index_width = max((len(str(i.index)) for i in iterations), default=1) + 2
    items = [f"item {i.item}" if i.item is not None else "" for i in iterations]
    item_width = max(map(len, items), default=0)
    state_width = max((len(i.status) for i in iterations), default=0)
    for iteration, item in zip(iterations, items, strict=True):
        text.append(f"\n  {f'[{iteration.index}]':<{index_width}}  {item:<{item_width}}  ")
        status = iteration.status
        if iteration.failed_task:
            text.append(f"{status:<{state_width}}", style=STATE_STYLES.get(status, ""))
            text.append(f"  {iteration.failed_task}", style="dim")
        else:
            text.append(status, style=STATE_STYLES.get(status, ""))
    return text
