"""`conveyor experiments`: experiments and their runs from the command line; thin calls to
`Client.experiments`, so that they work on a home and on a server alike.

`compare` is the experiment's runs as one table: a row per run, its params and metrics as
columns, filtered, sorted and projected by the library's search (`conveyor.experiments.search`).
A table too wide to read is turned (a row per column) when there are few runs, and cut to its
first columns, saying so, when there are many; `--csv` and `--json` always have every column.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from conveyor.cli._output import JsonOption, err, out, print_json, print_table, rounded, when
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.experiments import Experiment, Experiments

app = typer.Typer(
    name="experiments",
    help="Experiments: compare the params and metrics of runs, pipeline runs and others.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

SHOWN_METRICS = 3
"""The metrics `show` has a column for (the first by key); `compare` shows them all."""
MAX_COLUMNS = 8
"""The most param and metric columns a `compare` table has, one run a row."""
TURN_AT_MOST = 5
"""A table wider than `MAX_COLUMNS` of at most this many runs is turned: a row per column."""
VALUE_PREFIXES = ("param.", "metric.", "time_series_metric.")
"""What `compare` shows by default, besides each run's state."""

ExperimentArgument = Annotated[str, typer.Argument(help="The experiment's name.")]


@contextmanager
def _experiments() -> Iterator[Experiments]:
    """The experiments of the environment's client (imported when used: `--help` stays
    quick)."""
    from conveyor.client import Client

    with Client() as client:
        yield client.experiments


@app.command("list")
def list_experiments(as_json: JsonOption = False) -> None:
    """List the experiments, by name, with their number of runs.

    Example: conveyor experiments list
    """
    with _experiments() as experiments:
        found = experiments.list()
    if as_json:
        print_json([e.to_json() for e in found])
        return
    if not found:
        out.print(
            "No experiments yet: `conveyor run PIPELINE --experiment NAME` or "
            "`conveyor.init(experiment=NAME)` makes one.",
            markup=False,
        )
        return
    table = Table("NAME", "RUNS", "CREATED (UTC)", "DESCRIPTION", box=None)
    for e in found:
        table.add_row(e.name, str(e.run_count), when(e.created_at), e.description or "")
    print_table(table)


@app.command()
def show(experiment: ExperimentArgument, as_json: JsonOption = False) -> None:
    """Show an experiment and its runs, newest first: name, type, state, times and the
    first few metrics.

    Example: conveyor experiments show churn
    """
    with _experiments() as experiments:
        found = experiments.get(experiment)
        runs = experiments.list_runs(experiment)[::-1]
    if as_json:
        print_json({"experiment": found.to_json(), "runs": [r.to_json() for r in runs]})
        return
    out.print(_headline(found), markup=False)
    if not runs:
        return
    keys = sorted({key for run in runs for key in run.metrics})
    shown = keys[:SHOWN_METRICS]
    table = Table("RUN", "TYPE", "STATE", "STARTED (UTC)", "ENDED (UTC)", *shown, box=None)
    for run in runs:
        table.add_row(
            run.run_name,
            run.run_type.removeprefix("system."),
            run.state.value,
            when(run.created_at),
            when(run.ended_at),
            *(_cell(run.metrics.get(key)) for key in shown),
        )
    print_table(table)
    if len(keys) > len(shown):
        out.print(
            f"{len(shown)} of {len(keys)} metrics; `conveyor experiments compare "
            f"{experiment}` shows them all",
            markup=False,
            style="dim",
        )


@app.command()
def compare(
    experiment: ExperimentArgument,
    runs: Annotated[
        list[str] | None, typer.Argument(help="Only these runs (default: every run).")
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option(
            "--filter",
            metavar="EXPR",
            help='Only runs matching: metric.accuracy >= 0.9 and param.model = "tree".',
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="COLUMN",
            help="Sort by this column, as metric.accuracy (default: newest run first).",
        ),
    ] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort --sort's column descending.")] = False,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="COLUMNS",
            help="Only these columns, comma-separated: param.*,metric.accuracy,state "
            "(default: the state, params, metrics and time-series metrics).",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", min=1, help="At most this many runs.")
    ] = None,
    as_json: JsonOption = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print the table as CSV, nothing else.")
    ] = False,
) -> None:
    """Compare runs of an experiment: a row per run, its params and metrics as columns.

    Columns are named as filters name them: param.KEY, metric.KEY, time_series_metric.KEY,
    label.KEY, and state, run_type, start_time, end_time, pipeline_run. A table too wide
    to read is turned (a row per column) for up to 5 runs, else cut to its first 8 columns;
    --csv and --json have every column.

    Example: conveyor experiments compare churn --sort metric.accuracy --desc --columns param.*,metric.accuracy
    """
    if as_json and as_csv:
        raise UsageError("--json and --csv: choose one")
    if desc and sort is None:
        raise UsageError("--desc goes with --sort COLUMN (the default is newest run first)")
    asked = _column_list(columns)
    order = None if sort is None else f"{sort} DESC" if desc else sort
    wanted = list(dict.fromkeys(runs or []))
    with _experiments() as experiments:
        rows, total = _search(experiments, experiment, filter, order, asked, wanted, limit)
    if as_json:
        print_json({"experiment": experiment, "total": total, "runs": [_json(r) for r in rows]})
        return
    names = _columns(rows, asked, whole=as_csv)
    if as_csv:
        _write_csv(rows, names)
        return
    if asked is not None:
        missing = [n for n in names if not any(row.get(n) is not None for row in rows)]
        if rows and missing:
            err.print(f"no run shown has {', '.join(missing)}", markup=False, style="yellow")
    _print_comparison(experiment, rows, names, total)


@app.command()
def delete(
    experiment: ExperimentArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete an experiment and its runs, with what they logged. Pipeline runs that joined
    it stay, out of the experiment (`conveyor runs list`); so do artifacts and models.

    Asks first, unless --yes.

    Example: conveyor experiments delete churn --yes
    """
    with _experiments() as experiments:
        if not yes:
            _confirm(experiments.get(experiment))
        count = experiments.delete(experiment)
    out.print(f"Deleted experiment {experiment} and its {_runs(count)}", markup=False)


# Helpers


def _search(
    experiments: Experiments,
    experiment: str,
    filter: str | None,
    order: str | None,
    columns: list[str] | None,
    wanted: list[str],
    limit: int | None,
) -> tuple[list[dict[str, Any]], int]:
    """The rows to compare, and how many runs matched: the search's, restricted to the runs
    `wanted` (a name the experiment has not is an error), at most `limit` of them."""
    page_size = limit if limit is not None and not wanted else None
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = experiments.search_runs(
            experiment,
            filter=filter,
            order_by=order,
            page_size=page_size,
            page_token=token,
            columns=columns,
        )
        rows += page.runs
        token = page.next_page_token
        if token is None or page_size is not None:
            break
    total = page.total
    if wanted:
        found = {row["run_name"] for row in rows}
        for name in wanted:
            if name not in found:
                experiments.get_run(experiment, name)  # unknown: the library's error
        rows = [row for row in rows if row["run_name"] in wanted]
        total = len(rows)
    return rows[:limit], total


def _column_list(text: str | None) -> list[str] | None:
    """`--columns` as a list; a wildcard must be one of a kind of value (`metric.*`,
    `param.lr_*`)."""
    if text is None:
        return None
    from conveyor.experiments.search import PREFIXES

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError("--columns names no column: give some, as param.*,metric.accuracy")
    for name in names:
        if name.endswith("*") and not name.startswith(PREFIXES):
            raise UsageError(
                f"--columns takes a wildcard only after a prefix: {', '.join(PREFIXES)} "
                f"(param.*), not {name!r}"
            )
    return names


def _columns(rows: list[dict[str, Any]], asked: list[str] | None, *, whole: bool) -> list[str]:
    """The columns after the run's name: those `asked` for, wildcards spread by key; by
    default every column (`whole`, for CSV) or the state and the params and metrics."""
    from conveyor.experiments.search import FIXED_COLUMNS, PREFIXES, check_column

    keys = {key for row in rows for key in row}
    if asked is None:
        fixed = [c for c in FIXED_COLUMNS if c in keys] if whole else ["state"]
        spread = [*PREFIXES] if whole else [*VALUE_PREFIXES]
        asked = [*fixed, *(prefix + "*" for prefix in spread)]
    names: list[str] = []
    for name in asked:
        if name.endswith("*"):
            names += sorted(k for k in keys if k.startswith(name[:-1]))
        else:
            names.append(check_column(name))
    skipped = {"run_name", "experiment_name"}
    return [n for n in dict.fromkeys(names) if n not in skipped]


def _print_comparison(
    experiment: str, rows: list[dict[str, Any]], names: list[str], total: int
) -> None:
    if not rows:
        out.print(f"no runs of experiment {experiment} match", markup=False)
        return
    values = [n for n in names if n != "state"]
    if len(values) > MAX_COLUMNS and len(rows) <= TURN_AT_MOST:
        table = Table("COLUMN", *(row["run_name"] for row in rows), box=None)
        for name in names:
            table.add_row(name, *(_cell(row.get(name)) for row in rows))
        print_table(table)
    else:
        shown = [n for n in names if n == "state" or n in values[:MAX_COLUMNS]]
        table = Table("RUN", *(n.upper() if n == "state" else n for n in shown), box=None)
        for row in rows:
            table.add_row(row["run_name"], *(_cell(row.get(name)) for name in shown))
        print_table(table)
        if len(values) > MAX_COLUMNS:
            out.print(
                f"{MAX_COLUMNS} of {len(values)} columns; --columns chooses them "
                "(param.*,metric.accuracy), --csv and --json have them all",
                markup=False,
                style="dim",
            )
    if total > len(rows):
        out.print(f"{len(rows)} of {total} runs; --limit shows more", markup=False, style="dim")


def _write_csv(rows: list[dict[str, Any]], names: list[str]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["run_name", *names])
    for row in rows:
        writer.writerow([_csv_value(row.get(n)) for n in ["run_name", *names]])


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _cell(value: Any) -> str:
    """A value as tables show it: numbers rounded, times in UTC, nothing as `-`."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, float):
        return rounded(value)
    return str(value)


def _headline(experiment: Experiment) -> str:
    about = f": {experiment.description}" if experiment.description else ""
    return (
        f"experiment {experiment.name}{about}\n  {_runs(experiment.run_count)}, "
        f"created {when(experiment.created_at)} UTC"
    )


def _runs(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'}"


def _confirm(experiment: Experiment) -> None:
    what = f"experiment {experiment.name} and its {_runs(experiment.run_count)}"
    if not _asking():
        raise UsageError(f"deleting {what} needs --yes (or answer the question in a terminal)")
    if not typer.confirm(f"Delete {what}?"):
        raise UsageError(f"kept {what}")


def _asking() -> bool:
    """Whether someone is there to answer: stdin is a terminal."""
    return sys.stdin.isatty()
