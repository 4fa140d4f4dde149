"""`/api/v1/models`: the model registry over REST; thin calls to the home's `Registry`.

    GET    /api/v1/models                                    the models
    POST   /api/v1/models                                    register a version (creates the model)
    GET    /api/v1/models/{name}                             one model
    PATCH  /api/v1/models/{name}                             its description, labels
    DELETE /api/v1/models/{name}                             it, with all its versions
    GET    /api/v1/models/{name}@{selector}                  one version: churn@3, churn@production
    GET    /api/v1/models/{name}/versions                    its versions, oldest first
    POST   /api/v1/models/{name}/versions                    register its next version
    GET    /api/v1/models/{name}/versions/{version}          one version (an id or an alias)
    PATCH  /api/v1/models/{name}/versions/{version}          its description, labels, trust
    DELETE /api/v1/models/{name}/versions/{version}          it
    GET    /api/v1/models/{name}/evaluations                 evaluations of every version
    GET    /api/v1/models/{name}/versions/{version}/evaluations
    POST   /api/v1/models/{name}/versions/{version}/evaluations
    PUT    /api/v1/models/{name}/aliases/{alias}             put an alias on a version
    DELETE /api/v1/models/{name}/aliases/{alias}             take it off
    GET    /api/v1/models/{name}/history                     who changed what, when and why
    POST   /api/v1/models/{name}:approvePromotion            approve promoting a version here

Request and answer shapes are pydantic models, so `/openapi.json` documents them. The
registry acts as the caller (`conveyor.api.caller`) and asks the home's delete guards (a
deployed version stays). Errors answer `{"error": {"code", "message", "status"}}`
(`conveyor.api.errors`). See docs/api.md.
"""

from __future__ import annotations

import re
import reprlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from conveyor.api.bodies import JsonRoute
from conveyor.api.caller import RegistryDep
from conveyor.api.errors import responses
from conveyor.api.params import (
    ALIAS_NAME,
    MAX_ID,
    NO_NUL,
    AliasName,
    AliasPath,
    Id,
    ModelName,
    ModelPath,
    VersionName,
    VersionPath,
)
from conveyor.automation.gates import record_approval
from conveyor.registry import (
    Evaluation,
    Framework,
    HistoryAction,
    HistoryEntry,
    Model,
    ModelVersion,
    Registry,
)
from conveyor.serving.auth import Role, needs

PREFIX = "/api/v1/models"

router = APIRouter(prefix=PREFIX, tags=["models"], route_class=JsonRoute)

CommentQuery = Annotated[
    str | None, Query(pattern=NO_NUL, description="Why: kept in the model's history.")
]
READ, APPROVER, ADMIN = needs(Role.READ), needs(Role.APPROVER), needs(Role.ADMIN)


# Shapes


class _Shape(BaseModel):
    """A request body: no unknown fields, no coercion (`"yes"` is no boolean, `"3"` no
    integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Feature(_Shape):
    """One feature of an input or output schema."""

    name: str = Field(examples=["tenure"])
    type: Literal["float", "integer", "string", "boolean"]
    description: str | None = None


class Registration(_Shape):
    """A saved model to register as the next version of its model."""

    artifact_uri: str = Field(
        description="The model folder (or file) as the server sees it: a path, or an fsspec "
        "URL such as s3://bucket/churn/3. It stays where it is; its files' sha256 are recorded.",
        examples=["/srv/models/churn/3"],
    )
    framework: Annotated[Framework, Field(strict=False)]  # from its JSON value
    description: str | None = None
    labels: dict[str, str] | None = Field(default=None, examples=[{"team": "growth"}])
    input_schema: list[Feature] | None = None
    output_schema: list[Feature] | None = None
    aliases: list[AliasName] = Field(
        default_factory=list,
        description="Aliases to put on the new version (default among them makes it the "
        "default). The first version of a model takes default anyway.",
        examples=[["candidate"]],
    )
    trusted: bool = Field(
        default=False, description="Allow pickle formats (model.joblib, model.pkl) to load."
    )
    run_id: str | None = Field(default=None, description="The run that trained the model.")
    execution_id: Id | None = Field(default=None, description="The task that wrote it.")
    comment: str | None = Field(default=None, description="Why: kept in the model's history.")


class NewModel(Registration):
    """A saved model to register under `name`; the first registration creates the model."""

    name: ModelName


class ModelUpdate(_Shape):
    """Fields to change; those left out stay as they are. Labels are replaced whole."""

    description: str | None = None
    labels: dict[str, str] | None = None
    comment: str | None = None


class VersionUpdate(ModelUpdate):
    trusted: bool | None = None


class AliasAssignment(_Shape):
    version: Id | VersionName = Field(
        description="The version to hold the alias: an id, or an alias it holds now.",
        examples=[3, "staging"],
    )
    comment: str | None = None


class NewEvaluation(_Shape):
    metrics: dict[str, Any] = Field(examples=[{"auc": 0.91, "accuracy": 0.87}])
    slice: dict[str, str | int | float | bool] | None = Field(
        default=None,
        description="The rows the metrics were computed on, as feature to value; none: all.",
        examples=[{"country": "FR"}],
    )
    run_id: str | None = None


def _text(pattern: str, rule: str, **field: Any) -> Any:
    """Text matching `pattern` (stated in the OpenAPI document), else a 400 naming the
    `rule` it breaks."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            given = {"given": reprlib.repr(value)}
            raise PydanticCustomError("text_rule", "{given} is not " + rule, given)
        return value

    return Annotated[str, Field(pattern=f"^{pattern}$", **field), BeforeValidator(check)]


EnvironmentName = _text(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}",  # as conveyor.toml names them (conveyor.environments)
    "an environment name: a letter or digit, then letters, digits, '.', '-' and '_', up to "
    "128 characters (dev)",
    examples=["dev"],
)
Sha256 = _text(r"[0-9a-f]{64}", "a sha256: 64 lowercase hexadecimal digits")
Reason = _text(
    r"[^\x00]*\S[^\x00]*",
    "a reason: say why the version is approved (text, not only blanks, without NUL)",
    examples=["eval report reviewed"],
)


class PromotionApproval(_Shape):
    """A person's approval of promoting a version of another environment into this
    server's: the candidate as that environment's registry names it, and why."""

    environment: EnvironmentName = Field(description="The environment the version is in.")
    version: Id = Field(description="The version's id there.", examples=[3])
    sha256: Sha256 = Field(description="The version's sha256 there.")
    reason: Reason = Field(description="Why it may go: kept in the history.")


class ArtifactFileOut(BaseModel):
    path: str = Field(description='Relative to the artifact folder; "" when it is one file.')
    size: int
    sha256: str


class VersionOut(BaseModel):
    model: str
    version_id: int
    reference: str = Field(description="model@version_id", examples=["churn@3"])
    aliases: list[str]
    description: str | None
    labels: dict[str, str]
    framework: Framework
    artifact_uri: str
    artifact_kind: Literal["folder", "file"]
    sha256: str
    size: int
    files: list[ArtifactFileOut]
    model_file: str | None = Field(description="The file the runtime loads.")
    input_schema: list[dict[str, str]] | None
    output_schema: list[dict[str, str]] | None
    trusted: bool
    needs_trust: bool = Field(description="Whether the model file is a pickle.")
    artifact_id: int | None
    run_id: str | None
    execution_id: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, version: ModelVersion) -> VersionOut:
        return cls(
            **version.to_json(),
            reference=version.reference,
            model_file=version.model_file,
            needs_trust=version.needs_trust,
        )


class ModelOut(BaseModel):
    name: str
    description: str | None
    labels: dict[str, str]
    default_version: int | None
    aliases: dict[str, int] = Field(description="Each alias and the version holding it.")
    version_count: int
    latest_version: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, model: Model) -> ModelOut:
        return cls(**model.to_json())


class EvaluationOut(BaseModel):
    id: int
    model: str
    version_id: int
    metrics: dict[str, Any]
    slice: dict[str, Any] | None
    run_id: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, evaluation: Evaluation) -> EvaluationOut:
        return cls(**evaluation.to_json())


class HistoryEntryOut(BaseModel):
    id: int
    model: str
    action: HistoryAction
    version: int | None = Field(description="The version concerned (holding the alias after).")
    alias: str | None
    previous_version: int | None = Field(description="The version holding the alias before.")
    actor: str
    comment: str | None
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryOut:
        return cls(**entry.to_json())


class ModelList(BaseModel):
    models: list[ModelOut]


class VersionList(BaseModel):
    versions: list[VersionOut]


class EvaluationList(BaseModel):
    evaluations: list[EvaluationOut]


class History(BaseModel):
    entries: list[HistoryEntryOut]


class Deleted(BaseModel):
    model: str
    versions: list[int] = Field(description="The version ids deleted.")
    model_deleted: bool


# Routes: a version named by id or alias answers 404 when there is none; a name, alias
# or label breaking its grammar answers 400.

_READ = responses(400, 404)
_WRITE = responses(400, 404, 409)


@router.get("", response_model=ModelList, summary="List the models", openapi_extra=READ)
def list_models(registry: RegistryDep) -> ModelList:
    """Every registered model, by name, with its default version and aliases."""
    return ModelList(models=[ModelOut.of(m) for m in registry.list_models()])


@router.post(
    "",
    response_model=VersionOut,
    status_code=201,
    responses=_WRITE,
    summary="Register a version (creating the model)",
    openapi_extra=ADMIN,
)
def create(body: NewModel, registry: RegistryDep, response: Response) -> VersionOut:
    """Register the saved model at `artifact_uri` as the next version of model `name`,
    creating the model on its first registration (its first version takes `default`)."""
    return _register(registry, body.name, body, response)


@router.get(
    "/{name}@{selector}",
    response_model=VersionOut,
    responses=_READ,
    summary="Get a version by reference",
    openapi_extra=READ,
)
def get_reference(name: ModelPath, selector: VersionPath, registry: RegistryDep) -> VersionOut:
    """`churn@3` (version 3) or `churn@production` (the version holding that alias)."""
    return VersionOut.of(registry.get_version(name, selector))


@router.get(
    "/{name}", response_model=ModelOut, responses=_READ, summary="Get a model", openapi_extra=READ
)
def get_model(name: ModelPath, registry: RegistryDep) -> ModelOut:
    return ModelOut.of(registry.get_model(name))


@router.patch(
    "/{name}",
    response_model=ModelOut,
    responses=_WRITE,
    summary="Update a model",
    openapi_extra=ADMIN,
)
def update_model(name: ModelPath, body: ModelUpdate, registry: RegistryDep) -> ModelOut:
    """Change the description or the labels (replaced whole); fields left out stay."""
    return ModelOut.of(
        registry.update_model(
            name, description=body.description, labels=body.labels, comment=body.comment
        )
    )


@router.delete(
    "/{name}",
    response_model=Deleted,
    responses=_WRITE,
    summary="Delete a model",
    openapi_extra=ADMIN,
)
def delete_model(name: ModelPath, registry: RegistryDep, comment: CommentQuery = None) -> Deleted:
    """Delete the model with its versions, aliases and evaluations; files stay where they
    are and the history stays. 409 while a version is in use (deployed)."""
    numbers = registry.delete_model(name, comment=comment)
    return Deleted(model=name, versions=numbers, model_deleted=True)


@router.get(
    "/{name}/versions",
    response_model=VersionList,
    responses=_READ,
    summary="List versions",
    openapi_extra=READ,
)
def list_versions(name: ModelPath, registry: RegistryDep) -> VersionList:
    """The model's versions, oldest first."""
    return VersionList(versions=[VersionOut.of(v) for v in registry.list_versions(name)])


@router.post(
    "/{name}/versions",
    response_model=VersionOut,
    status_code=201,
    responses=_WRITE,
    summary="Register the next version",
    openapi_extra=ADMIN,
)
def create_version(
    name: ModelPath, body: Registration, registry: RegistryDep, response: Response
) -> VersionOut:
    """Register the saved model at `artifact_uri` as the next version of `name`."""
    return _register(registry, name, body, response)


@router.get(
    "/{name}/versions/{version}",
    response_model=VersionOut,
    responses=_READ,
    summary="Get a version",
    openapi_extra=READ,
)
def get_version(name: ModelPath, version: VersionPath, registry: RegistryDep) -> VersionOut:
    """`version` is an id (3) or an alias (production)."""
    return VersionOut.of(registry.get_version(name, version))


@router.patch(
    "/{name}/versions/{version}",
    response_model=VersionOut,
    responses=_WRITE,
    summary="Update a version",
    openapi_extra=ADMIN,
)
def update_version(
    name: ModelPath, version: VersionPath, body: VersionUpdate, registry: RegistryDep
) -> VersionOut:
    """Change the description, the labels (replaced whole) or the trusted flag."""
    return VersionOut.of(
        registry.update_version(
            name,
            version,
            description=body.description,
            labels=body.labels,
            trusted=body.trusted,
            comment=body.comment,
        )
    )


@router.delete(
    "/{name}/versions/{version}",
    response_model=Deleted,
    responses=_WRITE,
    summary="Delete a version",
    openapi_extra=ADMIN,
)
def delete_version(
    name: ModelPath, version: VersionPath, registry: RegistryDep, comment: CommentQuery = None
) -> Deleted:
    """Delete a version with its aliases and evaluations. 409 while it holds `default` and
    other versions exist (move `default` first), or while it is in use."""
    target = registry.get_version(name, version)
    registry.delete_version(name, target.version_id, comment=comment)
    return Deleted(model=name, versions=[target.version_id], model_deleted=False)


@router.get(
    "/{name}/evaluations",
    response_model=EvaluationList,
    responses=_READ,
    summary="List the evaluations of every version",
    openapi_extra=READ,
)
def list_model_evaluations(name: ModelPath, registry: RegistryDep) -> EvaluationList:
    return EvaluationList(
        evaluations=[EvaluationOut.of(e) for e in registry.list_evaluations(name)]
    )


@router.get(
    "/{name}/versions/{version}/evaluations",
    response_model=EvaluationList,
    responses=_READ,
    summary="List a version's evaluations",
    openapi_extra=READ,
)
def list_evaluations(
    name: ModelPath, version: VersionPath, registry: RegistryDep
) -> EvaluationList:
    return EvaluationList(
        evaluations=[EvaluationOut.of(e) for e in registry.list_evaluations(name, version)]
    )


@router.post(
    "/{name}/versions/{version}/evaluations",
    response_model=EvaluationOut,
    status_code=201,
    responses=_WRITE,
    summary="Attach an evaluation to a version",
    openapi_extra=ADMIN,
)
def add_evaluation(
    name: ModelPath, version: VersionPath, body: NewEvaluation, registry: RegistryDep
) -> EvaluationOut:
    """Metrics over all the data, or over one `slice`, computed by run `run_id`."""
    return EvaluationOut.of(
        registry.add_evaluation(name, version, body.metrics, slice=body.slice, run_id=body.run_id)
    )


@router.put(
    "/{name}/aliases/{alias}",
    response_model=VersionOut,
    responses=_WRITE,
    summary="Put an alias on a version",
    openapi_extra=ADMIN,
)
def set_alias(
    name: ModelPath, alias: AliasPath, body: AliasAssignment, registry: RegistryDep
) -> VersionOut:
    """Put `alias` on the version, moving it from the version that held it. The history
    records the move; applying it where it already is changes nothing."""
    return VersionOut.of(registry.set_alias(name, alias, body.version, comment=body.comment))


@router.delete(
    "/{name}/aliases/{alias}",
    response_model=VersionOut,
    responses=_WRITE,
    summary="Remove an alias",
    openapi_extra=ADMIN,
)
def remove_alias(
    name: ModelPath, alias: AliasPath, registry: RegistryDep, comment: CommentQuery = None
) -> VersionOut:
    """Take `alias` off the version holding it (answered). `default` can only be moved: 409."""
    return VersionOut.of(registry.remove_alias(name, alias, comment=comment))


@router.get(
    "/{name}/history",
    response_model=History,
    responses=_READ,
    summary="Read the history",
    openapi_extra=READ,
)
def history(
    name: ModelPath,
    registry: RegistryDep,
    alias: Annotated[
        str | None, Query(pattern=ALIAS_NAME, description="Only the moves of this alias.")
    ] = None,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only what concerns this version.")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Only entries after this entry id.")
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="At most this many entries.")
    ] = None,
) -> History:
    """What happened to the model, oldest first, with who, when and why; also for a model
    deleted since. Poll with `after` set to the last entry id seen to follow it."""
    entries = registry.history(name, alias=alias, version=version, after=after, limit=limit)
    return History(entries=[HistoryEntryOut.of(e) for e in entries])


@router.post(
    "/{name}:approvePromotion",
    response_model=HistoryEntryOut,
    status_code=201,
    responses=responses(400),
    summary="Approve promoting a version into this environment",
    openapi_extra=APPROVER,
)
def approve_promotion(
    name: ModelPath, body: PromotionApproval, registry: RegistryDep
) -> HistoryEntryOut:
    """Record in the model's history that the caller approves promoting version `version`
    of model `name` in environment `environment` (with that `sha256`) into this one, and
    why: what an `approval` gate of this environment looks for (docs/environments.md),
    as `conveyor models approve` records it. The model need not exist here yet."""
    candidate = {"environment": body.environment, "model": name}
    candidate |= {"version": body.version, "sha256": body.sha256}
    return HistoryEntryOut.of(record_approval(registry, candidate, body.reason))


def _register(registry: Registry, name: str, body: Registration, response: Response) -> VersionOut:
    version = registry.for_requests().upload(
        name,
        body.artifact_uri,
        framework=body.framework,
        description=body.description,
        labels=body.labels,
        input_schema=_features(body.input_schema),
        output_schema=_features(body.output_schema),
        aliases=body.aliases,
        trusted=body.trusted,
        run_id=body.run_id,
        execution_id=body.execution_id,
        comment=body.comment,
    )
    response.headers["Location"] = f"{PREFIX}/{version.model}/versions/{version.version_id}"
    return VersionOut.of(version)


def _features(schema: list[Feature] | None) -> list[dict[str, str]] | None:
    if schema is None:
        return None
    return [f.model_dump(exclude_none=True) for f in schema]
