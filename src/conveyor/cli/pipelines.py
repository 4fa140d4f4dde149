"""`conveyor pipelines`: the pipeline registry from the command line; thin calls to
`PipelineRegistry`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from conveyor.cli._output import JsonOption, out, print_json, print_table, when
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry
    from conveyor.automation.records import PipelineVersionRecord, RegisteredPipelineRecord

app = typer.Typer(
    name="pipelines",
    help="The pipeline registry: upload pipeline versions, tag them, run them by name.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)


@contextmanager
def _registry() -> Iterator[PipelineRegistry]:
    """The pipeline registry of the environment's home (imported when a command runs:
    `--help` stays quick)."""
    from conveyor.home import open_home

    with open_home() as home:
        yield home.pipelines


@app.command()
def upload(
    name: Annotated[str, typer.Argument(help="The pipeline's name; created by its first upload.")],
    target: Annotated[
        str,
        typer.Argument(help="file.py:pipeline_function, or a compiled file.yaml / file.json."),
    ],
    tag: Annotated[
        list[str], typer.Option("--tag", "-t", help="A tag to put on the version (repeat it).")
    ] = [],  # noqa: B006 (typer reads the default)
    description: Annotated[str | None, typer.Option(help="What this version is.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a pipeline as the next version of NAME.

    The pipeline is compiled and checked as `conveyor run` checks it. If its spec is
    the latest version's, no version is made: the tags move to the latest.

    Example: conveyor pipelines upload hello examples/hello.py:hello_pipeline --tag prod
    """
    with _registry() as registry:
        version = registry.upload(name, target, tags=tag, description=description)
    if as_json:
        print_json(version.to_json())
    elif version.created:
        out.print(
            f"Registered {version.reference} [{_tags(version.tags)}] from {target} "
            f"(spec sha256 {version.spec_digest[:12]})",
            markup=False,
        )
    else:
        out.print(
            f"{version.reference} [{_tags(version.tags)}] has this spec already; no new version",
            markup=False,
        )


@app.command("list")
def list_pipelines(as_json: JsonOption = False) -> None:
    """List the registered pipelines with their latest version and tags.

    Example: conveyor pipelines list --json
    """
    with _registry() as registry:
        found = registry.list()
    if as_json:
        print_json([p.to_json() for p in found])
        return
    if not found:
        out.print("No pipelines yet: `conveyor pipelines upload NAME TARGET` adds one.")
        return
    table = Table("NAME", "LATEST", "TAGS", "UPDATED (UTC)", "DESCRIPTION", box=None)
    for p in found:
        table.add_row(
            p.name,
            str(p.latest_version or "-"),
            _tag_map(p.tags),
            when(p.updated_at),
            p.description or "",
        )
    print_table(table)


@app.command()
def show(
    reference: Annotated[str, typer.Argument(help="NAME, NAME@VERSION, NAME@TAG or NAME@latest.")],
    with_spec: Annotated[
        bool, typer.Option("--spec", help="Print the version's compiled spec (JSON).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a pipeline and its versions, or one version with its default parameters.

    --spec prints the compiled spec of the version named (of the latest for a bare
    NAME), as JSON, alone or in --json's output.

    Example: conveyor pipelines show hello@prod --spec
    """
    from conveyor.automation.references import parse_pipeline_reference

    whole = "@" not in reference
    name = parse_pipeline_reference(reference).pipeline
    with _registry() as registry:
        if whole:
            pipeline = registry.get(name)
            versions = registry.versions(name)
        else:
            version = registry.resolve(reference)
        spec = dict(registry.spec(reference)) if with_spec else None
    if with_spec and not as_json:
        print_json(spec)
    elif as_json:
        shown = (
            {**pipeline.to_json(), "versions": [v.to_json() for v in versions]}
            if whole
            else version.to_json()
        )
        print_json({**shown, "spec": spec} if with_spec else shown)
    elif whole:
        _show_pipeline(pipeline, versions)
    else:
        _show_version(version)


@app.command()
def versions(
    name: Annotated[str, typer.Argument(help="The pipeline.")],
    as_json: JsonOption = False,
) -> None:
    """List a pipeline's versions, newest first.

    Example: conveyor pipelines versions hello
    """
    with _registry() as registry:
        found = registry.versions(name)
    if as_json:
        print_json([v.to_json() for v in found])
    else:
        _versions_table(found)


@app.command("tag")
def set_tag(
    reference: Annotated[
        str, typer.Argument(help="The version: NAME@VERSION, NAME@TAG or NAME@latest.")
    ],
    tag: Annotated[str, typer.Argument(help="The tag, such as prod.")],
    as_json: JsonOption = False,
) -> None:
    """Put a tag on a version, moving it from the version that held it.

    Schedules and `conveyor run NAME@TAG` follow the tag to its new version.

    Example: conveyor pipelines tag hello@3 prod
    """
    with _registry() as registry:
        version = registry.tag(reference, tag)
    if as_json:
        print_json(version.to_json())
    else:
        out.print(f"{version.reference} now holds {tag}", markup=False)


@app.command()
def untag(
    name: Annotated[str, typer.Argument(help="The pipeline.")],
    tag: Annotated[str, typer.Argument(help="The tag to remove.")],
) -> None:
    """Remove a tag from the version holding it.

    Example: conveyor pipelines untag hello canary
    """
    with _registry() as registry:
        registry.untag(name, tag)
    out.print(f"Removed {tag} from pipeline {name}", markup=False)


@app.command()
def delete(
    reference: Annotated[str, typer.Argument(help="NAME (the whole pipeline) or NAME@VERSION.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete a whole pipeline without asking.")
    ] = False,
) -> None:
    """Delete a version, or a whole pipeline with all its versions and tags.

    Runs of them stay, with their specs. A version or pipeline a schedule or a
    trigger uses cannot be deleted. Deleting a whole pipeline asks first, unless --yes.

    Example: conveyor pipelines delete hello@2
    """
    from conveyor.automation.references import parse_pipeline_reference

    ref = parse_pipeline_reference(reference)
    if "@" in reference and ref.version is None:
        raise UsageError(
            f"reference: name the version to delete by its number, as in "
            f"`conveyor pipelines delete {ref.pipeline}@3`"
        )
    with _registry() as registry:
        if ref.version is None:
            _confirm(registry.get(ref.pipeline), yes)
        registry.delete(ref.pipeline, ref.version)
    if ref.version is None:
        out.print(f"Deleted pipeline {ref.pipeline} and its versions", markup=False)
    else:
        out.print(f"Deleted {ref.pipeline}@{ref.version}", markup=False)


# Helpers


def _confirm(pipeline: RegisteredPipelineRecord, yes: bool) -> None:
    if yes:
        return
    what = f"pipeline {pipeline.name} and all its versions"
    if not sys.stdin.isatty():
        raise UsageError(f"deleting {what} needs --yes (or answer the question in a terminal)")
    if not typer.confirm(f"Delete {what}?"):
        raise UsageError(f"kept {what}")


def _tags(tags: list[str]) -> str:
    return ", ".join(tags) if tags else "no tags"


def _tag_map(tags: dict[str, int]) -> str:
    return ", ".join(f"{t}={v}" for t, v in tags.items()) or "-"


def _show_pipeline(
    pipeline: RegisteredPipelineRecord, versions: list[PipelineVersionRecord]
) -> None:
    out.print(f"Pipeline {pipeline.name}", style="bold", markup=False)
    if pipeline.description:
        out.print(f"  {pipeline.description}", markup=False)
    out.print(f"  tags: {_tag_map(pipeline.tags)}", markup=False)
    out.print(
        f"  created {when(pipeline.created_at)} UTC by {pipeline.created_by}, "
        f"updated {when(pipeline.updated_at)} UTC",
        markup=False,
    )
    if not versions:
        out.print("  no versions (upload one with `conveyor pipelines upload`)", markup=False)
        return
    _versions_table(versions)


def _versions_table(versions: list[PipelineVersionRecord]) -> None:
    table = Table("VERSION", "TAGS", "CREATED (UTC)", "BY", "SPEC", "SOURCE", box=None)
    for v in versions:
        table.add_row(
            str(v.version),
            ", ".join(v.tags),
            when(v.created_at),
            v.created_by,
            v.spec_digest[:12],
            v.source or "",
        )
    print_table(table)


def _show_version(version: PipelineVersionRecord) -> None:
    out.print(f"Version {version.reference}", style="bold", markup=False)
    rows = [
        ("tags", _tags(version.tags)),
        ("description", version.description or ""),
        ("source", version.source or ""),
        ("spec sha256", version.spec_digest),
        ("created", f"{when(version.created_at)} UTC by {version.created_by}"),
    ]
    for key, value in rows:
        if value:
            out.print(f"  {key + ':':<13} {value}", markup=False)
    if version.default_parameters:
        out.print("  default parameters:")
        for name, value in version.default_parameters.items():
            out.print(f"    {name} = {value!r}", markup=False)
