"""`conveyor runs ...`: list, show, resume a run, and explain a task's cache outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from conveyor.cli._output import print_json, when
from conveyor.cli.following import ExecutorOption, OutcomeJsonOption, ParallelismOption, follow
from conveyor.store.metadata.kinds import DAG_EXECUTION

if TYPE_CHECKING:
    from conveyor.client import Client
    from conveyor.store.metadata.records import ExecutionDetail, RunDetail

app = typer.Typer(
    name="runs",
    help="Look at past runs: list, show, resume, and why a task missed the cache.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

STATE_STYLES = {
    "RUNNING": "cyan",
    "NEW": "dim",
    "SUCCEEDED": "green",
    "COMPLETE": "green",
    "CACHED": "blue",
    "FAILED": "bold red",
    "CANCELLED": "yellow",
    "CANCELED": "yellow",
}
"""Run statuses and execution states, coloured alike in every command."""

DEFAULT_LIMIT = 50
VALUE_WIDTH = 60
"""Parameter values longer than this are cut in trees (`--json` has them whole)."""

_JSON_HELP = "Print one JSON object, nothing else."


@app.command("list")
def list_runs(
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only runs in this status: RUNNING, SUCCEEDED, FAILED ...")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only runs created since: a duration back (30m, 12h, 7d) or a date."),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="At most this many runs, newest first.")
    ] = DEFAULT_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """List runs, newest first.

    Example: conveyor runs list --pipeline hello-pipeline --status FAILED --since 7d
    """
    # One more than asked, to know whether to say that there are more.
    with _client() as client:
        records = client.list_runs(pipeline, status, since, limit + 1 if limit > 0 else limit)
    shown = records[:limit]
    if as_json:
        print_json({"runs": [r.to_json() for r in shown]})
        return
    console = Console()
    if not shown:
        console.print("no runs match", highlight=False)
        return
    table = Table(
        "run", "pipeline", "status", "started (UTC)", "duration", box=None, pad_edge=False
    )
    for record in shown:
        table.add_row(
            record.run_id,
            record.pipeline_name,
            state_text(record.status),
            when(record.created_at),
            span(record.created_at, record.ended_at),
        )
    console.print(table)
    if len(records) > limit:
        console.print(f"[dim]the {limit} newest runs; --limit shows more[/]", highlight=False)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run, as `conveyor runs list` names it.")],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Show a run: its parameters and status, then its tasks as a tree.

    Each task shows its state, duration, parameters, outputs (artifacts with
    their URIs) and log file. `--json` gives the run's record without its
    compiled spec.

    Example: conveyor runs show hello-pipeline-20261103-140211-3fa2c1
    """
    with _client() as client:
        run = client.get_run(run_id)
    if as_json:
        record = run.to_json()
        record.pop("spec", None)
        print_json(record)
        return
    console = Console()
    header = Text.assemble(("run ", ""), (run.run_id, "bold"), ": ", state_text(run.status))
    console.print(header)
    console.print(
        f"  pipeline {run.pipeline_name}, started {when(run.created_at)} UTC, "
        f"took {span(run.created_at, run.ended_at)}",
        highlight=False,
        markup=False,
    )
    for name, value in run.parameters.items():
        console.print(f"  {name} = {_value(value, None)}", highlight=False, markup=False)
    if run.error:
        console.print(run.error, style="red", highlight=False, markup=False)
    console.print(execution_tree(run))


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="A failed, cancelled or killed run.")],
    parallelism: ParallelismOption = None,
    executor: ExecutorOption = "local",
    as_json: OutcomeJsonOption = False,
) -> None:
    """Continue a failed, cancelled or killed run, re-running only what did not complete.

    Tasks that completed are reused (shown CACHED). Exit code 0 when the run
    now succeeded, 1 when it failed again or was cancelled, 2 for a run that
    does not exist or already succeeded.

    Example: conveyor runs resume hello-pipeline-20261103-140211-3fa2c1
    """
    follow(
        f"resume {run_id}",
        executor,
        as_json,
        lambda client, listener, log: client.resume(
            run_id, parallelism=parallelism, executor=executor, listener=listener, log=log
        ),
        outputs=False,  # the run's outputs are what `conveyor runs show` lists
    )


@app.command("explain-cache")
def explain_cache(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    task: Annotated[str, typer.Argument(help="The task's key (`train`, `for-loop-2[0]/add`).")],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Say whether a task hit the cache, and if it missed, why.

    A miss is explained against the nearest earlier execution of the same
    task in the same pipeline: the parts of the cache key that differ, or why
    an equal entry could not be reused.

    Example: conveyor runs explain-cache hello-pipeline-20261103-140211-3fa2c1 write-report
    """
    with _client() as client:
        explanation = client.explain_cache(run_id, task)
    if as_json:
        print_json(explanation.to_json())
        return
    console = Console()
    for line in explanation.lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)


# -- drawing ---------------------------------------------------------------------------


def execution_tree(run: RunDetail) -> Tree:
    """A run's executions as a tree by task key; a resumed task shows its latest execution.

    Top-level tasks that have no execution (skipped, not triggered, not reached
    yet) are listed as not started.
    """
    latest: dict[str, ExecutionDetail] = {}
    earlier: dict[str, list[ExecutionDetail]] = {}
    for execution in run.executions:
        if execution.task_key in latest:
            earlier.setdefault(execution.task_key, []).append(latest[execution.task_key])
        latest[execution.task_key] = execution
    root = Tree(Text("tasks", style="bold"))
    branches: dict[str, Tree] = {"": root}

    def branch(key: str) -> Tree:
        if key not in branches:
            parent = branch(_parent(key))
            execution = latest.get(key)
            if execution is None:  # a loop iteration: a scope, not an execution
                label = Text(key.rsplit("/", 1)[-1], style="dim")
                branches[key] = parent.add(label)
            else:
                branches[key] = _add_execution(parent, execution, earlier.get(key, []))
        return branches[key]

    for key in latest:
        branch(key)
    spec_tasks = (run.spec or {}).get("root", {}).get("dag", {}).get("tasks", {})
    for name in spec_tasks:
        if name not in latest:  # skipped, not triggered, or not reached yet
            root.add(Text.assemble((name, "bold"), "  ", ("not started", "dim")))
    return root


def _add_execution(parent: Tree, execution: ExecutionDetail, before: list[ExecutionDetail]) -> Tree:
    label = Text.assemble(
        (execution.task_key.rsplit("/", 1)[-1], "bold"),
        "  ",
        state_text(execution.state),
        "  ",
        (span(execution.started_at, execution.ended_at), "dim"),
    )
    if before:
        label.append(
            "  (earlier in this run: " + ", ".join(e.state.value for e in before) + ")",
            style="dim",
        )
    node = parent.add(label)
    details = []
    # A group's parameters are its tasks' business, under KFP's internal channel names.
    if execution.type != DAG_EXECUTION:
        if execution.input_parameters:
            parameters = sorted(execution.input_parameters.items())
            shown = ", ".join(f"{k}={_value(v)}" for k, v in parameters)
            details.append(Text(f"parameters: {shown}"))
        for name, value in execution.output_parameters.items():
            details.append(Text(f"output {name} = {_value(value)}"))
    for name, artifacts in execution.outputs.items():
        for artifact in artifacts:
            details.append(
                Text.assemble(
                    f"artifact {name}: ",
                    (artifact.uri, "cyan"),
                    f"  ({artifact.type}, id {artifact.id})",
                )
            )
    if execution.cached_from_id is not None:
        details.append(Text(f"reused execution {execution.cached_from_id}", style="blue"))
    if execution.error:
        details.append(Text(f"error: {execution.error.splitlines()[0]}", style="red"))
    if execution.log_uri:
        details.append(Text(f"log: {execution.log_uri}", style="dim"))
    for detail in details:
        node.add(detail)
    return node


def _parent(key: str) -> str:
    """The tree parent of a task key: a loop iteration (`loop[2]`) hangs under its loop."""
    if key.endswith("]") and "[" in key:
        return key[: key.rindex("[")]
    return key.rsplit("/", 1)[0] if "/" in key else ""


def state_text(state: str) -> Text:
    return Text(str(state), style=STATE_STYLES.get(str(state), ""))


def span(start: datetime | None, end: datetime | None) -> str:
    """How long from `start` to `end` (or to now, while it lasts): `0.4s`, `2m05s`, `1h02m`."""
    if start is None:
        return ""
    seconds = ((end or datetime.now(UTC)) - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def _value(value: Any, width: int | None = VALUE_WIDTH) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if width is None or len(text) <= width else text[: width - 3] + "..."


def _client() -> Client:
    """The environment's client, imported when a command runs (`--help` stays quick)."""
    from conveyor.client import Client

    return Client()
