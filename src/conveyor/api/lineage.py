"""Lineage over REST: the graph around an artifact or an execution, as nodes and edges, for
the console's lineage page and any other client; thin calls to the home's metadata store.

    GET /api/v1/artifacts/{artifact_id}/lineage?depth=N    upstream and downstream of it
    GET /api/v1/executions/{execution_id}/lineage?depth=N  its inputs' upstream, outputs'
                                                           downstream

The answer is a graph to draw: `nodes` (artifacts and executions, each with a `key`
such as `artifact-12` that `edges` join), `edges` in the direction data flows (an INPUT
event from the artifact to the execution that read it, an OUTPUT event from the
execution to the artifact it wrote), `start` (the key asked about) and `truncated`
(the graph goes on past `depth`). Reading needs the `read` role; an unknown id answers
404. See docs/api.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.errors import responses
from conveyor.serving.auth import Role, needs
from conveyor.store.metadata import EventType, Lineage
from conveyor.store.metadata.kinds import MAX_ID
from conveyor.store.metadata.records import DEFAULT_LINEAGE_DEPTH

if TYPE_CHECKING:
    from conveyor.store.metadata import MetadataStore

MAX_DEPTH = DEFAULT_LINEAGE_DEPTH
"""The deepest walk a request may ask for: what `conveyor lineage` walks by default."""

router = APIRouter(prefix="/api/v1", tags=["lineage"], route_class=JsonRoute)

READ = needs(Role.READ)
DepthQuery = Annotated[
    int,
    Query(ge=0, le=MAX_DEPTH, description="How many executions to follow on each side."),
]


class LineageNode(BaseModel):
    """An artifact or an execution of the graph."""

    key: str = Field(description="`artifact-ID` or `execution-ID`: what edges name.")
    kind: Literal["artifact", "execution"]
    id: int
    type: str = Field(description="The artifact's type (system.Model) or the execution's.")
    name: str = Field(description="The artifact's name, or the execution's task name.")
    state: str
    run_id: str | None = Field(
        description="The run of the execution; for an artifact, of the execution that "
        "wrote it, when the graph holds it (null for one made outside any run or past "
        "the depth)."
    )
    uri: str | None = Field(default=None, description="An artifact's URI.")
    metadata: dict[str, Any] | None = Field(default=None, description="An artifact's.")
    task_key: str | None = Field(default=None, description="An execution's task key.")
    cached_from_id: int | None = Field(
        default=None, description="For a cache hit: the execution whose results it reused."
    )
    created_at: datetime


class LineageEdgeOut(BaseModel):
    """An event, from the artifact to the execution that read it (INPUT) or from the
    execution to the artifact it wrote (OUTPUT)."""

    source: str = Field(description="The node the data comes from.")
    target: str = Field(description="The node it goes to.")
    type: EventType
    name: str = Field(description="The input's or output's name in the execution.")


class LineageOut(BaseModel):
    start: str = Field(description="The key of the node asked about.")
    depth: int
    truncated: bool = Field(description="The graph goes on past `depth` on some side.")
    nodes: list[LineageNode]
    edges: list[LineageEdgeOut]


def _store(request: Request) -> MetadataStore:
    return request.app.state.home.store


_ANSWERS = responses(400, 404)


@router.get(
    "/artifacts/{artifact_id}/lineage",
    response_model=LineageOut,
    responses=_ANSWERS,
    summary="The lineage of an artifact",
    openapi_extra=READ,
)
def artifact_lineage(
    artifact_id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="An artifact's id.")],
    request: Request,
    depth: DepthQuery = DEFAULT_LINEAGE_DEPTH,
) -> LineageOut:
    """The executions and artifacts upstream (where it came from) and downstream (what it
    led to) of the artifact, up to `depth` executions each way."""
    graph = _store(request).lineage(artifact_id, depth=depth)
    return _graph_out(graph, f"artifact-{artifact_id}")


@router.get(
    "/executions/{execution_id}/lineage",
    response_model=LineageOut,
    responses=_ANSWERS,
    summary="The lineage of an execution",
    openapi_extra=READ,
)
def execution_lineage(
    execution_id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="An execution's id.")],
    request: Request,
    depth: DepthQuery = DEFAULT_LINEAGE_DEPTH,
) -> LineageOut:
    """The execution's inputs and outputs, the walk upstream from its inputs and the walk
    downstream from its outputs, up to `depth` executions beyond it each way."""
    graph = _store(request).execution_lineage(execution_id, depth=depth)
    return _graph_out(graph, f"execution-{execution_id}")


def _graph_out(graph: Lineage, start: str) -> LineageOut:
    edges: dict[tuple[str, str, str, str], LineageEdgeOut] = {}
    writers: dict[int, list[int]] = {}
    for edge in graph.edges:
        artifact, execution = f"artifact-{edge.artifact_id}", f"execution-{edge.execution_id}"
        wrote = edge.type == EventType.OUTPUT
        source, target = (execution, artifact) if wrote else (artifact, execution)
        edges.setdefault(
            (source, target, edge.type, edge.name),
            LineageEdgeOut(source=source, target=target, type=edge.type, name=edge.name),
        )
        if wrote:
            writers.setdefault(edge.artifact_id, []).append(edge.execution_id)
    nodes = [
        LineageNode(
            key=f"execution-{e.id}",
            kind="execution",
            id=e.id,
            type=e.type,
            name=e.name,
            state=e.state,
            run_id=e.run_id,
            task_key=e.task_key,
            cached_from_id=e.cached_from_id,
            created_at=e.created_at,
        )
        for e in graph.executions.values()
    ]
    for a in graph.artifacts.values():
        # The first writer made it; cache hits that reused it were recorded later.
        made_by = min(writers.get(a.id, []), default=None)
        nodes.append(
            LineageNode(
                key=f"artifact-{a.id}",
                kind="artifact",
                id=a.id,
                type=a.type,
                name=a.name,
                state=a.state,
                run_id=graph.executions[made_by].run_id if made_by is not None else None,
                uri=a.uri,
                metadata=a.metadata,
                created_at=a.created_at,
            )
        )
    return LineageOut(
        start=start,
        depth=graph.depth,
        truncated=graph.truncated,
        nodes=nodes,
        edges=list(edges.values()),
    )
