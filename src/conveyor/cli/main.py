"""The `conveyor` command: thin wrappers that call the library and report.

Every command reaches the library through a home (`conveyor.home`), and a Conveyor
error raised by any of them becomes one line, `error: ...`, and its exit code, here
and nowhere else (`ConveyorCommand`). `run` is defined here; every other command and
group is imported and built only when it is the one invoked (`LAZY`), so that
`conveyor run` does not pay for the others.
"""

from __future__ import annotations

import atexit
import gc
import importlib
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from conveyor.cli._output import err
from conveyor.cli._params import LabelOption, ParamOption, parse_labels, parse_params
from conveyor.cli.following import (
    ExecutorOption,
    OutcomeJsonOption,
    ParallelismOption,
    RayAddressOption,
    chosen_executor,
    follow,
)
from conveyor.config import selecting_env
from conveyor.errors import ConveyorError

LAZY = {
    "runs": "conveyor.cli.runs:app",
    "models": "conveyor.cli.models:app",
    "endpoints": "conveyor.cli.endpoints:app",
    "monitors": "conveyor.cli.monitors:app",
    "experiments": "conveyor.cli.experiments:app",
    "pipelines": "conveyor.cli.pipelines:app",
    "schedules": "conveyor.cli.schedules:app",
    "triggers": "conveyor.cli.triggers:app",
    "env": "conveyor.cli.env:app",
    "serve": "conveyor.cli.serve:serve",
    "ui": "conveyor.cli.ui:ui",
    "lineage": "conveyor.cli.lineage:lineage",
    "ci": "conveyor.cli.ci:ci",
    "scheduler": "conveyor.cli.scheduler:scheduler",
    "run-fire": "conveyor.cli.scheduler:run_fire",
}
"""The commands and groups besides `run`, in the order `--help` lists them: each a Typer
group or a command function, as `module:attribute`."""
HIDDEN = {"run-fire"}
"""What the scheduler starts, not people."""


class ConveyorCommand(TyperGroup):
    """The `conveyor` group: a Conveyor error from any command becomes `error: ...` on
    stderr and the error's exit code (2 for what the user can fix, 1 otherwise). The
    command runs in the environment `--env` chose (`conveyor.config.selecting_env`).
    The commands of `LAZY` are imported and built when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *LAZY]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in LAZY:
            return super().get_command(ctx, name)
        module, _, attribute = LAZY[name].partition(":")
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            return typer.main.get_group(found)
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(name, hidden=name in HIDDEN)(found)
        return typer.main.get_command(single)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            with selecting_env(ctx.params.get("env")):
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
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="NAME",
            help="The environment of conveyor.toml to use (default: CONVEYOR_ENV, else "
            "the file's default_env, else dev).",
        ),
    ] = None,
) -> None:
    """Run Kubeflow Pipelines v2 locally, with the Vertex AI workflow around them."""


@app.command()
def run(
    target: Annotated[
        str,
        typer.Argument(
            help="file.py:pipeline_function, a compiled file.yaml / file.json, or a "
            "registered pipeline: NAME@VERSION, NAME@TAG, NAME@latest (NAME alone: latest)"
        ),
    ],
    param: ParamOption = [],  # noqa: B006 (typer reads the default)
    parallelism: ParallelismOption = None,
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
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Join this experiment (made if new): the run's parameters and its tasks' "
            "Metrics become the experiment run's params and metrics.",
        ),
    ] = None,
    run_name: Annotated[
        str | None,
        typer.Option(help="The run's name (in its experiment: default, the run id)."),
    ] = None,
    label: LabelOption = [],  # noqa: B006 (typer reads the default)
    as_json: OutcomeJsonOption = False,
) -> None:
    """Run a pipeline and wait for it to end.

    Exit code 0 when the run succeeded, 1 when it failed or was cancelled (Ctrl-C or
    SIGTERM: running tasks are stopped), 2 for bad usage or an invalid pipeline.

    Example: conveyor run examples/hello.py:hello_pipeline -p name=World --experiment hello
    """
    arguments = parse_params(param)
    labels = parse_labels(label)
    executor = chosen_executor(executor)
    follow(
        target,
        executor,
        as_json,
        lambda client, listener, log: client.run(
            target,
            arguments,
            parallelism=parallelism,
            enable_caching=False if no_cache else None,
            cache_max_age=cache_max_age,
            cache_by_content=cache_by_content,
            arguments_as_text=True,
            executor=executor,
            ray_address=ray_address,
            listener=listener,
            log=log,
            run_name=run_name,
            labels=labels,
            experiment=experiment,
        ),
    )


COLLECT_AFTER = (100_000, 50, 50)
"""The collector's thresholds in the command (Python's: 700, 10, 10). Starting a run
imports kfp, SQLAlchemy and protobuf, some 400,000 objects that all live to the end, and
at Python's thresholds the collector walks that growing heap again and again while they
load: a tenth of a second of `conveyor run`, for nothing. Young cycles are still collected
every 100,000 allocations, so a long run or a server does not grow by them."""


def main() -> None:
    """Entry point of the `conveyor` command."""
    gc.set_threshold(*COLLECT_AFTER)
    atexit.unregister(_exit_without_collecting)  # registered once, however often called
    atexit.register(_exit_without_collecting)
    app()


def _exit_without_collecting() -> None:
    """Spare the process's end a walk over every object it imported.

    A run holds a large heap (kfp, SQLAlchemy, protobuf), and the interpreter's last
    garbage collections, as it takes its modules down, walk all of it: a fifth of a second
    at the end of `conveyor run`, more than the run of a cached pipeline. Frozen, those
    objects are left to the operating system, as they would be at any exit; what is freed
    by reference counting (files closed, buffers flushed) still is, and every other exit
    handler runs as usual.
    """
    gc.freeze()


if __name__ == "__main__":
    main()
