"""`/api/v1/artifacts`: a recorded artifact, the text of a Markdown or HTML one and the first
rows of a dataset, over REST for the console's task inspector; thin calls to the home's
metadata store and `conveyor.store.artifacts.preview`.

    GET /api/v1/artifacts/{artifact_id}                   the artifact's record
    GET /api/v1/artifacts/{artifact_id}/content           a Markdown or HTML artifact's text
    GET /api/v1/artifacts/{artifact_id}/preview?rows=20   a Parquet or CSV dataset's first rows

Only artifacts recorded in the store are read, by id, and only under the home's artifact
root (`conveyor.store.artifacts.reading`): a client never names a path. The text is sent
with a policy that lets nothing in it run when a browser opens it directly. Reading needs
the `read` role. See docs/api.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.errors import responses, responses_beside
from conveyor.home import Home
from conveyor.serving.auth import Role, needs
from conveyor.store.artifacts.preview import MAX_ROWS, content, preview
from conveyor.store.artifacts.reading import artifact_files
from conveyor.store.metadata import ArtifactRecord, ArtifactState
from conveyor.store.metadata.kinds import MAX_ID

PREFIX = "/api/v1/artifacts"
CONTENT_BYTES = 2**20
"""How much of a Markdown or HTML artifact `/content` answers by default."""
SANDBOX = "sandbox; default-src 'none'"
"""The text's Content-Security-Policy: opened directly, it runs no script and loads nothing."""

router = APIRouter(prefix=PREFIX, tags=["artifacts"], route_class=JsonRoute)

READ = needs(Role.READ)
ArtifactIdPath = Annotated[
    int, PathParam(ge=1, le=MAX_ID, description="An artifact's id.", examples=[7])
]


class ArtifactOut(BaseModel):
    """An artifact as the metadata store records it."""

    id: int
    uri: str
    type: str = Field(examples=["system.Dataset"])
    name: str
    state: ArtifactState
    metadata: dict[str, Any] = Field(description="Its properties, as the task logged them.")
    sha256: str | None
    size: int | None = Field(description="Bytes, once published.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: ArtifactRecord) -> ArtifactOut:
        return cls(**{name: getattr(record, name) for name in cls.model_fields})


class Column(BaseModel):
    name: str
    type: str = Field(description="Its Arrow type.", examples=["int64", "timestamp[us]"])


class PreviewOut(BaseModel):
    format: str = Field(description="parquet or csv.")
    file: str = Field(description="The file read, inside a folder artifact; '' for a file.")
    columns: list[Column]
    rows: list[list[Any]] = Field(
        description="Cells as JSON holds them: NaN and infinities as strings, bytes as hex "
        "(0x...), times in ISO 8601, integers past 2^53 as strings."
    )
    total_rows: int | None = Field(description="All its rows, when cheap to know (Parquet).")


def _home(request: Request) -> Home:
    return request.app.state.home


@router.get(
    "/{artifact_id}",
    response_model=ArtifactOut,
    responses=responses(400, 404),
    summary="Get an artifact",
    openapi_extra=READ,
)
def get_artifact(artifact_id: ArtifactIdPath, request: Request) -> ArtifactOut:
    """The artifact's record: type, URI, name, state, metadata, digest, size and times."""
    return ArtifactOut.of(_home(request).store.get_artifact(artifact_id))


@router.get(
    "/{artifact_id}/content",
    response_class=Response,
    responses={
        200: {
            "description": "Its text.",
            "content": {"text/markdown": {}, "text/html": {}},
            "headers": {
                "X-Content-Truncated": {
                    "description": "true when the text was cut at max_bytes.",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
                "X-Artifact-Size": {
                    "description": "The file's whole size in bytes.",
                    "schema": {"type": "integer"},
                },
            },
        },
        **responses_beside(400, 404),
    },
    summary="The text of a Markdown or HTML artifact",
    openapi_extra=READ,
)
def artifact_content(
    artifact_id: ArtifactIdPath,
    request: Request,
    max_bytes: Annotated[int, Query(ge=1, le=16 * 2**20)] = CONTENT_BYTES,
) -> Response:
    """The file of a `system.Markdown` or `system.HTML` artifact as UTF-8 text, its first
    `max_bytes` when longer (`X-Content-Truncated: true`, `X-Artifact-Size` its whole
    size); 400 for another type."""
    home = _home(request)
    record = home.store.get_artifact(artifact_id)
    shown = content(artifact_files(home.artifacts, record.uri), record.type, max_bytes)
    headers = {
        "Content-Security-Policy": SANDBOX,
        "X-Content-Type-Options": "nosniff",
        "X-Artifact-Size": str(shown.size),
        "X-Content-Truncated": "true" if shown.cut else "false",
    }
    return Response(shown.text, media_type=shown.media_type, headers=headers)


@router.get(
    "/{artifact_id}/preview",
    response_model=PreviewOut,
    responses=responses(400, 404),
    summary="The first rows of a dataset",
    openapi_extra=READ,
)
def artifact_preview(
    artifact_id: ArtifactIdPath,
    request: Request,
    rows: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 20,
) -> PreviewOut:
    """The first `rows` rows of a Parquet or CSV dataset (a `system.Dataset`, or any
    artifact holding a `.parquet` or `.csv` file) with its columns' types; 400 when it
    holds neither."""
    home = _home(request)
    record = home.store.get_artifact(artifact_id)
    shown = preview(artifact_files(home.artifacts, record.uri), record.type, rows)
    columns = [Column(**column) for column in shown.columns]
    return PreviewOut(
        format=shown.format,
        file=shown.file,
        columns=columns,
        rows=shown.rows,
        total_rows=shown.total_rows,
    )
