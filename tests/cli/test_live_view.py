"""The live view of `conveyor run`: its timers advance, warnings and log records print
above the tree instead of breaking it, and without a terminal it prints a line as each
task starts and ends."""

import io
import itertools
import logging
import re
import time
import warnings
from datetime import UTC, datetime, timedelta

from rich.console import Console

from conveyor.cli.live import LiveView
from conveyor.pipelines.state import FAILED, RUNNING, SUCCEEDED, Node, Scope

START = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def task(name: str, display: str | None = None) -> Node:
    info = {"name": display} if display else {}
    scope = Scope("", {}, {}, {})
    return Node(name=name, key=name, scope=scope, task={"taskInfo": info}, component={})


def rendered(view: LiveView) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(view.render())
    return console.file.getvalue()


def test_the_timers_advance_while_nothing_happens():
    clock = Clock()
    view = LiveView(Console(file=io.StringIO()), "run hello", live=False, clock=clock)
    train = task("train", "Train the model")
    train.status, train.started = RUNNING, START
    view(train)

    clock.now = START + timedelta(seconds=3)
    first = rendered(view)
    clock.now = START + timedelta(seconds=75)
    later = rendered(view)
    assert "3.0s" in first and "1m15s" in later  # the run's and the task's time count on
    assert "train (Train the model)" in later


def test_the_tree_is_drawn_again_while_nothing_happens():
    ticks = itertools.count()

    def clock() -> datetime:  # a second later at each look: the first is the view's start
        return START + timedelta(seconds=next(ticks))

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    train = task("train")
    train.status, train.started = RUNNING, START
    with LiveView(console, "run hello", clock=clock) as view:
        view(train)
        deadline = time.monotonic() + 30  # a bound for a stuck view, not a timing
        while len(set(re.findall(r"run hello  (\d+\.\ds)", out.getvalue()))) < 3:
            assert time.monotonic() < deadline, "the tree was not drawn again on its own"
            time.sleep(0.05)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_handler_writing_to_the_terminal_is_set_aside_while_the_tree_is_up():
    terminal = Terminal()
    handler = logging.StreamHandler(terminal)  # as logging.basicConfig() makes one
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=100, color_system=None)
        with LiveView(console, "run hello") as view:
            view(task("train"))
            logging.getLogger("user").warning("written while the tree is up")
        logging.getLogger("user").warning("written after")
    finally:
        root.removeHandler(handler)
    assert "warning: written while the tree is up" in out.getvalue()
    assert terminal.getvalue() == "written after\n"  # the handler is back, and only after


def test_warnings_and_log_records_print_above_the_tree():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with LiveView(console, "run hello") as view:
        view(task("train"))
        warnings.warn("a deprecated thing", DeprecationWarning, stacklevel=1)
        logging.getLogger("somewhere").warning("disk almost full")
    text = out.getvalue()
    assert "warning: DeprecationWarning: a deprecated thing" in text
    assert "warning: disk almost full" in text
    # Printed above the tree, which is drawn again after them, whole.
    assert text.rindex("disk almost full") < text.rindex("train")


def test_without_a_terminal_a_line_per_start_and_end():
    out = io.StringIO()
    clock = Clock()
    view = LiveView(Console(file=out, width=100), "run hello", live=False, clock=clock)
    node = task("train", "Train the model")
    node.status, node.started = RUNNING, START
    view(node)
    view(node)  # the same state again: no second line
    clock.now = START + timedelta(seconds=2)
    node.status, node.finished = SUCCEEDED, clock.now
    view(node)
    other = task("score")
    other.status, other.started, other.finished = FAILED, START, START + timedelta(seconds=1)
    view(other)
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "train (Train the model) RUNNING",
        "train (Train the model) SUCCEEDED 2.0s",
        "score FAILED 1.0s",
    ]


def test_progress_lines_tell_the_time_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")  # whatever the machine's zone
    time.tzset()
    try:
        out = io.StringIO()
        view = LiveView(Console(file=out, width=100), "run hello", live=False, clock=Clock())
        node = task("train")
        node.status, node.started = RUNNING, START
        view(node)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert out.getvalue() == "12:00:00 train RUNNING\n"  # the clock's 12:00 UTC


def test_a_groups_tasks_are_drawn_right_under_it():
    view = LiveView(Console(file=io.StringIO()), "run hello", live=False, clock=Clock())
    condition = Node("condition-1", "condition-1", Scope("", {}, {}, {}), {}, {"dag": {}})
    loop_scope = Scope("condition-1", {}, {}, {}, owner=condition)
    loop = Node("for-loop-3", "condition-1/for-loop-3", loop_scope, {"parameterIterator": {}}, {})
    loop.component = {"dag": {}}
    iteration = Scope("condition-1/for-loop-3[1]", {}, {}, {}, owner=loop, index=1, item=2)
    work = Node("work", "condition-1/for-loop-3[1]/work", iteration, {}, {})
    loop.children.append(iteration)
    for node, status in ((condition, RUNNING), (task("flag"), SUCCEEDED), (loop, RUNNING)):
        node.status = status
        view(node)  # the order the engine reports them in: the root's tasks first
    work.status = FAILED
    view(work)
    names = [line.split()[0] for line in rendered(view).splitlines()[1:]]
    assert names == ["condition-1", "for-loop-3", "work", "flag"]
