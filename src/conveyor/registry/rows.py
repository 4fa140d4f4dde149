"""The registry's reads: model and version rows found by name and reference, made into records.

Every write first takes `lock_model`: on PostgreSQL a row lock on the model, so
that changes to one model (new version numbers, alias moves, their history)
happen one at a time; SQLite writers take turns anyway (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Row, func, select

from conveyor.registry.errors import ModelNotFound, VersionNotFound
from conveyor.registry.frameworks import Framework
from conveyor.registry.names import DEFAULT
from conveyor.registry.records import ArtifactFile, Evaluation, Model, ModelVersion
from conveyor.registry.references import Reference
from conveyor.store.metadata.registry_models import (
    ModelAlias,
    ModelEvaluation,
    RegisteredModel,
)
from conveyor.store.metadata.registry_models import ModelVersion as VersionRow

MODELS = RegisteredModel.__table__
VERSIONS = VersionRow.__table__
ALIASES = ModelAlias.__table__
EVALUATIONS = ModelEvaluation.__table__


def find_model(conn: Connection, name: str, *, lock: bool = False) -> Row[Any] | None:
    query = select(MODELS).where(MODELS.c.name == name)
    return conn.execute(query.with_for_update() if lock else query).first()


def model_row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    """The model's row (locked for the transaction with `lock`), or ModelNotFound."""
    found = find_model(conn, name, lock=lock)
    if found is None:
        raise ModelNotFound(
            f"no model {name!r} in the registry; `conveyor models list` shows the models"
        )
    return found


def lock_model(conn: Connection, name: str) -> Row[Any]:
    return model_row(conn, name, lock=True)


def version_number(conn: Connection, model: Row[Any], ref: Reference) -> int:
    """The version id `ref` names in `model` (an alias is looked up), or VersionNotFound."""
    if ref.version is not None:
        found = conn.execute(
            select(VERSIONS.c.version).where(
                VERSIONS.c.model_id == model.id, VERSIONS.c.version == ref.version
            )
        ).scalar()
        if found is None:
            raise VersionNotFound(
                f"model {model.name!r} has no version {ref.version}; "
                f"`conveyor models show {model.name}` lists its versions"
            )
        return found
    alias = ref.alias or DEFAULT
    found = conn.execute(
        select(ALIASES.c.version).where(ALIASES.c.model_id == model.id, ALIASES.c.alias == alias)
    ).scalar()
    if found is None:
        if alias == DEFAULT:
            raise VersionNotFound(
                f"model {model.name!r} has no versions; upload one with "
                f"`conveyor models upload {model.name} PATH --framework ...`"
            )
        raise VersionNotFound(
            f"no version of model {model.name!r} holds alias {alias!r}; "
            f"`conveyor models show {model.name}` lists its aliases"
        )
    return found


def aliases_of(conn: Connection, model_id: int) -> dict[str, int]:
    """The model's aliases and the version holding each, `default` first, then by name."""
    rows = conn.execute(
        select(ALIASES.c.alias, ALIASES.c.version).where(ALIASES.c.model_id == model_id)
    ).all()
    ordered = sorted(rows, key=lambda r: (r.alias != DEFAULT, r.alias))
    return {r.alias: r.version for r in ordered}


def versions(conn: Connection, model: Row[Any], number: int | None = None) -> list[ModelVersion]:
    """The model's versions (or the one numbered `number`), oldest first."""
    query = select(VERSIONS).where(VERSIONS.c.model_id == model.id)
    if number is not None:
        query = query.where(VERSIONS.c.version == number)
    held: dict[int, list[str]] = defaultdict(list)
    for alias, version in aliases_of(conn, model.id).items():
        held[version].append(alias)
    return [
        _version(model.name, row, held[row.version])
        for row in conn.execute(query.order_by(VERSIONS.c.version))
    ]


def version(conn: Connection, model: Row[Any], number: int) -> ModelVersion:
    return versions(conn, model, number)[0]


def _version(model: str, row: Row[Any], aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        model=model,
        version_id=row.version,
        aliases=aliases,
        description=row.description,
        labels=row.labels,
        framework=Framework(row.framework),
        artifact_uri=row.artifact_uri,
        artifact_kind=row.kind,
        sha256=row.sha256,
        size=row.size,
        files=[ArtifactFile(f["path"], f["size"], f["sha256"]) for f in row.files],
        input_schema=row.input_schema,
        output_schema=row.output_schema,
        trusted=row.trusted,
        artifact_id=row.artifact_id,
        run_id=row.run_id,
        execution_id=row.execution_id,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        origin=row.origin,
    )


def models(conn: Connection, name: str | None = None) -> list[Model]:
    """Every model (or the one called `name`), by name, with its aliases and version counts."""
    counts = (
        select(
            VERSIONS.c.model_id,
            func.count().label("count"),
            func.max(VERSIONS.c.version).label("latest"),
        )
        .group_by(VERSIONS.c.model_id)
        .subquery()
    )
    query = select(MODELS, counts.c.count, counts.c.latest).outerjoin(
        counts, counts.c.model_id == MODELS.c.id
    )
    if name is not None:
        query = query.where(MODELS.c.name == name)
    rows = conn.execute(query.order_by(MODELS.c.name)).all()
    held: dict[int, dict[str, int]] = defaultdict(dict)
    alias_rows = select(ALIASES.c.model_id, ALIASES.c.alias, ALIASES.c.version)
    if name is not None:
        alias_rows = alias_rows.where(ALIASES.c.model_id.in_([r.id for r in rows]))
    for r in sorted(conn.execute(alias_rows), key=lambda r: (r.alias != DEFAULT, r.alias)):
        held[r.model_id][r.alias] = r.version
    return [
        Model(
            name=r.name,
            description=r.description,
            labels=r.labels,
            default_version=held[r.id].get(DEFAULT),
            aliases=held[r.id],
            version_count=r.count or 0,
            latest_version=r.latest,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def evaluations(
    conn: Connection, model: Row[Any], number: int | None = None, eval_id: int | None = None
) -> list[Evaluation]:
    """The model's evaluations (of version `number` only, or the one `eval_id`), oldest first."""
    query = select(EVALUATIONS).where(EVALUATIONS.c.model_id == model.id)
    if number is not None:
        query = query.where(EVALUATIONS.c.version == number)
    if eval_id is not None:
        query = query.where(EVALUATIONS.c.id == eval_id)
    return [
        Evaluation(
            id=row.id,
            model=model.name,
            version_id=row.version,
            metrics=row.metrics,
            slice=row.slice,
            run_id=row.run_id,
            created_by=row.created_by,
            created_at=row.created_at,
        )
        for row in conn.execute(query.order_by(EVALUATIONS.c.id))
    ]
