"""`conveyor schedules`: schedules of pipeline runs and monitoring jobs; thin calls to
`Schedules` (Vertex AI's `Schedule`, fired by `conveyor scheduler`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from conveyor.cli._output import JsonOption, out, print_json, print_table, state_text, when
from conveyor.cli._params import ParamOption, parse_params
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.automation.schedule_records import ScheduleRecord
    from conveyor.home import Home

app = typer.Typer(
    name="schedules",
    help="Schedules: run a registered pipeline, or a monitor's job, on a cron.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Name = Annotated[str, typer.Argument(help="The schedule's name.")]
CronArgument = Annotated[
    str,
    typer.Argument(
        help="When: 5 fields (minute hour day month weekday), or KFP's 6 (seconds first), "
        "optionally after TZ=Zone (e.g. 'TZ=Europe/Paris 0 3 * * *'); UTC otherwise."
    ),
]
Time = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
        help="A time with its zone (2026-12-31T23:00:00+00:00).",
    ),
]


@contextmanager
def _home() -> Iterator[Home]:
    from conveyor.home import open_home

    with open_home() as home:
        yield home


@app.command()
def create(
    name: Name,
    cron: CronArgument,
    pipeline: Annotated[
        str | None,
        typer.Option(help="The registered pipeline to run: NAME@TAG (followed), NAME@VERSION."),
    ] = None,
    monitor: Annotated[
        str | None, typer.Option(help="Run a job of this model monitor instead of a pipeline.")
    ] = None,
    param: ParamOption = [],  # noqa: B006 (typer reads the default)
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Runs reuse no cached result.")
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    start_time: Time = None,
    end_time: Time = None,
    max_run_count: Annotated[
        int | None, typer.Option(help="Complete after starting this many runs.")
    ] = None,
    max_concurrent_run_count: Annotated[
        int, typer.Option(help="Runs of the schedule under way at once, at most.")
    ] = 1,
    allow_queueing: Annotated[
        bool,
        typer.Option(help="Queue a time that comes while the limit is reached (else skip it)."),
    ] = False,
    catch_up: Annotated[
        bool,
        typer.Option(help="Fire times missed while no scheduler ran one by one (else the latest)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a schedule. `conveyor scheduler` (or `conveyor serve --scheduler`) fires it.

    Example: conveyor schedules create nightly "TZ=Europe/Paris 0 3 * * *" --pipeline churn-train@prod -p epochs=3
    """
    from conveyor.automation import requests

    with _home() as home:
        made = home.schedules.create(
            name,
            cron,
            _request(home, pipeline, monitor, param, no_cache),
            display_name=display_name,
            start_time=start_time,
            end_time=end_time,
            max_run_count=max_run_count,
            max_concurrent_run_count=max_concurrent_run_count,
            allow_queueing=allow_queueing,
            catch_up=catch_up,
        )
    if as_json:
        print_json(made.to_json())
        return
    out.print(
        f"Created schedule {made.name}: {requests.describe(made.request)} at '{made.cron}'; "
        f"next {when(made.next_run_time)} UTC",
        markup=False,
    )


def _request(
    home: Home, pipeline: str | None, monitor: str | None, param: list[str], no_cache: bool
) -> dict[str, Any]:
    from conveyor.automation import requests

    if (pipeline is None) == (monitor is None):
        raise UsageError("give --pipeline NAME@TAG or --monitor NAME (one of them)")
    if monitor is not None:
        if param or no_cache:
            raise UsageError("-p and --no-cache are for --pipeline schedules")
        return requests.monitoring_job(monitor)
    given = requests.typed(home.pipelines, pipeline, parse_params(param), "-p")
    return requests.pipeline_job(pipeline, given, False if no_cache else None)


@app.command("list")
def list_schedules(as_json: JsonOption = False) -> None:
    """List the schedules: what each runs, when, its state and its next time.

    Example: conveyor schedules list
    """
    from conveyor.automation import requests

    with _home() as home:
        found = home.schedules.list()
    if as_json:
        print_json([s.to_json() for s in found])
        return
    if not found:
        out.print("No schedules yet: `conveyor schedules create NAME CRON --pipeline P@TAG`.")
        return
    table = Table("NAME", "RUNS", "CRON", "STATE", "NEXT (UTC)", "STARTED", box=None)
    for s in found:
        table.add_row(
            s.name,
            requests.describe(s.request),
            s.cron,
            state_text(s.state.value),
            when(s.next_run_time) or "-",
            _started(s),
        )
    print_table(table)


def _started(s: ScheduleRecord) -> str:
    return (
        f"{s.started_run_count}/{s.max_run_count}" if s.max_run_count else str(s.started_run_count)
    )


@app.command()
def show(
    name: Name,
    limit: Annotated[int, typer.Option(help="Show this many of its latest fires.", min=1)] = 10,
    as_json: JsonOption = False,
) -> None:
    """Show a schedule and its latest fires: started, queued, skipped or failed, and why.

    Example: conveyor schedules show nightly
    """
    from conveyor.automation import requests

    with _home() as home:
        found = home.schedules.get(name)
        fired = home.schedules.fires(name, limit=limit)
    if as_json:
        print_json({**found.to_json(), "fires": [f.to_json() for f in fired]})
        return
    rows = [
        ("runs", requests.describe(found.request)),
        ("parameters", _parameters(found.request)),
        ("cron", found.cron),
        ("state", found.state.value),
        ("next", f"{when(found.next_run_time)} UTC" if found.next_run_time else "-"),
        ("started", _started(found)),
        ("concurrency", _concurrency(found)),
        ("catch up", "yes" if found.catch_up else "no (missed times: only the latest fires)"),
        ("window", f"{when(found.start_time)} to {when(found.end_time) or 'no end'} UTC"),
    ]
    for label, value in rows:
        out.print(Text.assemble((f"{label:<12}", "bold"), value))
    print_fires(fired)


def _parameters(request: dict[str, Any]) -> str:
    body = request.get("pipeline_job") or {}
    given = body.get("parameters") or {}
    return ", ".join(f"{k}={v!r}" for k, v in given.items()) or "-"


def _concurrency(s: ScheduleRecord) -> str:
    queue = "queued" if s.allow_queueing else "skipped"
    return f"{s.max_concurrent_run_count} at once; more are {queue}"


def print_fires(fired: list[Any]) -> None:
    """The fires of a schedule or trigger, newest first."""
    if not fired:
        out.print("No fires yet.")
        return
    table = Table("FIRE", "FOR (UTC)", "STATE", "RUN", "DETAIL", box=None)
    for f in fired:
        table.add_row(
            str(f.id),
            when(f.scheduled_time or f.created_at),
            state_text(f.state.value),
            f.run_id or "-",
            f.error or "",
        )
    print_table(table)


@app.command()
def update(
    name: Name,
    cron: Annotated[str | None, typer.Option(help="A new cron (from now on).")] = None,
    pipeline: Annotated[str | None, typer.Option(help="Run this pipeline instead.")] = None,
    monitor: Annotated[str | None, typer.Option(help="Run this monitor's job instead.")] = None,
    param: ParamOption = [],  # noqa: B006
    display_name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    end_time: Time = None,
    max_run_count: Annotated[int | None, typer.Option(help="Runs to start in all.")] = None,
    max_concurrent_run_count: Annotated[int | None, typer.Option(help="Runs at once.")] = None,
    allow_queueing: Annotated[
        bool | None,
        typer.Option(
            "--allow-queueing/--no-allow-queueing",
            show_default=False,
            help="Queue a time that comes while the limit is reached (else skip it).",
        ),
    ] = None,
    catch_up: Annotated[
        bool | None,
        typer.Option(
            "--catch-up/--no-catch-up",
            show_default=False,
            help="Fire times missed while no scheduler ran one by one (else the latest).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a schedule; what is not given stays. A new --pipeline or --monitor replaces
    the request whole (with its -p values).

    Example: conveyor schedules update nightly --cron "0 4 * * *"
    """
    fields: dict[str, Any] = {
        key: value
        for key, value in {
            "cron": cron,
            "display_name": display_name,
            "end_time": end_time,
            "max_run_count": max_run_count,
            "max_concurrent_run_count": max_concurrent_run_count,
            "allow_queueing": allow_queueing,
            "catch_up": catch_up,
        }.items()
        if value is not None
    }
    with _home() as home:
        if pipeline is not None or monitor is not None:
            fields["request"] = _request(home, pipeline, monitor, param, False)
        elif param:
            raise UsageError("-p goes with --pipeline: the request is replaced whole")
        made = home.schedules.update(name, **fields)
    _done(made, "Updated", as_json)


@app.command()
def pause(name: Name, as_json: JsonOption = False) -> None:
    """Stop firing a schedule until it is resumed.

    Example: conveyor schedules pause nightly
    """
    with _home() as home:
        _done(home.schedules.pause(name), "Paused", as_json)


@app.command()
def resume(
    name: Name,
    catch_up: Annotated[
        bool,
        typer.Option("--catch-up", help="Fire the times missed while paused, one by one."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Fire a paused schedule again: from its next time after now, or, with --catch-up,
    first each time missed while it was paused.

    Example: conveyor schedules resume nightly
    """
    with _home() as home:
        _done(home.schedules.resume(name, catch_up=catch_up), "Resumed", as_json)


@app.command()
def delete(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a schedule and the record of its fires (the runs it started stay).

    Example: conveyor schedules delete nightly --yes
    """
    if not yes:
        typer.confirm(f"Delete schedule {name}?", abort=True)
    with _home() as home:
        home.schedules.delete(name)
    out.print(f"Deleted schedule {name}", markup=False)


def _done(made: ScheduleRecord, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(made.to_json())
        return
    following = f"; next {when(made.next_run_time)} UTC" if made.next_run_time else ""
    out.print(f"{verb} schedule {made.name}: {made.state.value}{following}", markup=False)
