"""The CLI reference, docs/cli.md, made from the commands' own help.

    .venv/bin/python support/cli_reference.py        # rewrite docs/cli.md

Each command's usage, description (its `--help` text) and arguments and options
with their help and defaults come from the Typer app itself, so the page says what
`--help` says; `tests/cli/test_reference.py` fails when the page falls behind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main

from conveyor.cli.main import app

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"

HEADER = """# Command line reference

Every `conveyor` command, with its arguments and options, as `--help` gives them.
This page is generated from the commands themselves (`python support/cli_reference.py`)
and a test keeps it current. Guides: [pipelines.md](pipelines.md) (`conveyor run`),
[runs.md](runs.md) (runs, caching and lineage), [registry.md](registry.md)
(`conveyor models`), [serving.md](serving.md) (`conveyor endpoints`, `conveyor serve`),
[monitoring.md](monitoring.md) (`conveyor monitors`).

Errors are one line on stderr, starting with `error:`. Exit codes: 0 when the command
did what was asked, 1 when a run it waited for failed or was cancelled, 2 for bad
input (an unknown name, a bad value, an invalid pipeline, a database that is not a
Conveyor store).
"""


def commands(command: Any, ctx: Any) -> Iterator[tuple[Any, Any]]:
    """`command` and every command below it, depth first, in the order `--help` lists them
    (click's objects, which Typer builds and carries a copy of)."""
    yield command, ctx
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from commands(sub, sub.context_class(sub, info_name=name, parent=ctx))


def page() -> str:
    root = typer.main.get_command(app)
    sections = [HEADER]
    for command, ctx in commands(root, root.context_class(root, info_name="conveyor")):
        sections.append(section(command, ctx))
    return "\n".join(sections)


def section(command: Any, ctx: Any) -> str:
    path = ctx.command_path
    level = "#" * min(2 + path.count(" "), 4)
    lines = [
        f"{level} {path}",
        "",
        "```",
        f"{path} {' '.join(command.collect_usage_pieces(ctx))}",
        "```",
        "",
    ]
    if command.help:
        lines += [_plain(command.help), ""]
    rows = [row for param in command.get_params(ctx) if (row := _row(param, ctx))]
    if rows:
        lines += ["| argument or option | meaning |", "| --- | --- |"]
        lines += [f"| `{name}` | {_cell(text)} |" for name, text in rows]
        lines.append("")
    return "\n".join(lines)


def undocumented() -> list[str]:
    """Commands and options that have no help text."""
    root = typer.main.get_command(app)
    missing = []
    for command, ctx in commands(root, root.context_class(root, info_name="conveyor")):
        if not command.help:
            missing.append(ctx.command_path)
        for param in command.get_params(ctx):
            if param.name != "help" and not getattr(param, "help", None):
                missing.append(f"{ctx.command_path} {param.name}")
    return missing


def _row(param: Any, ctx: Any) -> tuple[str, str] | None:
    """What `--help` lists for an argument or option: its name or flags, its help."""
    if param.name == "help":
        return None
    record = param.get_help_record(ctx)
    return (record[0], record[1]) if record else None


def _plain(text: str) -> str:
    """A docstring's paragraphs, with Typer's `\\b` (keep lines as they are) markers dropped."""
    return "\n".join(line for line in text.strip().splitlines() if line.strip() != "\b")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    PAGE.write_text(page())
    print(f"wrote {PAGE}", file=sys.stderr)
