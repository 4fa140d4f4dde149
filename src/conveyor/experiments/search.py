"""Searching the runs of experiments: a filter, an order, pages and a projection of columns.

A run is a row of columns: `experiment_name`, `run_name`, `run_type`, `state`,
`start_time`, `end_time`, `pipeline_run`, and `param.KEY`, `metric.KEY`,
`time_series_metric.KEY`, `label.KEY` for what was logged. A filter is clauses joined by
`and`:

    metric.accuracy >= 0.9 and param.model = "tree" and state = "COMPLETE"

each `COLUMN OP VALUE` with OP one of `=`, `!=`, `<`, `<=`, `>`, `>=`, and VALUE a number or a
quoted string; a key with other characters than letters, digits, `_`, `-`, `.` and `/` is
quoted with backticks (`` metric.`f1 score` ``). Numbers compare as numbers (a param logged
as text `"0.1"` equals `0.1`); a run without the column matches no clause on it. An order is
columns, each optionally followed by `ASC` or `DESC`; runs without the column sort last.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.experiments.errors import ExperimentUsageError
from conveyor.experiments.records import ExperimentRun, RunPage

FIXED_COLUMNS = (
    "experiment_name",
    "run_name",
    "run_type",
    "state",
    "start_time",
    "end_time",
    "pipeline_run",
)
PREFIXES = ("param.", "metric.", "time_series_metric.", "label.")
MAX_PAGE_SIZE = 10_000
"""The most runs one page holds when a page size is given (the REST API always gives one);
without one, a search returns every run that matches."""

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_CLAUSE = re.compile(
    r"""\s*(?P<column>[A-Za-z_]+(?:\.(?:`[^`]+`|[\w./-]+))?)\s*
        (?P<op>!=|<=|>=|=|<|>)\s*
        (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
        \s*(?:(?P<and>and|AND)\b|$)""",
    re.VERBOSE,
)


def row_of(run: ExperimentRun) -> dict[str, Any]:
    """A run as a row of columns."""
    row: dict[str, Any] = {
        "experiment_name": run.experiment,
        "run_name": run.run_name,
        "run_type": run.run_type,
        "state": run.state.value,
        "start_time": run.created_at,
        "end_time": run.ended_at,
        "pipeline_run": run.pipeline_run,
    }
    for prefix, values in (
        ("param.", run.params),
        ("metric.", run.metrics),
        ("time_series_metric.", run.time_series_metrics),
        ("label.", run.labels),
    ):
        for key, value in values.items():
            row[prefix + key] = value
    return row


@dataclass(frozen=True)
class Clause:
    column: str
    op: str
    value: Any

    def matches(self, row: dict[str, Any]) -> bool:
        if self.column not in row or row[self.column] is None:
            return False
        have, want = _comparable(row[self.column], self.value)
        try:
            return _OPS[self.op](have, want)
        except TypeError:  # a number against text: only `!=` holds
            return self.op == "!="


def parse_filter(text: str | None) -> list[Clause]:
    """The clauses of a filter; a clear error naming the part that cannot be read."""
    if text is None or not text.strip():
        return []
    clauses, at = [], 0
    while at < len(text):
        found = _CLAUSE.match(text, at)
        if found is None:
            raise ExperimentUsageError(
                f"cannot read the filter from {text[at:].strip()!r}: write clauses like "
                '`metric.accuracy >= 0.9 and param.model = "tree"`'
            )
        column = check_column(found["column"])
        clauses.append(Clause(column, found["op"], _literal(found["value"])))
        at = found.end()
        if found["and"] is None:
            break
        if at >= len(text.rstrip()):
            raise ExperimentUsageError(f"the filter {text!r} ends with `and`")
    return clauses


def check_column(column: str) -> str:
    """A column's name, with any backticks of its key taken off."""
    column = re.sub(r"`([^`]+)`", r"\1", column)
    if column in FIXED_COLUMNS or any(
        column.startswith(prefix) and len(column) > len(prefix) for prefix in PREFIXES
    ):
        return column
    raise ExperimentUsageError(
        f"no column {column!r}: use {', '.join(FIXED_COLUMNS)}, or param.KEY, metric.KEY, "
        "time_series_metric.KEY, label.KEY"
    )


def parse_order(order_by: Sequence[str] | str | None) -> list[tuple[str, bool]]:
    """(column, descending) pairs; the default order is the newest run first."""
    if not order_by:
        return [("start_time", True)]
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    parsed = []
    for item in items:
        words = item.strip().rsplit(None, 1)
        descending = False
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC"):
            descending = words[1].upper() == "DESC"
            item = words[0]
        parsed.append((check_column(item.strip()), descending))
    return parsed


def search(
    runs: Iterable[ExperimentRun],
    *,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    columns: Sequence[str] | None = None,
) -> RunPage:
    """One page of the rows of `runs` that match `filter`, in `order_by` order, with only
    the `columns` asked for (names, or prefixes ending in `*` such as `metric.*`); every
    row when `page_size` is None."""
    clauses = parse_filter(filter)
    order = parse_order(order_by)
    offset = _offset(page_token)
    rows = [row for row in map(row_of, runs) if all(c.matches(row) for c in clauses)]
    size = _page_size(page_size) if page_size is not None else max(len(rows), 1)
    for column, descending in reversed(order):  # stable sorts, last key first
        present = [row for row in rows if row.get(column) is not None]
        missing = [row for row in rows if row.get(column) is None]
        present.sort(key=lambda row, c=column: _sort_key(row[c]), reverse=descending)
        rows = present + missing
    page = rows[offset : offset + size]
    if columns is not None:
        keep = _projection(columns)
        page = [{k: v for k, v in row.items() if keep(k)} for row in page]
    following = offset + size
    token = _token(following) if following < len(rows) else None
    return RunPage(runs=page, total=len(rows), next_page_token=token)


def _projection(columns: Sequence[str]) -> Callable[[str], bool]:
    exact, prefixes = {"experiment_name", "run_name"}, []
    for column in columns:
        if column.endswith("*"):
            prefixes.append(column[:-1])
        else:
            exact.add(check_column(column))
    return lambda name: name in exact or any(name.startswith(p) for p in prefixes)


def _literal(text: str) -> Any:
    if text[0] in "\"'":
        return json.loads('"' + text[1:-1].replace("\\" + text[0], text[0]) + '"')
    value = float(text)
    return (
        int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    )


def _comparable(have: Any, want: Any) -> tuple[Any, Any]:
    """Both as numbers when both read as numbers (params logged as text by MLflow)."""
    if hasattr(have, "isoformat"):
        return have.isoformat(), want
    a, b = _as_number(have), _as_number(want)
    if a is not None and b is not None:
        return a, b
    return have, want


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _sort_key(value: Any) -> tuple[int, Any]:
    number = _as_number(value)
    if number is not None:
        return (0, -math.inf if math.isnan(number) else number)
    return (1, value.isoformat() if hasattr(value, "isoformat") else str(value))


def _page_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise ExperimentUsageError(f"page_size must be from 1 to {MAX_PAGE_SIZE}, not {size!r}")
    return size


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, TypeError, KeyError, binascii.Error):
        pass
    raise ExperimentUsageError(
        f"page_token {token!r} is not one a search returned; start again without it"
    )
