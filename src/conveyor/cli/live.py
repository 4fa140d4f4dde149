"""The live view of a run in the terminal: a task tree with states and durations.

Loop iterations are folded into their loop's line ("7/32 iterations") and shown one
by one only while they run or when they failed, so a wide fan-out stays
readable. The tree is drawn again several times a second, so durations and the
run's elapsed time advance while tasks run; Python warnings and log records that
arrive meanwhile are printed above it, through the same console, rather than
into it. Without a terminal (CI logs, a pipe) or when a debugger may take it
(`--executor inline`), one line is printed as each task starts and ends instead,
with the time in UTC: `12:01:05 train SUCCEEDED 2.1s`.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from conveyor.cli._output import seconds_text, state_text
from conveyor.pipelines.state import (
    CANCELLING,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    Node,
    label,
)

_ITERATION = re.compile(r"\[\d+\]")
_LAST_ITERATION = re.compile(r"\[\d+\]$")

Clock = Callable[[], datetime]


def duration(node: Node, now: datetime | None = None) -> str:
    """How long a task ran, or has been running until `now`; '' before it started."""
    if node.started is None:
        return ""
    end = node.finished or now or datetime.now(UTC)
    return seconds_text((end - node.started).total_seconds())


class LiveView:
    """Receives engine events (from the engine's thread) and draws them."""

    def __init__(
        self, console: Console, title: str, *, live: bool = True, clock: Clock | None = None
    ) -> None:
        self.console = console
        self.title = title
        self.clock = clock or (lambda: datetime.now(UTC))
        self.began = self.clock()
        self.nodes: dict[str, Node] = {}
        self._lock = threading.Lock()
        """Guards `nodes`: the engine adds to it while the refresh thread draws it."""
        self._printed: dict[str, str] = {}
        """The state last printed for each task, without a terminal."""
        self._capture = _OutputCapture(console)
        self.live: Live | None = None
        if live and console.is_terminal:
            self.live = Live(
                console=console,
                refresh_per_second=8,
                transient=False,
                get_renderable=self.render,
            )

    def __enter__(self) -> LiveView:
        if self.live:
            self.live.start()
            self._capture.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self._capture.stop()
            self.live.refresh()
            self.live.stop()

    def __call__(self, node: Node) -> None:
        with self._lock:
            self.nodes[node.key] = node
        if not self.live:
            self._print_line(node)

    # -- without a terminal: a line per start and end ------------------------------

    def _print_line(self, node: Node) -> None:
        """One line when a task starts running or ends (a group: when it ends)."""
        status = node.status
        if status == PENDING or (status == RUNNING and node.is_dag):
            return
        if self._printed.get(node.key) == status:
            return
        self._printed[node.key] = status
        moment = self.clock().astimezone(UTC)  # UTC, as every time Conveyor prints
        display = node.display_name if node.display_name != node.name else None
        line = Text.assemble(
            f"{moment:%H:%M:%S} {label(node.key, display)} ",
            state_text(status),
        )
        if status in FINISHED and node.started is not None:
            line.append(f" {duration(node, self.clock())}")
        self.console.print(line, highlight=False, soft_wrap=True)

    # -- in a terminal: the tree ---------------------------------------------------

    def render(self) -> Group:
        """The tree as it is now: durations of running tasks, and the run's, count on."""
        now = self.clock()
        with self._lock:
            nodes = list(self.nodes.values())
        table = Table.grid(padding=(0, 2))
        table.add_column()
        table.add_column()
        table.add_column(justify="right")
        done = _iterations_done(nodes)
        for node in _tree_order(nodes):
            if self._shown(node):
                table.add_row(self._label(node, done), self._state(node), duration(node, now))
        elapsed = seconds_text((now - self.began).total_seconds())
        title = Text.assemble((self.title, "bold"), "  ", (elapsed, "dim"))
        return Group(title, table)

    def _label(self, node: Node, done: dict[str, bool]) -> Text:
        depth = node.key.count("/")
        text = Text("  " * depth + label(node.name, node.display_name))
        if node.is_loop:
            children = list(node.children)
            finished = sum(1 for c in children if done.get(c.key, False))
            text.append(f"  {finished}/{len(children)} iterations", style="dim")
        elif _ITERATION.search(node.key):
            text.append(f"  {node.key.rsplit('/', 1)[0].rsplit('/', 1)[-1]}", style="dim")
        return text

    @staticmethod
    def _state(node: Node) -> Text | Spinner:
        if node.status == RUNNING and not node.is_dag:
            return Spinner("dots", text=state_text(node.status))
        return state_text(node.status)

    @staticmethod
    def _shown(node: Node) -> bool:
        if not _ITERATION.search(node.key):
            return True
        return node.status in {RUNNING, CANCELLING, FAILED} and not node.is_dag


def _tree_order(nodes: list[Node]) -> list[Node]:
    """Tasks in the order the tree draws them: each group's tasks right under it (a loop
    iteration's under its loop), siblings in the order they appeared."""
    children: dict[str, list[Node]] = {}
    for node in nodes:
        children.setdefault(_group_of(node.key), []).append(node)
    ordered: list[Node] = []
    stack = list(reversed(children.pop("", [])))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(children.pop(node.key, [])))
    return ordered + [n for rest in children.values() for n in rest]  # none, unless orphaned


def _group_of(key: str) -> str:
    """The key of the group a task is drawn under: `a/loop[2]/task` under `a/loop`."""
    parent = key.rsplit("/", 1)[0] if "/" in key else ""
    return _LAST_ITERATION.sub("", parent)


def _iterations_done(nodes: list[Node]) -> dict[str, bool]:
    """Each loop iteration with tasks (`loop[3]`) and whether all of them, at any depth,
    finished: one pass over the tasks, as the tree is drawn several times a second."""
    done: dict[str, bool] = {}
    for node in nodes:
        finished = node.status in FINISHED
        scope = node.key
        while "/" in scope:
            scope = scope.rsplit("/", 1)[0]
            if scope.endswith("]"):
                done[scope] = done.get(scope, True) and finished
    return done


class _OutputCapture:
    """Python warnings and log records, printed through the live console while the view
    is up. Written straight to the terminal, they would land inside the live region and
    leave broken copies of the tree behind; through the console, they appear above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.handler = _ConsoleHandler(console)
        self._showwarning: Callable[..., None] | None = None
        self._set_aside: list[logging.Handler] = []

    def start(self) -> None:
        """Take over `warnings.showwarning`, and the root logger's handlers that write to
        a terminal (the console's handler writes in their stead, at their level)."""
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._warning
        root = logging.getLogger()
        self._set_aside = [h for h in root.handlers if _writes_to_terminal(h)]
        for handler in self._set_aside:
            root.removeHandler(handler)
        self.handler.setLevel(min((h.level for h in self._set_aside), default=logging.WARNING))
        root.addHandler(self.handler)

    def stop(self) -> None:
        """Give warnings and logging back as they were."""
        if self._showwarning is not None:
            warnings.showwarning = self._showwarning
            self._showwarning = None
        root = logging.getLogger()
        root.removeHandler(self.handler)
        for handler in self._set_aside:
            root.addHandler(handler)
        self._set_aside = []

    def _warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        text = f"warning: {category.__name__}: {message} ({filename}:{lineno})"
        self.console.print(Text(text, style="yellow"), highlight=False)


class _ConsoleHandler(logging.Handler):
    """Log records as one line each, through the live console."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.levelname.lower()}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:
            self.handleError(record)
            return
        style = "yellow" if record.levelno >= logging.WARNING else "dim"
        # A styled Text, not print(style=): that style would tint the tree drawn below.
        self.console.print(Text(text, style=style), highlight=False)


def _writes_to_terminal(handler: logging.Handler) -> bool:
    stream: Any = getattr(handler, "stream", None)
    if not isinstance(handler, logging.StreamHandler) or stream is None:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
