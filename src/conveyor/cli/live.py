"""The live view of a run in the terminal: a task tree with states and durations.

Loop iterations are folded into their loop's line ("7/32 done") and shown one
by one only while they run or when they failed, so a wide fan-out stays
readable. Without a terminal (or when a debugger may take it: `--executor inline`),
one line is printed per finished task instead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from conveyor.pipelines.state import FINISHED, RUNNING, Node

STYLES = {
    "PENDING": "dim",
    "RUNNING": "cyan",
    "SUCCEEDED": "green",
    "CACHED": "blue",
    "SKIPPED": "dim",
    "NOT_TRIGGERED": "yellow",
    "FAILED": "bold red",
    "CANCELLED": "yellow",
}
_ITERATION = re.compile(r"\[\d+\]")


def duration(node: Node) -> str:
    if node.started is None:
        return ""
    end = node.finished or datetime.now(UTC)
    seconds = (end - node.started).total_seconds()
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class LiveView:
    """Receives engine events and draws them."""

    def __init__(self, console: Console, title: str, *, live: bool = True) -> None:
        self.console = console
        self.title = title
        self.nodes: dict[str, Node] = {}
        self.live: Live | None = None
        if live and console.is_terminal:
            self.live = Live(console=console, refresh_per_second=8, transient=False)
            self.live.update(self._render())

    def __enter__(self) -> LiveView:
        if self.live:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.live.update(self._render(), refresh=True)
            self.live.stop()

    def __call__(self, node: Node) -> None:
        self.nodes[node.key] = node
        if self.live:
            self.live.update(self._render())
        elif node.status in FINISHED and not node.is_dag:
            self.console.print(
                f"{node.key}: [{STYLES.get(node.status, '')}]{node.status}[/] {duration(node)}",
                highlight=False,
            )

    def _render(self) -> Group:
        table = Table.grid(padding=(0, 2))
        table.add_column()
        table.add_column()
        table.add_column(justify="right")
        for node in self.nodes.values():
            if not self._shown(node):
                continue
            depth = node.key.count("/")
            label = Text("  " * depth + node.display_name)
            if node.is_loop:
                done = sum(1 for c in node.children if self._scope_done(c.key))
                label.append(f"  {done}/{len(node.children)} iterations", style="dim")
            elif _ITERATION.search(node.key):
                label.append(f"  {node.key.rsplit('/', 1)[0].rsplit('/', 1)[-1]}", style="dim")
            state: Text | Spinner = Text(node.status, style=STYLES.get(node.status, ""))
            if node.status == RUNNING and not node.is_dag:
                state = Spinner("dots", text=Text(node.status, style="cyan"))
            table.add_row(label, state, duration(node))
        return Group(Text(self.title, style="bold"), table)

    def _shown(self, node: Node) -> bool:
        if not _ITERATION.search(node.key):
            return True
        return node.status in {RUNNING, "FAILED"} and not node.is_dag

    def _scope_done(self, scope_key: str) -> bool:
        prefix = scope_key + "/"
        inner = [n for k, n in self.nodes.items() if k.startswith(prefix)]
        return bool(inner) and all(n.status in FINISHED for n in inner)
