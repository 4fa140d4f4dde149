"""`conveyor ci`: check a repository of pipelines and upload the changed ones; a thin call
to `conveyor.automation.ci`, reported as a table, JSON or JUnit XML."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from conveyor.cli._output import JsonOption, err, out, print_json, print_table
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.automation.ci import Progress, Report
    from conveyor.automation.records import PipelineVersionRecord

RESULT_STYLES = {"passed": "green", "failed": "bold red", "skipped": "dim"}


def ci(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders of pipelines, searched recursively [default: .].",
            show_default=False,
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write the report as JUnit XML to this file."),
    ] = None,
    upload: Annotated[
        bool,
        typer.Option(
            "--upload",
            help="When every check passes, upload each new or changed pipeline as a new "
            "version of the home's pipeline registry.",
        ),
    ] = False,
    tag: Annotated[
        str | None,
        typer.Option(
            help="With --upload: move this tag (prod) to each pipeline's latest version, "
            "uploaded or unchanged."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a repository of pipelines: compile, tests, a sample run, a diff.

    Each @dsl.pipeline function found under PATHS (or listed in conveyor.toml's [ci]
    pipelines) is compiled and validated, run once with its CI profile's parameters in a
    throwaway home (checking the profile's outputs appear), and compared with the latest
    registered version of its name. The repository's tests/ run once with pytest. Exit
    code 0 when every check passed, 1 when one failed (then nothing is uploaded), 2 for
    bad usage: no such path, a bad conveyor.toml, no pipeline found.

    Example: conveyor ci --junit report.xml && conveyor ci --upload --tag prod
    """
    from conveyor.automation import ci as checks
    from conveyor.automation import junit as junit_xml
    from conveyor.automation.ci_targets import find_repositories
    from conveyor.automation.pipelines import check_tag
    from conveyor.home import open_home
    from conveyor.pipelines.executors.python import start_workers

    if tag is not None:
        if not upload:
            raise UsageError("--tag moves a tag as pipelines are uploaded: add --upload")
        check_tag(tag, "--tag")
    if junit is not None and not junit.resolve().parent.is_dir():
        raise UsageError(f"--junit: no such folder: {junit.parent}")
    repositories = find_repositories(paths or [Path(".")])
    start_workers()  # forked before a store opens (the runs' Python components)
    with open_home() as home, _progress() as progress:
        report = checks.check(
            repositories,
            registry=home.pipelines,
            open_home=lambda settings: open_home(settings=settings),
            progress=progress,
        )
        uploads = checks.upload(report, home.pipelines, tag=tag) if upload and report.ok else []
    if junit is not None:
        junit_xml.write(report, junit)
    if as_json:
        print_json({**report.to_json(), "uploads": [u.to_json() for u in uploads]})
    else:
        _print(report, uploads)
    if upload and not report.ok:
        err.print("nothing uploaded: a check failed", style="red", highlight=False)
    raise typer.Exit(0 if report.ok else 1)


@contextmanager
def _progress() -> Iterator[Progress | None]:
    """Which pipeline and check run now, on stderr when it is a terminal."""
    if not err.is_terminal:
        yield None
        return
    with err.status("conveyor ci: starting") as status:
        yield lambda pipeline, check: status.update(f"conveyor ci: {pipeline}: {check}")


def _print(report: Report, uploads: list[PipelineVersionRecord]) -> None:
    table = Table("pipeline", "check", "result", "detail")
    for result in report.checks:
        table.add_row(
            result.pipeline,
            result.check,
            Text(result.result, style=RESULT_STYLES[result.result]),
            Text(result.detail.splitlines()[0] if result.detail else ""),
        )
    print_table(table)
    for result in report.failed:
        more = result.output or (result.detail if "\n" in result.detail else None)
        if more:
            out.print(f"\n{result.pipeline} ({result.check}):", style="bold", highlight=False)
            out.print(more, markup=False, highlight=False)
    counts = {r: sum(c.result == r for c in report.checks) for r in RESULT_STYLES}
    out.print(
        f"{len(report.checks)} checks: "
        + ", ".join(f"{n} {r}" for r, n in counts.items() if n or r == "failed"),
        style="green" if report.ok else "red",
        highlight=False,
    )
    for record in uploads:
        what = "uploaded" if record.created else "unchanged:"
        tags = f" (tags: {', '.join(record.tags)})" if record.tags else ""
        out.print(f"{what} {record.reference}{tags}", highlight=False, markup=False)
