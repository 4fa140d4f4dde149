"""`conveyor triggers`: runs of registered pipelines on new data, a monitor's alerts, a
finished run or a webhook call; thin calls to `Triggers` (fired by `conveyor scheduler`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from conveyor.cli._output import JsonOption, out, print_json, print_table, state_text, when
from conveyor.cli._params import ParamOption, parse_params
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.automation.schedule_records import FireRecord
    from conveyor.automation.trigger_records import TriggerRecord
    from conveyor.home import Home

app = typer.Typer(
    name="triggers",
    help="Triggers: run a registered pipeline on new data, an alert, a finished run or a call.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Name = Annotated[str, typer.Argument(help="The trigger's name.")]
Limit = Annotated[int, typer.Option(help="Show this many of its latest fires.", min=1)]


@contextmanager
def _home() -> Iterator[Home]:
    from conveyor.home import open_home

    with open_home() as home:
        yield home


@app.command()
def create(
    name: Name,
    on: Annotated[
        str,
        typer.Option(help="The event: new-data, monitoring-alert, run-finished or webhook."),
    ],
    pipeline: Annotated[
        str, typer.Option(help="The registered pipeline to run: NAME@TAG (followed), NAME@VERSION.")
    ],
    param: ParamOption = [],  # noqa: B006 (typer reads the default)
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Runs reuse no cached result.")
    ] = False,
    pattern: Annotated[
        str | None,
        typer.Option(
            help="new-data: the files or objects to watch: data/spans/span-*, "
            "s3://bucket/spans/*.csv, data/span-{SPAN}/*.csv."
        ),
    ] = None,
    parameter: Annotated[
        str | None,
        typer.Option(help="new-data: the pipeline parameter that receives each new object's URI."),
    ] = None,
    span_parameter: Annotated[
        str | None,
        typer.Option(
            help="new-data, with a {SPAN} pattern: the pipeline parameter that receives each "
            "new span's number."
        ),
    ] = None,
    monitor: Annotated[
        str | None, typer.Option(help="monitoring-alert: the model monitor whose alerts fire.")
    ] = None,
    objective: Annotated[
        list[str],
        typer.Option(help="monitoring-alert: only alerts of this objective (repeat it)."),
    ] = [],  # noqa: B006
    cooldown: Annotated[
        str | None,
        typer.Option(help="monitoring-alert: no second run within this long (30m, 1d; 0s: none)."),
    ] = None,
    after_pipeline: Annotated[
        str | None,
        typer.Option(help="run-finished: the pipeline whose runs to follow, as runs name it."),
    ] = None,
    state: Annotated[
        list[str],
        typer.Option(help="run-finished: fire when it ends so (repeat it; default SUCCEEDED)."),
    ] = [],  # noqa: B006
    map_: Annotated[
        list[str],
        typer.Option(
            "--map",
            help="run-finished: PARAMETER=OUTPUT: a parameter of --pipeline from an output "
            "(or TASK/OUTPUT, or parameter) of the finished run (repeat it).",
        ),
    ] = [],  # noqa: B006
    allow: Annotated[
        list[str],
        typer.Option(help="webhook: a parameter a call may give (repeat it; default: any)."),
    ] = [],  # noqa: B006
    max_concurrent_run_count: Annotated[
        int, typer.Option(help="Runs of the trigger under way at once; more wait their turn.")
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """Create a trigger. `conveyor scheduler` (or `conveyor serve --scheduler`) fires it.

    Objects there when a new-data trigger is created are not fired, only those that
    come after (each once: by path, size and change stamp).

    Example: conveyor triggers create new-spans --on new-data --pattern "data/spans/span-*" --parameter data_path --pipeline churn-train@prod
    """
    from conveyor.automation import requests

    kind = on.replace("_", "-")
    options = {
        "pattern": pattern,
        "parameter": parameter,
        "span_parameter": span_parameter,
        "monitor": monitor,
        "objective": objective,
        "cooldown": cooldown,
        "after_pipeline": after_pipeline,
        "state": state,
        "map_": map_,
        "allow": allow,
    }
    event = _event(kind, options)
    event["max_concurrent_run_count"] = max_concurrent_run_count
    with _home() as home:
        given = requests.typed(home.pipelines, pipeline, parse_params(param), "-p")
        request = requests.pipeline_job(pipeline, given, False if no_cache else None)
        made = home.triggers.create(name, kind, event, request)
    if as_json:
        print_json(made.to_json())
        return
    out.print(
        f"Created trigger {made.name}: {requests.describe(made.request)} on {describe(made)}",
        markup=False,
    )


_OPTIONS = {
    "new-data": ("pattern", "parameter", "span_parameter"),
    "monitoring-alert": ("monitor", "objective", "cooldown"),
    "run-finished": ("after_pipeline", "state", "map_"),
    "webhook": ("allow",),
}
"""The options of each kind of trigger."""


def _event(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The event settings of `kind` from the options of `create`."""
    if kind not in _OPTIONS:
        raise UsageError(f"--on: {kind!r} is not one of {', '.join(_OPTIONS)}")
    for other, names in _OPTIONS.items():
        for option in names:
            if other != kind and given[option] not in (None, []):
                flag = "--" + option.rstrip("_").replace("_", "-")
                raise UsageError(f"{flag} is for --on {other} triggers")
    if kind == "new-data":
        keys = ("pattern", "parameter", "span_parameter")
        return {key: given[key] for key in keys if given[key] is not None}
    if kind == "monitoring-alert":
        event = {"monitor": given["monitor"], "objectives": given["objective"]}
        return event if given["cooldown"] is None else {**event, "cooldown": given["cooldown"]}
    if kind == "run-finished":
        mapping = {}
        for item in given["map_"]:
            name, sep, source = item.partition("=")
            if not (sep and name.strip() and source.strip()):
                raise UsageError(f"--map takes PARAMETER=OUTPUT, got {item!r}")
            mapping[name.strip()] = source.strip()
        return {
            "pipeline": given["after_pipeline"],
            "states": given["state"],
            "parameters": mapping,
        }
    return {"parameters": given["allow"]}


@app.command("list")
def list_triggers(as_json: JsonOption = False) -> None:
    """List the triggers: what each runs, on what, and its state.

    Example: conveyor triggers list
    """
    from conveyor.automation import requests

    with _home() as home:
        found = home.triggers.list()
    if as_json:
        print_json([t.to_json() for t in found])
        return
    if not found:
        out.print("No triggers yet: `conveyor triggers create NAME --on ... --pipeline P@TAG`.")
        return
    table = Table("NAME", "RUNS", "ON", "STATE", "CREATED (UTC)", box=None)
    for t in found:
        table.add_row(
            t.name,
            requests.describe(t.request),
            describe(t),
            state_text(t.state.value),
            when(t.created_at),
        )
    print_table(table)


@app.command()
def show(name: Name, limit: Limit = 10, as_json: JsonOption = False) -> None:
    """Show a trigger and its latest fires: started, queued, skipped or failed, and why.

    Example: conveyor triggers show new-spans
    """
    from conveyor.automation import requests

    with _home() as home:
        found = home.triggers.get(name)
        fired = home.triggers.fires(name, limit=limit)
    if as_json:
        print_json({**found.to_json(), "fires": [f.to_json() for f in fired]})
        return
    body = found.request.get(requests.PIPELINE_JOB) or {}
    given = ", ".join(f"{k}={v!r}" for k, v in (body.get("parameters") or {}).items())
    rows = [
        ("runs", requests.describe(found.request)),
        ("parameters", given or "-"),
        ("on", describe(found)),
        ("state", found.state.value),
        ("at once", str(found.event.get("max_concurrent_run_count", 1))),
        ("created", f"{when(found.created_at)} UTC by {found.created_by}"),
    ]
    for label, value in rows:
        out.print(Text.assemble((f"{label:<12}", "bold"), value))
    print_fires(fired)


@app.command()
def fires(name: Name, limit: Limit = 100, as_json: JsonOption = False) -> None:
    """List a trigger's fires, newest first: each event it saw and what became of it.

    Example: conveyor triggers fires new-spans --limit 20
    """
    with _home() as home:
        fired = home.triggers.fires(name, limit=limit)
    if as_json:
        print_json([f.to_json() for f in fired])
    else:
        print_fires(fired)


@app.command()
def fire(
    name: Name,
    param: ParamOption = [],  # noqa: B006
    key: Annotated[
        str | None,
        typer.Option(help="An idempotency key: a second call with it fires nothing more."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Call a webhook trigger, as `POST /api/v1/triggers/NAME:fire` does: its run waits
    for the scheduler. The parameters are checked against the pipeline now.

    Example: conveyor triggers fire retrain -p epochs=3 --key build-41
    """
    from conveyor.automation import requests

    with _home() as home:
        trigger = home.triggers.get(name)
        reference = requests.pipeline_of(trigger.request) or ""
        version = home.pipelines.resolve(reference).reference
        given = requests.typed(home.pipelines, version, parse_params(param), "-p")
        made = home.triggers.fire(name, given, key=key)
    if as_json:
        print_json(made.to_json())
        return
    detail = f": {made.error}" if made.error else ""
    out.print(f"Fire {made.id} of trigger {name}: {made.state.value}{detail}", markup=False)


@app.command()
def pause(name: Name, as_json: JsonOption = False) -> None:
    """Stop firing a trigger; what happens while it is paused is never fired.

    Example: conveyor triggers pause new-spans
    """
    with _home() as home:
        _done(home.triggers.pause(name), "Paused", as_json)


@app.command()
def resume(name: Name, as_json: JsonOption = False) -> None:
    """Fire a paused trigger again, on the events that come from now on.

    Example: conveyor triggers resume new-spans
    """
    with _home() as home:
        _done(home.triggers.resume(name), "Resumed", as_json)


@app.command()
def delete(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a trigger and the record of its fires (the runs it started stay).

    Example: conveyor triggers delete new-spans --yes
    """
    if not yes:
        typer.confirm(f"Delete trigger {name}?", abort=True)
    with _home() as home:
        home.triggers.delete(name)
    out.print(f"Deleted trigger {name}", markup=False)


# Helpers


def describe(trigger: TriggerRecord) -> str:
    """What a trigger fires on, in a few words."""
    event = trigger.event
    if trigger.kind == "new_data":
        given = ", ".join(event[k] for k in ("parameter", "span_parameter") if k in event)
        return f"new data at {event['pattern']} (as {given})"
    if trigger.kind == "monitoring_alert":
        objectives = f" of {', '.join(event['objectives'])}" if event["objectives"] else ""
        return f"alerts{objectives} of monitor {event['monitor']} (cooldown {event['cooldown']})"
    if trigger.kind == "run_finished":
        return f"runs of {event['pipeline']} ending {' or '.join(event['states'])}"
    return "webhook calls"


def print_fires(fired: list[FireRecord]) -> None:
    """A trigger's fires, newest first."""
    if not fired:
        out.print("No fires yet.")
        return
    table = Table("FIRE", "SEEN (UTC)", "EVENT", "STATE", "RUN", "DETAIL", box=None)
    for f in fired:
        table.add_row(
            str(f.id),
            when(f.scheduled_time or f.created_at),
            _event_text(f),
            state_text(f.state.value),
            f.run_id or "-",
            f.error or "",
        )
    print_table(table)


def _event_text(fire: FireRecord) -> str:
    event = fire.event
    if "object" in event:
        return str(event["object"])
    if "alert_id" in event:
        return f"alert {event['alert_id']}: {event['feature']} {event['objective']}"
    if "run_id" in event:
        return f"run {event['run_id']} {event['state']}"
    return f"call {event['key']}" if event.get("key") else "call"


def _done(made: TriggerRecord, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(made.to_json())
        return
    out.print(f"{verb} trigger {made.name}: {made.state.value}", markup=False)
