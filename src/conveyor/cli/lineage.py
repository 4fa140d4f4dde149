"""`conveyor lineage ARTIFACT`: where an artifact came from and what it led to, as a tree.

A model promoted from another environment has no run here: its store artifact names its
origin (`conveyor.automation.promotion.ORIGIN`), shown upstream with the command that
shows the source environment's lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from conveyor.cli._output import print_json, print_whole, state_text
from conveyor.cli.runs import execution_json
from conveyor.pipelines.state import of_execution
from conveyor.store.metadata.kinds import (
    DAG_EXECUTION,
    ArtifactState,
    Direction,
    ExecutionState,
)
from conveyor.store.metadata.records import DEFAULT_LINEAGE_DEPTH

if TYPE_CHECKING:
    from conveyor.store.metadata.records import ExecutionRecord, Lineage, LineageEdge

_VERBS = {
    # direction: (artifact -> execution, execution -> artifact)
    Direction.UPSTREAM: ("written by", "read"),
    Direction.DOWNSTREAM: ("read by", "wrote"),
}
_SIDES = {Direction.UPSTREAM: "output", Direction.DOWNSTREAM: "input"}
_RETURN = "Output"
"""KFP's name for a component's single return value."""
_CHANNEL = "pipelinechannel--"
"""KFP's prefix for what a group takes from outside to pass on to its tasks."""


def lineage(
    artifact: Annotated[
        str, typer.Argument(help="An artifact id (`conveyor runs show` lists them) or its URI.")
    ],
    depth: Annotated[
        int, typer.Option(help="How many executions to follow on each side.")
    ] = DEFAULT_LINEAGE_DEPTH,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object, nothing else.")
    ] = False,
    with_spec: Annotated[
        bool,
        typer.Option(
            "--with-spec",
            help="With --json: include each execution's component (its container, with "
            "the source), not only its digest.",
        ),
    ] = False,
) -> None:
    """Show the lineage of an artifact: upstream and downstream, as a tree.

    Upstream, the artifact leads to the execution that wrote it, then to that
    execution's inputs and on up to where they came from; downstream, to the
    executions that read it and what they wrote. A URI that several artifacts
    share (an imported file) shows each of them. Cache hits of one task in
    several runs show as one line; `--json` lists each. A model promoted from
    another environment shows upstream where it came from (environment, model,
    version, run, execution, artifact) and the command for that lineage.

    Example: conveyor lineage .conveyor/artifacts/hello-pipeline/RUN_ID/write-report/report
    """
    from conveyor.client import Client

    with Client() as client:
        graph = client.lineage(artifact, depth=depth)
    if as_json:
        data = graph.to_json()
        executions = data["executions"].items()
        data["executions"] = {k: execution_json(e, with_spec) for k, e in executions}
        print_json(data)
        return
    for root in graph.roots:
        print_whole(lineage_tree(graph, root))
    if graph.truncated:
        Console().print(
            f"[dim]the graph goes on beyond depth {graph.depth}; a larger --depth shows more[/]",
            highlight=False,
        )


def lineage_tree(graph: Lineage, root: int) -> Tree:
    """The tree of one root artifact: an `upstream` and a `downstream` branch."""
    tree = Tree(_artifact(graph, root))
    for direction in Direction:
        side = tree.add(Text(direction.value, style="bold"))
        _grow(graph, direction, side, root, {root})
        if not side.children:
            nothing = "made outside any run" if direction == Direction.UPSTREAM else "read by none"
            side.add(Text(nothing, style="dim"))
    return tree


def _grow(graph: Lineage, direction: Direction, branch: Tree, artifact: int, seen: set) -> None:
    """Add the executions one step from `artifact`, and under each the artifacts past it;
    upstream, first where it was promoted from, when it was."""
    if direction == Direction.UPSTREAM:
        came = _promoted_from(graph, artifact)
        if came is not None:
            branch.add(came)
    for group in _grouped(graph, graph.edges_from(direction, artifact, artifact=True)):
        executions = [graph.executions[edge.execution_id] for edge in group]
        label = _execution_label(graph, direction, group[0], executions)
        fresh = [e for e in executions if ("execution", e.id) not in seen]
        if not fresh:
            branch.add(label.append(" (shown above)", style="dim"))
            continue
        seen.update(("execution", e.id) for e in fresh)
        step = branch.add(label)
        onward = [o for e in fresh for o in graph.edges_from(direction, e.id, artifact=False)]
        for edge in {(o.name, o.artifact_id): o for o in onward}.values():
            text = Text(f"{_VERBS[direction][1]} {_called(graph, edge)}: ").append_text(
                _artifact(graph, edge.artifact_id)
            )
            if edge.artifact_id in seen:
                step.add(text.append(" (shown above)", style="dim"))
                continue
            seen.add(edge.artifact_id)
            _grow(graph, direction, step.add(text), edge.artifact_id, seen)


def _promoted_from(graph: Lineage, artifact_id: int) -> Text | None:
    """`promoted from dev: churn@3, run R, execution 4, artifact 12  (conveyor --env dev
    lineage 12)` for a promoted model's artifact; None for any other."""
    from conveyor.automation.promotion import ORIGIN  # the registry's: only when shown

    origin = graph.artifacts[artifact_id].metadata.get(ORIGIN)
    if not isinstance(origin, dict):
        return None
    env, source = origin.get("environment"), origin.get("artifact_id")
    where = [
        f"{label} {origin[key]}"
        for label, key in (
            ("run", "run_id"),
            ("execution", "execution_id"),
            ("artifact", "artifact_id"),
        )
        if origin.get(key) is not None
    ]
    text = Text.assemble(
        "promoted from ",
        (str(env), "bold"),
        f": {origin.get('model')}@{origin.get('version')}",
        (f"  {', '.join(where)}" if where else "", "dim"),
    )
    if source is not None:
        text.append(f"  (conveyor --env {env} lineage {source})", style="cyan")
    return text


def _grouped(graph: Lineage, edges: list[LineageEdge]) -> list[list[LineageEdge]]:
    """The edges one per line, but executions that did no work of their own (cache hits,
    and groups: loops, conditions) share a line by task, state and name, where the first
    of them would be: an artifact that later runs reuse would otherwise list each run."""
    lines: list[list[LineageEdge]] = []
    alike: dict[tuple[str, str, str], list[LineageEdge]] = {}
    for edge in edges:
        execution = graph.executions[edge.execution_id]
        key = (execution.task_key, execution.state, edge.name)
        if execution.state != ExecutionState.CACHED and execution.type != DAG_EXECUTION:
            lines.append([edge])
        elif key in alike:
            alike[key].append(edge)
        else:
            lines.append(alike.setdefault(key, [edge]))
    return lines


def _execution_label(
    graph: Lineage, direction: Direction, edge: LineageEdge, executions: list[ExecutionRecord]
) -> Text:
    """`written by train  SUCCEEDED  execution 4, run R, as output 'model'`; for several alike
    (cache hits, groups), `read by train  CACHED  in 12 runs: R1 … R12, as input 'data'`."""
    first = executions[0]
    if len(executions) == 1:
        where = f"execution {first.id}, run {first.run_id}"
    else:
        where = _in_runs([e.run_id for e in executions])
    name = _called(graph, edge)
    internal = edge.name == _RETURN or edge.name.startswith(_CHANNEL)
    role = f"as {name}" if internal else f"as {_SIDES[direction]} {name}"
    return Text.assemble(
        f"{_VERBS[direction][0]} ",
        (first.task_key, "bold"),
        "  ",
        state_text(of_execution(first.state)),
        (f"  {where}, {role}", "dim"),
    )


def _in_runs(run_ids: list[str]) -> str:
    """`in 12 runs: R1 … R12` (the first and the last), or each run when there are 3 or
    fewer; the count of executions too when a run has several (resumed)."""
    runs = list(dict.fromkeys(run_ids))
    shown = ", ".join(runs) if len(runs) <= 3 else f"{runs[0]} … {runs[-1]}"
    times = f"{len(run_ids)} times " if len(run_ids) != len(runs) else ""
    return f"{times}in {len(runs)} run{'s' if len(runs) != 1 else ''}: {shown}"


def _called(graph: Lineage, edge: LineageEdge) -> str:
    """An event's name as the pipeline's author knows it. KFP records a task's single
    return value as `Output` (`its return value`) and what a group (a loop, a condition)
    passes on to its tasks as `pipelinechannel--TASK-NAME` (`'NAME' of TASK`)."""
    artifact_name = graph.artifacts[edge.artifact_id].name
    if edge.name == _RETURN:
        return "its return value"
    if not edge.name.startswith(_CHANNEL):
        return repr(edge.name)
    channel = edge.name.removeprefix(_CHANNEL)
    if not channel.endswith(f"-{artifact_name}"):
        return repr(channel)
    task = channel.removesuffix(f"-{artifact_name}")
    what = "the return value" if artifact_name == _RETURN else repr(artifact_name)
    return f"{what} of {task}"


def _artifact(graph: Lineage, artifact_id: int) -> Text:
    record = graph.artifacts[artifact_id]
    text = Text.assemble(
        (f"artifact {record.id}", "bold"),
        " ",
        (record.type, "magenta"),
        "  ",
        (record.uri, "cyan"),
    )
    if record.state != ArtifactState.LIVE:
        text.append(f"  {record.state.value}", style="yellow")
    return text
