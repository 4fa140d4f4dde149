"""`conveyor runs ...`: list, show, resume a run, and explain a task's cache outcome."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from conveyor.cli._output import (
    err,
    out,
    print_json,
    print_whole,
    rounded,
    seconds_text,
    state_text,
    when,
)
from conveyor.cli._params import LabelOption, parse_labels
from conveyor.cli.following import (
    ExecutorOption,
    OutcomeJsonOption,
    ParallelismOption,
    RayAddressOption,
    chosen_executor,
    follow,
)
from conveyor.pipelines.state import group_status, label, of_execution
from conveyor.store.metadata.kinds import DAG_EXECUTION

if TYPE_CHECKING:
    from conveyor.client import Client
    from conveyor.experiments import Experiments
    from conveyor.store.metadata.records import ExecutionDetail, RunDetail, RunRecord

app = typer.Typer(
    name="runs",
    help="Look at past runs: list, show, resume, and why a task missed the cache.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

DEFAULT_LIMIT = 50
VALUE_WIDTH = 60
"""Parameter values longer than this are cut in trees (`--json` has them whole)."""

_JSON_HELP = "Print one JSON object, nothing else."
WithSpecOption = Annotated[
    bool,
    typer.Option(
        "--with-spec",
        help="With --json: include the compiled spec and the components' sources, "
        "not only their digests.",
    ),
]


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
    experiment: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only runs that joined this experiment."),
    ] = None,
    label: LabelOption = [],  # noqa: B006 (typer reads the default)
    metric: Annotated[
        list[str],
        typer.Option(
            "--metric",
            metavar="KEY",
            help="A column with this metric of each run in an experiment (repeatable).",
        ),
    ] = [],  # noqa: B006 (typer reads the default)
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """List runs, newest first.

    A run's experiment and name (`conveyor run --experiment --run-name`) are columns
    when some run listed has them; --metric adds its experiment run's metrics.

    Example: conveyor runs list --experiment churn --label team=growth --metric accuracy
    """
    labels = parse_labels(label)
    metric = list(dict.fromkeys(metric))
    # One more than asked, to know whether to say that there are more.
    with _client() as client:
        if experiment is not None:
            client.experiments.get(experiment)  # an unknown one is an error, not "no runs"
        records = client.list_runs(
            pipeline,
            status,
            since,
            limit + 1 if limit > 0 else limit,
            experiment=experiment,
            labels=labels or None,
        )
        shown = records[:limit]
        joined = sorted({r.experiment for r in shown if r.experiment is not None})
        metrics = _metrics(client.experiments, joined, metric) if metric and joined else {}
    if as_json:
        print_json({"runs": [_run_json(r, metric, metrics) for r in shown]})
        return
    console = Console()
    if not shown:
        console.print("no runs match", highlight=False)
        return
    rows = [_list_row(record, shown, metric, metrics) for record in shown]
    print_whole(runs_table(rows, _width(console)))
    if len(records) > limit:
        console.print(f"[dim]the {limit} newest runs; --limit shows more[/]", highlight=False)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run, as `conveyor runs list` names it.")],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    with_spec: WithSpecOption = False,
) -> None:
    """Show a run: its parameters and status, then its tasks as a tree.

    Each task shows its state, duration, parameters, outputs (artifacts with
    their URIs, metrics with their values) and log file. `--json` gives the
    run's record, naming its compiled spec and each task's component by digest.

    Example: conveyor runs show hello-pipeline-20261103-140211-3fa2c1
    """
    with _client() as client:
        run = client.get_run(run_id)
    if as_json:
        print_json(run_json(run, with_spec))
        return
    console = Console(soft_wrap=True)  # ids and paths whole, however narrow the terminal
    header = Text.assemble(("run ", ""), (run.run_id, "bold"), ": ", run_state(run))
    console.print(header)
    if run.runner is not None or run.runner_lost:
        console.print(f"  {runner_text(run)}", highlight=False, markup=False)
    console.print(
        f"  pipeline {run.pipeline_name}, started {when(run.created_at)} UTC, "
        f"took {span(run.created_at, run.ended_at)}",
        highlight=False,
        markup=False,
    )
    if run.origin.get("pipeline_version"):
        console.print(
            f"  registered pipeline {run.origin['pipeline_version']}",
            highlight=False,
            markup=False,
        )
    named = naming_text(run)
    if named:
        console.print(f"  {named}", highlight=False, markup=False)
    for name, value in run.parameters.items():
        console.print(f"  {name} = {_value(value, None)}", highlight=False, markup=False)
    if run.error:
        console.print(run.error, style="red", highlight=False, markup=False)
    print_whole(execution_tree(run))


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="A failed, cancelled or killed run.")],
    parallelism: ParallelismOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    as_json: OutcomeJsonOption = False,
) -> None:
    """Continue a failed, cancelled or killed run, re-running only what did not complete.

    Tasks that completed are reused (shown CACHED). Exit code 0 when the run
    now succeeded, 1 when it failed again or was cancelled, 2 for a run that
    does not exist, already succeeded, or is still run by a live process.

    Example: conveyor runs resume hello-pipeline-20261103-140211-3fa2c1
    """
    executor = chosen_executor(executor)
    follow(
        f"resume {run_id}",
        executor,
        as_json,
        lambda client, listener, log: client.resume(
            run_id,
            parallelism=parallelism,
            executor=executor,
            ray_address=ray_address,
            listener=listener,
            log=log,
        ),
        outputs=False,  # the run's outputs are what `conveyor runs show` lists
    )


@app.command()
def cancel(
    run_id: Annotated[str, typer.Argument(help="A RUNNING run, in this or another process.")],
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for its runner to stop it (0: only ask).", min=0),
    ] = 60,
) -> None:
    """Cancel a run that is running, from any process: its tasks are stopped and the run
    ends CANCELLED, as with Ctrl-C in the process that runs it.

    A run whose runner died (killed, or its machine went down) is closed at
    once: CANCELLED, with its unfinished tasks CANCELLED. Exit code 0 when the
    run is CANCELLED, 1 when it was still running after `--wait` seconds, 2 for
    a run that does not exist or has ended.

    Example: conveyor runs cancel hello-pipeline-20261103-140211-3fa2c1
    """
    with _client() as client:
        status = client.cancel(run_id, wait=wait, progress=err.print)
    out.print(f"run {run_id}: {status}")
    if status != "CANCELLED":
        err.print(f"the runner has not stopped it yet; `conveyor runs show {run_id}` follows it")
        raise typer.Exit(1)


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


LIST_COLUMNS = ("run", "pipeline", "status", "started (UTC)", "duration", "experiment", "name")
"""The columns of `runs list`, in order (experiment and name only when a run has them), and
after them `metric.KEY` for each `--metric`."""
_KEPT_FIRST = ("run", "status", "started (UTC)", "duration", "name", "experiment", "pipeline")
"""What a narrow terminal keeps: the run id and status always; the pipeline last, as every
run id starts with its pipeline's name. Metrics, asked for, come right after the status."""
_SHORTEST_PIPELINE = 10
"""A pipeline name cut shorter than this says too little: the column goes instead."""
_GAP = 2


def runs_table(rows: list[dict[str, str | Text]], width: int | None) -> Table:
    """The `runs list` table within `width` (None: no limit).

    Run ids are never cut: every other command takes them. The columns that do not
    fit beside the id and status are left out, the pipeline's name first shortened;
    an id longer than the width overflows it, whole, on one line.
    """
    present = list(rows[0])
    natural = {c: max(cell_len(c), *(cell_len(str(row[c])) for row in rows)) for c in present}
    budget = None if width is None else width + _GAP  # each column takes its width and a gap
    kept: list[str] = []
    pipeline_width = None
    metrics = [name for name in present if name not in LIST_COLUMNS]
    priority = [*_KEPT_FIRST[:2], *metrics, *_KEPT_FIRST[2:]]
    for name in (name for name in priority if name in natural):
        need = natural[name] + _GAP
        shortened = budget is not None and need > budget >= _SHORTEST_PIPELINE + _GAP
        if name == "pipeline" and shortened:
            pipeline_width, need = budget - _GAP, budget
        if budget is None or need <= budget or len(kept) < 2:
            kept.append(name)
            budget = None if budget is None else budget - need
    table = Table(box=None, pad_edge=False)
    columns = [name for name in present if name in kept]
    for name in columns:
        table.add_column(
            name, no_wrap=True, max_width=pipeline_width if name == "pipeline" else None
        )
    for row in rows:
        table.add_row(*(row[name] for name in columns))
    return table


def _width(console: Console) -> int | None:
    """The width to fit: the terminal's or $COLUMNS; none when piped (rows stay whole)."""
    return console.width if console.is_terminal or os.environ.get("COLUMNS") else None


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
    within = _states_within_iterations(latest)
    root = Tree(Text("tasks", style="bold"))
    branches: dict[str, Tree] = {"": root}

    def branch(key: str) -> Tree:
        if key not in branches:
            parent = branch(_parent(key))
            execution = latest.get(key)
            if execution is None:  # a loop iteration: a scope, not an execution
                iteration = Text(key.rsplit("/", 1)[-1], style="dim")
                state = group_status(within.get(key, []))
                iteration.append_text(Text("  ").append_text(state_text(state)))
                branches[key] = parent.add(iteration)
            else:
                branches[key] = _add_execution(parent, execution, earlier.get(key, []))
        return branches[key]

    for key in latest:
        branch(key)
    spec_tasks = (run.spec or {}).get("root", {}).get("dag", {}).get("tasks", {})
    for name, task in spec_tasks.items():
        if name not in latest:  # skipped, not triggered, or not reached yet
            shown = label(name, task.get("taskInfo", {}).get("name"))
            root.add(Text.assemble((shown, "bold"), "  ", ("not started", "dim")))
    return root


def _add_execution(parent: Tree, execution: ExecutionDetail, before: list[ExecutionDetail]) -> Tree:
    line = Text.assemble(
        (label(execution.task_key.rsplit("/", 1)[-1], execution.name), "bold"),
        "  ",
        state_text(of_execution(execution.state)),
        "  ",
        (span(execution.started_at, execution.ended_at), "dim"),
    )
    if before:
        states = ", ".join(of_execution(e.state) for e in before)
        line.append(f"  (earlier in this run: {states})", style="dim")
    node = parent.add(line)
    details = []
    # A group's parameters are its tasks' business, under KFP's internal channel names.
    if execution.type != DAG_EXECUTION:
        if execution.input_parameters:
            parameters = sorted(execution.input_parameters.items())
            shown = ", ".join(f"{k}={_value(v)}" for k, v in parameters)
            details.append(Text(f"parameters: {shown}"))
        for name, value in execution.output_parameters.items():
            details.append(Text(f"output {name} = {_value(value)}"))
    below: dict[int, Text] = {}  # a line under a detail: an artifact's metrics
    for name, artifacts in execution.outputs.items():
        for artifact in artifacts:
            details.append(
                Text.assemble(
                    f"artifact {name}: ",
                    (artifact.uri, "cyan"),
                    f"  ({artifact.type}, id {artifact.id})",
                )
            )
            summary = metrics_summary(artifact.type, artifact.metadata)
            if summary:
                below[len(details) - 1] = Text(summary, style="bold")
    if execution.cached_from_id is not None:
        details.append(Text(f"reused execution {execution.cached_from_id}", style="blue"))
    if execution.error:
        details.append(Text(f"error: {execution.error.splitlines()[0]}", style="red"))
    if execution.log_uri:
        details.append(Text(f"log: {execution.log_uri}", style="dim"))
    for index, detail in enumerate(details):
        added = node.add(detail)
        if index in below:
            added.add(below[index])
    return node


def metrics_summary(artifact_type: str, metadata: dict[str, Any]) -> str | None:
    """What a metrics artifact says, in one line: a `system.Metrics`' values, rounded
    (`accuracy=0.9123, rows=1200`); the size of a `system.ClassificationMetrics`'
    confusion matrix and ROC curve. None for other artifacts, and for empty metrics."""
    if artifact_type == "system.Metrics":
        return ", ".join(f"{k}={_metric(v)}" for k, v in metadata.items()) or None
    if artifact_type == "system.ClassificationMetrics":
        return _classification(metadata) or None
    if artifact_type == "system.SlicedClassificationMetrics":
        slices = metadata.get("evaluationSlices") or []
        return f"{len(slices)} slice{'s' if len(slices) != 1 else ''}" if slices else None
    return None


def _classification(metadata: dict[str, Any]) -> str:
    """`confusion matrix 2x2 (cat, dog), ROC curve of 101 points`, of what is there."""
    parts = []
    matrix = metadata.get("confusionMatrix") or {}
    categories = [c.get("displayName", "?") for c in matrix.get("annotationSpecs") or []]
    if categories or matrix.get("rows"):
        size = len(categories) or len(matrix.get("rows") or [])
        names = f" ({', '.join(categories)})" if 0 < len(categories) <= 5 else ""
        parts.append(f"confusion matrix {size}x{size}{names}")
    points = metadata.get("confidenceMetrics") or []
    if points:
        parts.append(f"ROC curve of {len(points)} point{'s' if len(points) != 1 else ''}")
    return ", ".join(parts)


def _metric(value: Any) -> str:
    """A metric's value as the tree shows it: numbers rounded, the rest cut like parameters."""
    return rounded(value) if isinstance(value, int | float) else _value(value)


def run_json(run: RunDetail, with_spec: bool = False) -> dict[str, Any]:
    """A run's record for `--json`. Its compiled spec and its tasks' components (their
    sources) are most of its size and seldom what is looked for: they are named by
    digest, and included whole only `with_spec`."""
    from conveyor.store.metadata import spec_digest

    record = run.to_json()
    spec, executions = record.pop("spec", None), record.pop("executions")
    record["spec_digest"] = spec_digest(spec) if spec is not None else None
    if with_spec:
        record["spec"] = spec
    record["executions"] = [execution_json(e, with_spec) for e in executions]
    return record


def execution_json(record: dict[str, Any], with_spec: bool = False) -> dict[str, Any]:
    """An execution's JSON record with its state named as tasks' states are everywhere
    (`SUCCEEDED`, not ML Metadata's `COMPLETE`) and `component_digest`: the sha256 of the
    container its cache key holds (image, command with the component's source, args),
    which is left out of `cache_key_parts` unless `with_spec`. None for executions with no
    container (groups, cache hits: see the execution they reused)."""
    from conveyor.store.metadata import spec_digest

    parts = record.get("cache_key_parts") or {}
    container = parts.get("container")
    shown = {
        **record,
        "state": of_execution(record["state"]),
        "component_digest": None if container is None else spec_digest(container),
    }
    if container is not None and not with_spec:
        shown["cache_key_parts"] = {k: v for k, v in parts.items() if k != "container"}
    return shown


def _states_within_iterations(latest: dict[str, ExecutionDetail]) -> dict[str, list[str]]:
    """The task states of the executions within each loop iteration (`loop[2]`), at any
    depth, in one pass."""
    within: dict[str, list[str]] = {}
    for key, execution in latest.items():
        scope = key
        while "/" in scope:
            scope = scope.rsplit("/", 1)[0]
            if scope.endswith("]"):
                within.setdefault(scope, []).append(of_execution(execution.state))
    return within


def _parent(key: str) -> str:
    """The tree parent of a task key: a loop iteration (`loop[2]`) hangs under its loop."""
    if key.endswith("]") and "[" in key:
        return key[: key.rindex("[")]
    return key.rsplit("/", 1)[0] if "/" in key else ""


def run_state(run: RunRecord) -> Text:
    """A run's status, and for a RUNNING run whose runner is gone or was asked to stop,
    that too: its record alone would say RUNNING for ever."""
    if run.runner_lost:
        return Text.assemble(state_text(run.status), (" (runner lost)", "bold red"))
    if run.runner is not None and run.runner.cancel_requested:
        return state_text("CANCELLING")
    return state_text(run.status)


def naming_text(run: RunRecord) -> str:
    """A run's name, experiment and labels, as far as it has them (`name d4, experiment
    churn, labels team=growth`); empty for a run that has none."""
    parts = []
    if run.display_name:
        parts.append(f"name {run.display_name}")
    if run.experiment:
        parts.append(f"experiment {run.experiment}")
    if run.labels:
        parts.append("labels " + ", ".join(f"{k}={v}" for k, v in sorted(run.labels.items())))
    return ", ".join(parts)


def runner_text(run: RunRecord) -> str:
    """Who runs a RUNNING run, or what to do once nobody does."""
    runner = run.runner
    where = f"process {runner.pid} on {runner.host}" if runner else "a process"
    if run.runner_lost:
        heard = f", last heard {when(runner.heartbeat_at)} UTC" if runner else ""
        return (
            f"its runner ({where}{heard}) is gone: `conveyor runs resume {run.run_id}` "
            f"continues it, `conveyor runs cancel {run.run_id}` closes it"
        )
    asked = "; asked to cancel" if runner and runner.cancel_requested else ""
    return f"running in {where}{asked}"


def span(start: datetime | None, end: datetime | None) -> str:
    """How long from `start` to `end` (or to now, while it lasts)."""
    if start is None:
        return ""
    return seconds_text(((end or datetime.now(UTC)) - start).total_seconds())


def _list_row(
    record: RunRecord,
    shown: list[RunRecord],
    keys: list[str],
    metrics: dict[str, dict[str, Any]],
) -> dict[str, str | Text]:
    """A run's row of `runs list`: its experiment and name only when some run `shown` has
    one (the table of runs without them stays as it was), then its `keys` metrics."""
    row: dict[str, str | Text] = {
        "run": record.run_id,
        "pipeline": record.pipeline_name,
        "status": run_state(record),
        "started (UTC)": when(record.created_at),
        "duration": span(record.created_at, record.ended_at),
    }
    if any(r.experiment for r in shown):
        row["experiment"] = record.experiment or "-"
    if any(r.display_name for r in shown):
        row["name"] = record.display_name or "-"
    logged = metrics.get(record.run_id, {})
    for key in keys:
        value = logged.get(key)
        row[f"metric.{key}"] = "-" if value is None else _metric(value)
    return row


def _run_json(
    record: RunRecord, keys: list[str], metrics: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A run's record for `runs list --json`, with `metrics` when `--metric` asked for some."""
    shown = record.to_json()
    if keys:
        logged = metrics.get(record.run_id, {})
        shown["metrics"] = {key: logged.get(key) for key in keys}
    return shown


def _metrics(
    experiments: Experiments, names: list[str], keys: list[str]
) -> dict[str, dict[str, Any]]:
    """The metrics `keys` of the pipeline runs of experiments `names`, by run id."""
    columns = ["pipeline_run", *(f"metric.{key}" for key in keys)]
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        token: str | None = None
        while True:
            page = experiments.search_runs(name, page_token=token, columns=columns)
            for row in page.runs:
                if row.get("pipeline_run"):
                    found[row["pipeline_run"]] = {k: row.get(f"metric.{k}") for k in keys}
            token = page.next_page_token
            if token is None:
                break
    return found


def _value(value: Any, width: int | None = VALUE_WIDTH) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if width is None or len(text) <= width else text[: width - 3] + "..."


def _client() -> Client:
    """The environment's client, imported when a command runs (`--help` stays quick)."""
    from conveyor.client import Client

    return Client()
