"""The `conveyor` command: thin wrappers that call the library and report.

Every command reaches the library through a home (`conveyor.home`), and a Conveyor
error raised by any of them becomes one line, `error: ...`, and its exit code, here
and nowhere else (`ConveyorCommand`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from conveyor.cli import lineage, runs, serve
from conveyor.cli._output import err, print_json
from conveyor.cli._signals import terminate_as_interrupt
from conveyor.cli.endpoints import app as endpoints_app
from conveyor.cli.models import app as models_app
from conveyor.errors import ConveyorError, UsageError


class ConveyorCommand(TyperGroup):
    """The `conveyor` group: a Conveyor error from any command becomes `error: ...` on
    stderr and the error's exit code (2 for what the user can fix, 1 otherwise)."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConveyorError as exc:
            err.print(f"error: {exc}", style="red", highlight=False, markup=False)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="conveyor",
    cls=ConveyorCommand,
    help="Run Kubeflow Pipelines v2 locally, with the Vertex AI workflow around them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        print(f"conveyor {version('conveyor')}")
        raise typer.Exit()


@app.callback()
def _group(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Run Kubeflow Pipelines v2 locally, with the Vertex AI workflow around them."""


app.add_typer(runs.app)
app.add_typer(models_app)
app.add_typer(endpoints_app)
app.command("serve")(serve.serve)
app.command("lineage")(lineage.lineage)


def _parse_params(values: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-p takes name=value, got {item!r}")
        params[name.strip()] = value
    return params


@app.command()
def run(
    target: Annotated[
        str, typer.Argument(help="file.py:pipeline_function, or a compiled file.yaml / file.json")
    ],
    param: Annotated[
        list[str], typer.Option("--param", "-p", help="A pipeline parameter, as name=value.")
    ] = [],  # noqa: B006 (typer reads the default)
    parallelism: Annotated[
        int | None, typer.Option(help="Tasks run at once (default: one per CPU).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every task, reusing no cached result.")
    ] = False,
    cache_max_age: Annotated[
        str | None,
        typer.Option(help="Ignore cache entries older than this (30m, 12h, 7d)."),
    ] = None,
    cache_by_content: Annotated[
        bool,
        typer.Option(help="Identify input artifacts by their sha256 in cache keys, not their URI."),
    ] = False,
    executor: Annotated[
        str,
        typer.Option(
            help="local: Python components in warm worker processes; inline: in this "
            "process, one at a time, for a debugger."
        ),
    ] = "local",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the outcome as one JSON object, nothing else.")
    ] = False,
) -> None:
    """Run a pipeline and wait for it to end.

    Exit code 0 when the run succeeded, 1 when it failed or was cancelled (Ctrl-C or
    SIGTERM: running tasks are stopped), 2 for bad usage or an invalid pipeline.

    Example: conveyor run examples/hello.py:hello_pipeline -p name=World
    """
    from conveyor.cli.live import LiveView
    from conveyor.client import Client

    arguments = _parse_params(param)
    console = Console(stderr=as_json, quiet=as_json)
    view = LiveView(console, f"{target}", live=executor != "inline")
    with Client() as client, view, terminate_as_interrupt():
        outcome = client.run(
            target,
            arguments,
            parallelism=parallelism,
            enable_caching=False if no_cache else None,
            cache_max_age=cache_max_age,
            cache_by_content=cache_by_content,
            arguments_as_text=True,
            executor=executor,
            listener=view,
            log=lambda line: console.print(f"[dim]{line}[/]"),
        )
    if as_json:
        print_json(outcome.to_json())
    else:
        _report(console, outcome)
    raise typer.Exit(0 if outcome.status == "SUCCEEDED" else 1)


def _report(console: Console, outcome) -> None:
    style = {"SUCCEEDED": "green", "FAILED": "red"}.get(outcome.status, "yellow")
    console.print(f"run [bold]{outcome.run_id}[/]: [{style}]{outcome.status}[/]", highlight=False)
    for name, value in outcome.outputs.items():
        console.print(
            f"  {name} = {value!r}" if not isinstance(value, str) else f"  {name} = {value}",
            highlight=False,
            markup=False,
        )
    if outcome.error:
        console.print(outcome.error, style="red", highlight=False, markup=False)


def main() -> None:
    """Entry point of the `conveyor` command."""
    app()


if __name__ == "__main__":
    main()
