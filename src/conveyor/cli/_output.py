"""How every command prints: consoles, tables, JSON, times (in UTC, as tables say)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

STATE_STYLES = {
    "PENDING": "dim",
    "NEW": "dim",
    "RUNNING": "cyan",
    "SUCCEEDED": "green",
    "COMPLETE": "green",
    "CACHED": "blue",
    "SKIPPED": "dim",
    "NOT_TRIGGERED": "yellow",
    "FAILED": "bold red",
    "CANCELLING": "yellow",
    "CANCELLED": "yellow",
    "CANCELED": "yellow",
}
"""Run statuses, task states and execution states, coloured alike in every command."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON, nothing else.")]


def print_table(table: Table) -> None:
    """A table at its natural width: rows stay whole lines when piped to grep or a file."""
    natural = Measurement.get(out, out.options.update(max_width=10_000), table).maximum
    Console(highlight=False, width=max(out.width, natural)).print(table)


def print_whole(renderable: RenderableType) -> None:
    """A tree (or any renderable) at its natural width, however narrow the terminal: paths,
    URIs and ids are never cut or wrapped, so each copies whole from one line."""
    natural = Measurement.get(out, out.options.update(max_width=10_000), renderable).maximum
    Console(highlight=False, width=max(out.width, natural)).print(renderable)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def when(moment: datetime | None) -> str:
    """A moment in UTC, to the second (a time without a zone is UTC, as the store keeps it)."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def rounded(value: Any) -> str:
    """A metric as people read it: integers whole, other numbers to 4 significant digits
    (`0.9123`, `12350`), an exponent only for the very small or large; `--json` keeps
    every digit."""
    if not isinstance(value, float) or not math.isfinite(value):
        return str(value)  # integers (and anything else) as they are
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    magnitude = math.floor(math.log10(abs(value)))
    if not -4 <= magnitude < 15:
        return f"{value:.4g}"
    decimals = 3 - magnitude
    if decimals <= 0:
        return str(int(round(value, decimals)))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def state_text(state: str) -> Text:
    """A state or status in its colour."""
    return Text(str(state), style=STATE_STYLES.get(str(state), ""))


def seconds_text(seconds: float) -> str:
    """A duration as every command shows it: `0.4s`, `2m05s`, `1h02m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
