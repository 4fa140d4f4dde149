"""`conveyor lineage ARTIFACT`: where an artifact came from and what it led to, as a tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from conveyor.cli._output import print_json
from conveyor.cli.runs import state_text
from conveyor.store.metadata.kinds import ArtifactState, Direction
from conveyor.store.metadata.records import DEFAULT_LINEAGE_DEPTH

if TYPE_CHECKING:
    from conveyor.store.metadata.records import Lineage

_VERBS = {
    # direction: (artifact -> execution, execution -> artifact)
    Direction.UPSTREAM: ("written by", "read"),
    Direction.DOWNSTREAM: ("read by", "wrote"),
}
_SIDES = {Direction.UPSTREAM: "output", Direction.DOWNSTREAM: "input"}


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
) -> None:
    """Show the lineage of an artifact: upstream and downstream, as a tree.

    Upstream, the artifact leads to the execution that wrote it, then to that
    execution's inputs and on up to where they came from; downstream, to the
    executions that read it and what they wrote. A URI that several artifacts
    share (an imported file) shows each of them.

    Example: conveyor lineage .conveyor/artifacts/hello-pipeline/RUN_ID/write-report/report
    """
    from conveyor.client import Client

    with Client() as client:
        graph = client.lineage(artifact, depth=depth)
    if as_json:
        print_json(graph.to_json())
        return
    console = Console()
    for root in graph.roots:
        console.print(lineage_tree(graph, root))
    if graph.truncated:
        console.print(
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
    """Add the executions one step from `artifact`, and under each the artifacts past it."""
    to_execution, to_artifact = _VERBS[direction]
    for edge in graph.edges_from(direction, artifact, artifact=True):
        execution = graph.executions[edge.execution_id]
        label = Text.assemble(
            f"{to_execution} ",
            (execution.task_key, "bold"),
            "  ",
            state_text(execution.state),
            (
                f"  execution {execution.id}, run {execution.run_id}, "
                f"as {_SIDES[direction]} {edge.name!r}",
                "dim",
            ),
        )
        if ("execution", execution.id) in seen:
            branch.add(label.append(" (shown above)", style="dim"))
            continue
        seen.add(("execution", execution.id))
        step = branch.add(label)
        for onward in graph.edges_from(direction, execution.id, artifact=False):
            text = Text(f"{to_artifact} {onward.name!r}: ").append_text(
                _artifact(graph, onward.artifact_id)
            )
            if onward.artifact_id in seen:
                step.add(text.append(" (shown above)", style="dim"))
                continue
            seen.add(onward.artifact_id)
            _grow(graph, direction, step.add(text), onward.artifact_id, seen)


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
