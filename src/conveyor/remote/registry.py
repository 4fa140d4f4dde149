"""`RemoteRegistry`: the model registry of a Conveyor server, with `Registry`'s methods over
`/api/v1/models` (docs/api.md), returning the same records; and `approve_promotion`, the
approval that a promotion into the server's environment may need (`:approvePromotion`).

Names, aliases and references are checked here first, as `Registry` checks them (the same
errors, before any request). A version is registered from files the server reads: a URL
(`s3://`, `gs://`) it can reach; local files are not sent, so a local path is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.registry.errors import RegistryConflict, RegistryUsageError
from conveyor.registry.names import DEFAULT, check_alias, check_model_name
from conveyor.registry.records import Evaluation, HistoryEntry, Model, ModelVersion
from conveyor.registry.references import Reference, resolve_reference
from conveyor.remote.records import rebuild
from conveyor.remote.server import Answers, Server, path
from conveyor.store.metadata.errors import NotFound

ROOT = "/api/v1/models"

_ANSWERS = Answers(usage=RegistryUsageError, not_found=NotFound, conflict=RegistryConflict)


class RemoteRegistry:
    """The registry of `server`: what `Registry` does, over REST."""

    def __init__(self, server: Server) -> None:
        self.server = server

    # Versions

    def upload(
        self,
        model_name: str,
        artifact_uri: str | os.PathLike[str],
        *,
        framework: Any,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        input_schema: Any = None,
        output_schema: Any = None,
        aliases: Sequence[str] = (),
        trusted: bool = False,
        run_id: str | None = None,
        execution_id: int | None = None,
        comment: str | None = None,
    ) -> ModelVersion:
        """Register the files at `artifact_uri`, a URL the server reads, as the next version
        of `model_name`."""
        uri = os.fspath(artifact_uri)
        if "://" not in uri:
            raise self.server.unsupported(
                f"registering the local files {uri} (the server reads the artifact_uri it is "
                "given, and nothing is uploaded: give a URL it can read, such as "
                "s3://bucket/churn/3)"
            )
        body = {
            "name": check_model_name(model_name),
            "artifact_uri": uri,
            "framework": framework,
            "description": description,
            "labels": labels,
            "input_schema": input_schema,
            "output_schema": output_schema,
            "aliases": list(aliases),
            "trusted": trusted,
            "run_id": run_id,
            "execution_id": execution_id,
            "comment": comment,
        }
        return self._version("POST", ROOT, body=body)

    def get_version(self, model: str, version: int | str | None = None) -> ModelVersion:
        """The version `churn@3`, `churn@production` or `churn` (`default`) names."""
        return self._version("GET", _version_path(resolve_reference(model, version)))

    def list_versions(self, model: str) -> list[ModelVersion]:
        found = self._call("GET", path(ROOT, check_model_name(model), "versions"))
        return [rebuild(ModelVersion, v) for v in found["versions"]]

    def update_version(
        self,
        model: str,
        version: int | str | None = None,
        *,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        trusted: bool | None = None,
        comment: str | None = None,
    ) -> ModelVersion:
        changes = {"description": description, "labels": labels, "trusted": trusted}
        body = {k: v for k, v in changes.items() if v is not None} | {"comment": comment}
        return self._version("PATCH", _version_path(resolve_reference(model, version)), body=body)

    def delete_version(
        self, model: str, version: int | str | None = None, *, comment: str | None = None
    ) -> None:
        self._call(
            "DELETE",
            _version_path(resolve_reference(model, version)),
            params={"comment": comment},
        )

    # Aliases

    def set_alias(
        self, model: str, alias: str, version: int | str, *, comment: str | None = None
    ) -> ModelVersion:
        """Put `alias` on the version (an id, or an alias it holds); the version then."""
        check_alias(alias)
        ref = resolve_reference(model, version)
        body = {"version": _selector(ref), "comment": comment}
        return self._version("PUT", path(ROOT, ref.model, "aliases", alias), body=body)

    def remove_alias(self, model: str, alias: str, *, comment: str | None = None) -> ModelVersion:
        check_model_name(model)
        check_alias(alias)
        return self._version(
            "DELETE", path(ROOT, model, "aliases", alias), params={"comment": comment}
        )

    # Models

    def get_model(self, name: str) -> Model:
        return rebuild(Model, self._call("GET", path(ROOT, check_model_name(name))))

    def list_models(self) -> list[Model]:
        return [rebuild(Model, m) for m in self._call("GET", ROOT)["models"]]

    def delete_model(self, name: str, *, comment: str | None = None) -> list[int]:
        """Delete the model and its versions; the version ids deleted."""
        deleted = self._call(
            "DELETE", path(ROOT, check_model_name(name)), params={"comment": comment}
        )
        return list(deleted["versions"])

    def history(
        self,
        model: str,
        *,
        alias: str | None = None,
        version: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[HistoryEntry]:
        params = {"alias": alias, "version": version, "after": after, "limit": limit}
        found = self._call("GET", path(ROOT, check_model_name(model), "history"), params=params)
        return [rebuild(HistoryEntry, e) for e in found["entries"]]

    def approve_promotion(
        self, model: str, *, environment: str, version: int, sha256: str, reason: str
    ) -> HistoryEntry:
        """Record in the server's history of `model` that the caller (its token's name)
        approves promoting version `version` (with that `sha256`) of `model` in environment
        `environment` into the server's, and why: what its `approval` gate looks for. The
        token needs the role `approver`."""
        if not isinstance(reason, str) or not reason.strip():
            raise RegistryUsageError("reason: say why the version is approved (--reason TEXT)")
        body = {"environment": environment, "version": version, "sha256": sha256}
        where = path(ROOT, check_model_name(model), suffix=":approvePromotion")
        return rebuild(HistoryEntry, self._call("POST", where, body=body | {"reason": reason}))

    # Evaluations

    def add_evaluation(
        self,
        model: str,
        version: int | str | None,
        metrics: Mapping[str, Any],
        *,
        slice: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Evaluation:
        ref = resolve_reference(model, version)
        body = {"metrics": metrics, "slice": slice, "run_id": run_id}
        made = self._call("POST", _version_path(ref) + "/evaluations", body=body)
        return rebuild(Evaluation, made)

    def list_evaluations(self, model: str, version: int | str | None = None) -> list[Evaluation]:
        """The evaluations of one version, or of every version when none is named."""
        ref = resolve_reference(model, version)
        where = _version_path(ref) if ref.names_version else path(ROOT, ref.model)
        found = self._call("GET", where + "/evaluations")
        return [rebuild(Evaluation, e) for e in found["evaluations"]]

    # Plumbing

    def _call(self, method: str, where: str, **options: Any) -> Any:
        return self.server.call(method, where, answers=_ANSWERS, **options)

    def _version(self, method: str, where: str, **options: Any) -> ModelVersion:
        return rebuild(ModelVersion, self._call(method, where, **options))


def _selector(ref: Reference) -> int | str:
    """What names the version in a path or a body: its id, or its alias (`default` for none)."""
    if ref.version is not None:
        return ref.version
    return ref.alias or DEFAULT


def _version_path(ref: Reference) -> str:
    return path(ROOT, ref.model, "versions", _selector(ref))
