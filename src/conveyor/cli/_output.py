"""How every command prints: consoles, tables, JSON, times (in UTC, as tables say)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON, nothing else.")]


def print_table(table: Table) -> None:
    """A table at its natural width: rows stay whole lines when piped to grep or a file."""
    natural = Measurement.get(out, out.options.update(max_width=10_000), table).maximum
    Console(highlight=False, width=max(out.width, natural)).print(table)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def when(moment: datetime | None) -> str:
    """A moment in UTC, to the second (a time without a zone is UTC, as the store keeps it)."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
