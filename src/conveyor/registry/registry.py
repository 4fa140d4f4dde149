"""`Registry`: models, versions, aliases, evaluations and history, kept in the metadata store.

    from conveyor.registry import Registry
    from conveyor.store.metadata import MetadataStore

    with MetadataStore.open() as store:
        registry = Registry(store)
        v = registry.upload("churn", "out/model", framework="sklearn", aliases=["candidate"])
        registry.add_evaluation("churn", v.version_id, {"auc": 0.91})
        registry.set_alias("churn", "production", v.version_id, comment="beats v1 on AUC")
        registry.get_version("churn@production")

Each call is one transaction: its change and the history entry recording it
are written together or not at all. See docs/registry.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from conveyor.registry import aliases, catalog, evaluations, history, rows, versions
from conveyor.registry.contents import read_contents
from conveyor.registry.errors import DeleteRefused, ModelNotFound, RegistryUsageError
from conveyor.registry.features import check_fit
from conveyor.registry.frameworks import Framework, framework_of
from conveyor.registry.names import (
    check_alias,
    check_aliases,
    check_labels,
    check_model_name,
)
from conveyor.registry.policy import ArtifactPolicy
from conveyor.registry.provenance import check_run, link
from conveyor.registry.records import (
    EVENT_ACTIONS,
    Evaluation,
    HistoryAction,
    HistoryEntry,
    Model,
    ModelVersion,
)
from conveyor.registry.references import Reference, resolve_reference
from conveyor.registry.schemas import check_schema
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.kinds import MAX_ID

DeleteGuard = Callable[[ModelVersion], str | None]
"""Asked before a version is deleted: a reason it must stay (\"deployed to endpoint churn\"),
or None. Serving registers one, so a deployed version cannot be deleted."""

VersionSelector = int | str | None
"""A version id (int or digits), an alias, or None for the version holding `default`."""


class Registry:
    """The model registry over a metadata store; `user` names who makes the changes
    (default: `CONVEYOR_USER`, else the OS user); `policy` bounds what uploads read
    (default: local paths anywhere, `s3://`, `gs://`)."""

    def __init__(
        self,
        store: MetadataStore,
        *,
        user: str | None = None,
        delete_guards: Iterable[DeleteGuard] = (),
        policy: ArtifactPolicy | None = None,
    ) -> None:
        self.store = store
        self.user = user
        self.policy = policy or ArtifactPolicy()
        self._guards: list[DeleteGuard] = list(delete_guards)

    def acting_as(self, user: str) -> Registry:
        """The same registry, recording `user` as who makes the changes (a server acting for
        the caller of a request); its delete guards and policy are the same."""
        return Registry(self.store, user=user, delete_guards=self._guards, policy=self.policy)

    def for_requests(self) -> Registry:
        """The same registry, uploading as a server must for callers from afar: local paths
        only under the allowed roots, never a URL naming a host (`ArtifactPolicy.for_requests`)."""
        return Registry(
            self.store,
            user=self.user,
            delete_guards=self._guards,
            policy=self.policy.for_requests(),
        )

    def add_delete_guard(self, guard: DeleteGuard) -> None:
        """Ask `guard` before deleting any version (and so any model)."""
        self._guards.append(guard)

    # Versions

    def upload(
        self,
        model_name: str,
        artifact_uri: str | os.PathLike[str],
        *,
        framework: Framework | str,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        input_schema: Any = None,
        output_schema: Any = None,
        aliases: Sequence[str] = (),
        trusted: bool = False,
        run_id: str | None = None,
        execution_id: int | None = None,
        origin: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> ModelVersion:
        """Register the artifact at `artifact_uri` as the next version of `model_name`.

        The model is created by its first upload (with this description and
        labels); its first version takes `default`, and `aliases` (which may
        include `default`) move to the new version. The artifact stays where it
        is: the registry records its URI and the sha256 of each of its files,
        after checking it holds the file `framework`'s runtime loads and, when the
        model file declares its features, that `input_schema` fits them. What it reads
        follows the registry's `policy`. It links the version to the metadata store's
        artifact at that URI and the run and execution that wrote it (or to `run_id` /
        `execution_id`). `origin` (a JSON object) records where a version promoted from
        another environment came from (`conveyor.automation.promotion`).
        """
        check_model_name(model_name)
        kind = framework_of(framework)
        wanted = check_aliases(aliases)
        labels = check_labels(labels)
        schemas = check_schema(input_schema, "input"), check_schema(output_schema, "output")
        origin = _json_object(origin, "origin")
        contents = read_contents(artifact_uri, kind, self.policy)
        check_fit(schemas[0], contents, kind)
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            model = catalog.ensure(conn, model_name, description, labels, actor, comment)
            linked = link(conn, contents.uri, contents.digest, model_name, run_id, execution_id)
            digest = contents.digest
            fields = {
                "description": description,
                "labels": labels,
                "framework": kind.value,
                "artifact_uri": contents.uri,
                "artifact_id": linked.artifact_id,
                "kind": digest.kind,
                "sha256": digest.sha256,
                "size": digest.size,
                "files": [
                    {"path": f.path, "size": f.size, "sha256": f.sha256} for f in digest.files
                ],
                "input_schema": schemas[0],
                "output_schema": schemas[1],
                "trusted": bool(trusted),
                "run_id": linked.run_id,
                "execution_id": linked.execution_id,
                "origin": origin,
            }
            number = versions.create(conn, model, fields, wanted, actor, comment)
            return rows.version(conn, model, number)

    def get_version(self, model: str, version: VersionSelector = None) -> ModelVersion:
        """One version: `get_version("churn@3")`, `("churn", "production")`, `("churn", 3)`;
        the model alone means its `default` version."""
        ref = resolve_reference(model, version)
        with self.store.transaction() as conn:
            row = rows.model_row(conn, ref.model)
            return rows.version(conn, row, rows.version_number(conn, row, ref))

    def list_versions(self, model: str) -> list[ModelVersion]:
        """The model's versions, oldest first."""
        with self.store.transaction() as conn:
            return rows.versions(conn, rows.model_row(conn, check_model_name(model)))

    def update_version(
        self,
        model: str,
        version: VersionSelector = None,
        *,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        trusted: bool | None = None,
        comment: str | None = None,
    ) -> ModelVersion:
        """Change a version's description, labels (replaced whole) or trusted flag; None
        leaves a field as it is. Recorded in the history with the old and new values."""
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if labels is not None:
            changes["labels"] = check_labels(labels)
        if trusted is not None:
            changes["trusted"] = bool(trusted)
        ref = resolve_reference(model, version)
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            row, number = self._locked_version(conn, ref)
            versions.update_fields(conn, row, number, changes, actor, comment)
            return rows.version(conn, row, number)

    def delete_version(
        self, model: str, version: VersionSelector = None, *, comment: str | None = None
    ) -> None:
        """Delete a version with its aliases and evaluations (its artifact stays where it is).

        Refused (DeleteRefused) while it holds `default` and other versions exist,
        or while a delete guard says it is in use. The model stays, even with no
        versions; its next upload takes the next number and `default`.
        """
        target = self.get_version(model, version)
        self._check_guards([target])
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            row = rows.lock_model(conn, target.model)
            number = rows.version_number(conn, row, Reference(target.model, target.version_id))
            versions.drop(conn, row, number, actor, comment)

    # Aliases

    def set_alias(
        self,
        model: str,
        alias: str,
        version: VersionSelector,
        *,
        comment: str | None = None,
    ) -> ModelVersion:
        """Put `alias` on a version (an id, or another alias: `set_alias("churn", "production",
        "staging")`), moving it from the version that held it. Returns that version."""
        check_alias(alias)
        ref = resolve_reference(model, version)
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            row, number = self._locked_version(conn, ref)
            aliases.assign(conn, row, alias, number, actor, comment)
            return rows.version(conn, row, number)

    def remove_alias(self, model: str, alias: str, *, comment: str | None = None) -> ModelVersion:
        """Take `alias` off the version holding it (returned). `default` cannot be removed."""
        check_model_name(model)
        check_alias(alias)
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            row = rows.lock_model(conn, model)
            number = aliases.remove(conn, row, alias, actor, comment)
            return rows.version(conn, row, number)

    # Models

    def get_model(self, name: str) -> Model:
        with self.store.transaction() as conn:
            found = rows.models(conn, check_model_name(name))
        if not found:
            raise ModelNotFound(
                f"no model {name!r} in the registry; `conveyor models list` shows the models"
            )
        return found[0]

    def list_models(self) -> list[Model]:
        """Every model, by name."""
        with self.store.transaction() as conn:
            return rows.models(conn)

    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        comment: str | None = None,
    ) -> Model:
        """Change a model's description or labels (replaced whole); None leaves them."""
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if labels is not None:
            changes["labels"] = check_labels(labels)
        check_model_name(name)
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            catalog.update_fields(conn, rows.lock_model(conn, name), changes, actor, comment)
        return self.get_model(name)

    def delete_model(self, name: str, *, comment: str | None = None) -> list[int]:
        """Delete a model, its versions, aliases and evaluations; the version ids deleted.
        Refused while a delete guard says one of its versions is in use. The history stays."""
        self._check_guards(self.list_versions(name))
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            return catalog.drop(conn, rows.lock_model(conn, name), actor, comment)

    def history(
        self,
        model: str,
        *,
        alias: str | None = None,
        version: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[HistoryEntry]:
        """What happened to `model`, oldest first: created, versions uploaded, updated and
        deleted, aliases set, moved and removed, evaluations added; each with who, when and
        why. Narrow it to one `alias` or `version`, or to entries after an entry id."""
        check_model_name(model)
        for name, number in (("version", version), ("after", after), ("limit", limit)):
            if number is not None and not 0 <= number <= MAX_ID:
                raise RegistryUsageError(f"history {name} must be from 0 to {MAX_ID}, not {number}")
        with self.store.transaction() as conn:
            found = history.entries(
                conn, model, alias=alias, version=version, after=after, limit=limit
            )
            if not found and not history.exists(conn, model):
                raise ModelNotFound(
                    f"no model {model!r} in the registry, now or before; "
                    "`conveyor models list` shows the models"
                )
            return found

    def record_event(
        self,
        model: str,
        action: HistoryAction,
        *,
        version: int | None = None,
        comment: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> HistoryEntry:
        """Append to `model`'s history an event that changes no version: a promotion's
        approval or refusal (`EVENT_ACTIONS`). The model need not exist yet."""
        check_model_name(model)
        if action not in EVENT_ACTIONS:
            allowed = ", ".join(sorted(EVENT_ACTIONS))
            raise RegistryUsageError(f"action {action!r} is not an event ({allowed})")
        actor = self._actor()
        details = _json_object(details, "details")
        with self.store.transaction(write=True) as conn:
            entry = history.append(
                conn, model, action, actor, version=version, comment=comment, details=details
            )
            return history.entries(conn, model, after=entry - 1, limit=1)[0]

    # Evaluations

    def add_evaluation(
        self,
        model: str,
        version: VersionSelector,
        metrics: Mapping[str, Any],
        *,
        slice: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Evaluation:
        """Attach metrics (over all data, or one `slice`) to a version, from run `run_id`."""
        metrics = evaluations.check_metrics(metrics)
        slice = evaluations.check_slice(slice)
        ref = resolve_reference(model, version)
        actor = self._actor()
        with self.store.transaction(write=True) as conn:
            row, number = self._locked_version(conn, ref)
            if run_id is not None:
                check_run(conn, run_id)
            new = evaluations.add(conn, row, number, metrics, slice, run_id, actor)
            return rows.evaluations(conn, row, eval_id=new)[0]

    def list_evaluations(self, model: str, version: VersionSelector = None) -> list[Evaluation]:
        """Evaluations of one version, or of every version when none is named, oldest first."""
        ref = resolve_reference(model, version)
        with self.store.transaction() as conn:
            row = rows.model_row(conn, ref.model)
            number = rows.version_number(conn, row, ref) if ref.names_version else None
            return rows.evaluations(conn, row, number)

    # Plumbing

    def _locked_version(self, conn: Connection, ref: Reference) -> tuple[Any, int]:
        row = rows.lock_model(conn, ref.model)
        return row, rows.version_number(conn, row, ref)

    def _check_guards(self, targets: Sequence[ModelVersion]) -> None:
        for target in targets:
            for guard in self._guards:
                reason = guard(target)
                if reason:
                    raise DeleteRefused(
                        f"{target.reference} is in use ({reason}); release it first, then delete it"
                    )

    def _actor(self) -> str:
        return self.user or history.current_user()


def _json_object(value: Mapping[str, Any] | None, field: str) -> dict[str, Any] | None:
    """`value` (the field `field`: an origin, an event's details) as a JSON object, or None."""
    if value is None:
        return None
    try:
        if not isinstance(value, Mapping):
            raise TypeError(f"not {type(value).__name__}")
        json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RegistryUsageError(f"{field} must be a JSON object without NaN ({exc})") from None
    return dict(value)
