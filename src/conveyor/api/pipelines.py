"""`/api/v1/pipelines`: the pipeline registry over REST; thin calls to the home's
`PipelineRegistry`.

    GET    /api/v1/pipelines                              the pipelines
    POST   /api/v1/pipelines                              upload a version (creates the pipeline)
    GET    /api/v1/pipelines/{name}                       one pipeline
    DELETE /api/v1/pipelines/{name}                       it, with its versions and tags
    GET    /api/v1/pipelines/{name}/versions              its versions, newest first
    GET    /api/v1/pipelines/{name}/versions/{ref}        one: 3, a tag, or latest (?view=full: with its spec)
    DELETE /api/v1/pipelines/{name}/versions/{version}    one version, with its tags
    PUT    /api/v1/pipelines/{name}/tags/{tag}            put a tag on a version
    DELETE /api/v1/pipelines/{name}/tags/{tag}            take it off

An upload carries the compiled spec (the IR, as JSON): the server never imports Python nor
reads a file a client names. Uploading and tagging need the `deploy` role (pipeline CD, as
a CI job does it), deleting `admin`. A delete that a schedule or trigger objects to answers
409. Errors answer `{"error": {"code", "message", "status"}}` (`conveyor.api.errors`). See
docs/automation.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import PipelinesDep
from conveyor.api.errors import responses
from conveyor.api.params import (
    MAX_ID,
    NO_NUL,
    Id,
    PipelineName,
    PipelinePath,
    PipelineRef,
    PipelineRefPath,
    TagName,
    TagPath,
)
from conveyor.automation.records import PipelineVersionRecord, RegisteredPipelineRecord
from conveyor.errors import InvalidPipeline
from conveyor.serving.auth import Role, needs

PREFIX = "/api/v1/pipelines"

router = APIRouter(prefix=PREFIX, tags=["pipelines"], route_class=JsonRoute)

READ, DEPLOY, ADMIN = needs(Role.READ), needs(Role.DEPLOY), needs(Role.ADMIN)
VersionPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A version number.", examples=[3])]


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion (`"3"` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NewVersion(_Shape):
    """A compiled pipeline to register as the next version of `name`."""

    name: PipelineName
    pipeline_spec: dict[str, Any] = Field(
        description="The compiled PipelineSpec (kfp's compiler output, as JSON).",
        examples=[{"pipelineInfo": {"name": "hello"}, "root": {"dag": {"tasks": {}}}}],
    )
    description: str | None = Field(default=None, pattern=NO_NUL)
    tags: list[TagName] = Field(
        default_factory=list, description="Tags to put on the version.", examples=[["prod"]]
    )


class TagAssignment(_Shape):
    version: Id | PipelineRef = Field(
        description="The version to hold the tag: a number, a tag it holds now, or latest.",
        examples=[3, "latest"],
    )


class PipelineVersionOut(BaseModel):
    pipeline: str
    version: int
    reference: str = Field(description="name@version", examples=["churn-training@3"])
    spec_digest: str = Field(description="The sha256 of the compiled spec.")
    description: str | None
    default_parameters: dict[str, Any]
    source: str | None = Field(description="What it was uploaded from, when known.")
    tags: list[str]
    created_by: str
    created_at: datetime
    pipeline_spec: dict[str, Any] | None = Field(
        default=None, description="The compiled spec (with ?view=full)."
    )

    @classmethod
    def of(
        cls, version: PipelineVersionRecord, spec: dict[str, Any] | None = None
    ) -> PipelineVersionOut:
        shown = version.to_json()
        shown.pop("created")
        return cls(**shown, pipeline_spec=spec)


class UploadOut(PipelineVersionOut):
    created: bool = Field(description="False: the latest version had this spec already.")


class PipelineOut(BaseModel):
    name: str
    description: str | None
    latest_version: int | None
    tags: dict[str, int] = Field(description="Each tag and the version it names.")
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, pipeline: RegisteredPipelineRecord) -> PipelineOut:
        return cls(**pipeline.to_json())


class PipelineList(BaseModel):
    pipelines: list[PipelineOut]


class PipelineVersionList(BaseModel):
    versions: list[PipelineVersionOut]


class PipelineDeleted(BaseModel):
    pipeline: str
    version: int | None = Field(description="The version deleted; null: the whole pipeline.")


# Routes

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=PipelineList, summary="List the pipelines", openapi_extra=READ)
def list_pipelines(pipelines: PipelinesDep) -> PipelineList:
    """Every registered pipeline, by name, with its latest version and tags."""
    return PipelineList(pipelines=[PipelineOut.of(p) for p in pipelines.list()])


@router.post(
    "",
    response_model=UploadOut,
    status_code=201,
    responses={**_WRITE, 200: {"model": UploadOut, "description": "The latest had this spec"}},
    summary="Upload a version (creating the pipeline)",
    openapi_extra=DEPLOY,
)
def upload(body: NewVersion, pipelines: PipelinesDep, response: Response) -> UploadOut:
    """Register `pipeline_spec` as the next version of `name` (201), creating the pipeline
    on its first upload; the spec of the latest version again makes none (200, `created`
    false), and `tags` move to the latest."""
    try:
        version = pipelines.upload(
            body.name, body.pipeline_spec, tags=body.tags, description=body.description
        )
    except InvalidPipeline as exc:
        raise InvalidPipeline(f"pipeline_spec: {exc}") from None
    response.headers["Location"] = f"{PREFIX}/{version.pipeline}/versions/{version.version}"
    if not version.created:
        response.status_code = 200
    return UploadOut(**PipelineVersionOut.of(version).model_dump(), created=version.created)


@router.get(
    "/{name}",
    response_model=PipelineOut,
    responses=_READ,
    summary="Get a pipeline",
    openapi_extra=READ,
)
def get_pipeline(name: PipelinePath, pipelines: PipelinesDep) -> PipelineOut:
    return PipelineOut.of(pipelines.get(name))


@router.delete(
    "/{name}",
    response_model=PipelineDeleted,
    responses=_WRITE,
    summary="Delete a pipeline",
    openapi_extra=ADMIN,
)
def delete_pipeline(name: PipelinePath, pipelines: PipelinesDep) -> PipelineDeleted:
    """Delete the pipeline with its versions and tags; runs of it stay, with their specs.
    409 while a schedule or trigger uses it."""
    pipelines.delete(name)
    return PipelineDeleted(pipeline=name, version=None)


@router.get(
    "/{name}/versions",
    response_model=PipelineVersionList,
    responses=_READ,
    summary="List versions",
    openapi_extra=READ,
)
def list_versions(name: PipelinePath, pipelines: PipelinesDep) -> PipelineVersionList:
    """The pipeline's versions, newest first."""
    return PipelineVersionList(
        versions=[PipelineVersionOut.of(v) for v in pipelines.versions(name)]
    )


@router.get(
    "/{name}/versions/{ref}",
    response_model=PipelineVersionOut,
    responses=_READ,
    summary="Get a version",
    openapi_extra=READ,
)
def get_version(
    name: PipelinePath,
    ref: PipelineRefPath,
    pipelines: PipelinesDep,
    view: Annotated[
        Literal["basic", "full"],
        Query(description="full: with the compiled spec (`pipeline_spec`)."),
    ] = "basic",
) -> PipelineVersionOut:
    """`ref` is a version number (3), a tag (prod) or latest."""
    reference = f"{name}@{ref}"
    version = pipelines.resolve(reference)
    spec = dict(pipelines.spec(version.reference)) if view == "full" else None
    return PipelineVersionOut.of(version, spec)


@router.delete(
    "/{name}/versions/{version}",
    response_model=PipelineDeleted,
    responses=_WRITE,
    summary="Delete a version",
    openapi_extra=ADMIN,
)
def delete_version(
    name: PipelinePath, version: VersionPath, pipelines: PipelinesDep
) -> PipelineDeleted:
    """Delete one version with the tags naming it. 409 while a schedule or trigger uses it."""
    pipelines.delete(name, version)
    return PipelineDeleted(pipeline=name, version=version)


@router.put(
    "/{name}/tags/{tag}",
    response_model=PipelineVersionOut,
    responses=_WRITE,
    summary="Put a tag on a version",
    openapi_extra=DEPLOY,
)
def set_tag(
    name: PipelinePath, tag: TagPath, body: TagAssignment, pipelines: PipelinesDep
) -> PipelineVersionOut:
    """Put `tag` on the version, moving it from the version that held it: schedules that
    follow the tag run the new version from their next fire."""
    return PipelineVersionOut.of(pipelines.tag(f"{name}@{body.version}", tag))


@router.delete(
    "/{name}/tags/{tag}",
    response_model=PipelineOut,
    responses=_WRITE,
    summary="Remove a tag",
    openapi_extra=DEPLOY,
)
def remove_tag(name: PipelinePath, tag: TagPath, pipelines: PipelinesDep) -> PipelineOut:
    """Take `tag` off the version holding it; the pipeline, as it is then."""
    pipelines.untag(name, tag)
    return PipelineOut.of(pipelines.get(name))
