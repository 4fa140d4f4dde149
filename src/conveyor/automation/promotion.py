"""Promotion of a model version from one environment to another, through the target's gates.

    from conveyor.config import Settings
    from conveyor.home import open_home

    with open_home(settings=Settings.from_env(env="dev")) as dev, \\
         open_home(settings=Settings.from_env(env="prod")) as prod:
        approve(dev, prod, "churn@candidate", reason="reviewed the eval report")
        promotion = promote(dev, prod, "churn@candidate", alias="production")

A promotion copies the version's files into the target's artifact store (each file checked
by its sha256 on the way in and the whole once written, `model_copy`), then uploads the copy
to the target's registry as the next version of the same model, with the same framework,
schemas, labels (plus `promoted-from`), trust and evaluations, and its `origin`: the source
environment, model, version, run, execution, store artifact and sha256, and the gates it
passed. The alias, if any, moves last, once the version is whole.

The copy gets a store artifact of its own in the target's metadata store (the one its
version links to), whose metadata `origin` names where it came from: `conveyor lineage`
in the target starts from it and points to the source's run.

The target's gates (`gates`) are judged first: a failed gate refuses (`PromotionRefused`,
naming the gate and its figures) and a dry run only reports them. Approvals and refusals
are kept in the TARGET's history of the model, beside the versions promoted there.

A version promoted to the target before is not copied again: the outcome says so
(`already`, with the version it is there) and nothing moves, no gate is judged, not even
the alias, so that a pipeline run again does not fail, nor take an alias back.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.gates import Candidate, GateResult, judge, record_approval
from conveyor.automation.model_copy import copy_version
from conveyor.registry import HistoryAction, ModelNotFound, parse_reference
from conveyor.registry.provenance import MODEL_TYPE
from conveyor.store.metadata.kinds import ArtifactState
from conveyor.store.metadata.records import to_json

if TYPE_CHECKING:
    from conveyor.home import Home
    from conveyor.registry import HistoryEntry, ModelVersion, Registry

PROMOTED_FROM = "promoted-from"
"""The label a promoted version carries: the source environment's name."""
ORIGIN = "origin"
"""The metadata key of a promoted copy's store artifact in the target: where it came from
(environment, model, version, sha256, artifact_uri, artifact_id, run_id, execution_id)."""


@dataclasses.dataclass(frozen=True)
class Promotion:
    """What a promotion did, or would do (`dry_run`), with every gate's verdict."""

    source_env: str
    model: str
    version: int
    sha256: str
    target_env: str
    target_model: str
    target_version: int | None
    """The new version in the target (the one it is already, when `already`); None on a
    dry run or a refusal."""
    alias: str | None
    """The alias asked for."""
    gates: list[GateResult]
    promoted: bool
    dry_run: bool = False
    already: bool = False
    """The candidate was promoted to the target before: nothing moved, no gate judged."""
    target_aliases: list[str] = dataclasses.field(default_factory=list)
    """The aliases the target version holds, once promoted (or already there)."""

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return all(g.passed for g in self.gates)

    def to_json(self) -> dict[str, Any]:
        return {**to_json(self), "passed": self.passed}


class PromotionRefused(AutomationConflict):
    """A gate of the target environment failed: `promotion` holds every verdict."""

    def __init__(self, message: str, promotion: Promotion) -> None:
        super().__init__(message)
        self.promotion = promotion


def promote(
    source: Home,
    target: Home,
    reference: str,
    *,
    alias: str | None = None,
    dry_run: bool = False,
    user: str | None = None,
) -> Promotion:
    """Promote the version `reference` names in `source` to `target`, through the target's
    gates; a dry run judges them and moves nothing. A version promoted there before comes
    back `already` (its version there in `target_version`), nothing moved and no gate
    judged. `user` is who the target's history records (default: the target registry's
    user)."""
    _check_apart(source, target)
    registry = _registry(target, user)
    candidate = _candidate(source, reference)
    if alias is not None:
        parse_reference(f"{candidate.version.model}@{alias}")  # an alias, not a number
    existing = _promoted_before(candidate, registry)
    if existing is not None:
        return dataclasses.replace(
            _result(candidate, target, alias, [], dry_run=dry_run),
            target_version=existing.version_id,
            already=True,
            target_aliases=sorted(existing.aliases),
        )
    gates = judge(target.settings.gates, candidate, registry, target.settings.env)
    result = _result(candidate, target, alias, gates, dry_run=dry_run)
    if dry_run:
        return result
    if not result.passed:
        failed = [g for g in gates if not g.passed]
        registry.record_event(
            candidate.version.model,
            HistoryAction.PROMOTION_REFUSED,
            details={**candidate.key, "gates": [g.to_json() for g in gates]},
        )
        raise PromotionRefused(
            f"promotion of {candidate.label} to {target.settings.env} refused: "
            + "; ".join(f"{g.name}: {g.detail}" for g in failed),
            result,
        )
    created = _copy(candidate, target, registry, gates)
    if alias is not None:
        created = registry.set_alias(created.model, alias, created.version_id)
    return dataclasses.replace(
        result,
        target_version=created.version_id,
        promoted=True,
        target_aliases=sorted(created.aliases),
    )


def approve(
    source: Home, target: Home, reference: str, *, reason: str, user: str | None = None
) -> HistoryEntry:
    """Record in `target`'s history that `user` approves promoting the version `reference`
    names in `source` (by its environment, model, version and sha256), and why."""
    _check_apart(source, target)
    candidate = _candidate(source, reference)
    return record_approval(_registry(target, user), candidate.key, reason)


def _check_apart(source: Home, target: Home) -> None:
    """Two environments of one metadata store would share one registry: nothing to copy."""
    if source.settings.metadata_url == target.settings.metadata_url:
        raise AutomationUsageError(
            f"--from {source.settings.env} and --to {target.settings.env} use the same "
            "metadata store (metadata_url); promotion copies between environments with "
            "stores of their own: give each its metadata_url in conveyor.toml"
        )


def _registry(home: Home, user: str | None) -> Registry:
    return home.registry.acting_as(user) if user else home.registry


def _candidate(source: Home, reference: str) -> Candidate:
    version = source.registry.get_version(reference)
    evaluations = source.registry.list_evaluations(version.model, version.version_id)
    return Candidate(source.settings.env, version, evaluations, source)


def _promoted_before(candidate: Candidate, registry: Registry) -> ModelVersion | None:
    """The target's version that this candidate became when promoted before, if any."""
    try:
        existing = registry.list_versions(candidate.version.model)
    except ModelNotFound:
        return None
    key = candidate.key
    for v in existing:
        if v.origin and {k: v.origin.get(k) for k in key} == key:
            return v
    return None


def _result(
    candidate: Candidate, target: Home, alias: str | None, gates: list[GateResult], *, dry_run: bool
) -> Promotion:
    v = candidate.version
    return Promotion(
        source_env=candidate.environment,
        model=v.model,
        version=v.version_id,
        sha256=v.sha256,
        target_env=target.settings.env,
        target_model=v.model,
        target_version=None,
        alias=alias,
        gates=gates,
        promoted=False,
        dry_run=dry_run,
    )


def _copy(
    candidate: Candidate, target: Home, registry: Registry, gates: list[GateResult]
) -> ModelVersion:
    """The version's files published in the target's store, registered there with its
    origin, then its evaluations; the published files go again if the upload fails."""
    v = candidate.version
    name = f"from-{candidate.environment}-{v.version_id}-{v.sha256[:12]}"
    parts = ["models", v.model, name]
    if v.artifact_kind == "file":
        parts.append(v.artifact_uri.rstrip("/").rsplit("/", 1)[-1])
    uri = target.artifacts.uri_for(*parts)
    published = copy_version(v, target.artifacts, uri)
    origin = {
        **candidate.key,
        "artifact_uri": v.artifact_uri,
        "artifact_id": v.artifact_id,
        "run_id": v.run_id,
        "execution_id": v.execution_id,
    }
    # The copy's store artifact, which the upload links the version to (LIVE, same URI
    # and sha256), so that lineage in the target starts from where it came from.
    artifact = target.store.create_artifact(
        published.uri, MODEL_TYPE, v.model, metadata={ORIGIN: origin}
    )
    try:
        target.store.publish_artifact(artifact, sha256=published.sha256, size=published.size)
        created = registry.upload(
            v.model,
            published.uri,
            framework=v.framework,
            description=v.description,
            labels=_labels(v.labels, candidate.environment),
            input_schema=v.input_schema,
            output_schema=v.output_schema,
            trusted=v.trusted,
            origin={**origin, "gates": [g.to_json() for g in gates]},
            comment=f"promoted from {candidate.label}",
        )
    except BaseException:
        target.store.set_artifact_state(artifact, ArtifactState.DELETED)
        target.artifacts.delete(published.uri)
        raise
    for e in candidate.evaluations:
        registry.add_evaluation(v.model, created.version_id, e.metrics, slice=e.slice)
    return created


def _labels(labels: dict[str, str], environment: str) -> dict[str, str]:
    """The version's labels, plus `promoted-from` when there is room and the name fits."""
    value = re.sub(r"[^a-z0-9_-]", "-", environment.lower())[:63]
    if len(labels) >= 64 or PROMOTED_FROM in labels:
        return dict(labels)
    return {**labels, PROMOTED_FROM: value}
