"""What the registry returns: plain, frozen dataclasses that turn into JSON with `to_json()`.

They hold no database session: keep them, pass them between threads, serve
them over REST.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

from conveyor.registry.frameworks import PICKLE_FILES, Framework, model_file
from conveyor.registry.names import DEFAULT
from conveyor.store.metadata.records import to_json


class _Record:
    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@dataclasses.dataclass(frozen=True)
class ArtifactFile(_Record):
    """One file of a version's artifact; `path` is relative to the artifact folder, or ""
    when the artifact is this one file."""

    path: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class ModelVersion(_Record):
    """A version of a model: its artifact, the sha256 of each of its files, and its lineage.

    `artifact_kind` is `folder` or `file`; `sha256` digests the whole artifact the
    way the artifact store does (`conveyor.store.artifacts.digest`). `artifact_id`,
    `run_id` and `execution_id` link the version to the metadata store. `origin` says
    where a version promoted from another environment came from (its environment,
    model, version, run, execution, artifact, sha256, and the gates it passed); None
    for a version uploaded here.
    """

    model: str
    version_id: int
    aliases: list[str]
    description: str | None
    labels: dict[str, str]
    framework: Framework
    artifact_uri: str
    artifact_kind: str
    sha256: str
    size: int
    files: list[ArtifactFile]
    input_schema: list[dict[str, str]] | None
    output_schema: list[dict[str, str]] | None
    trusted: bool
    artifact_id: int | None
    run_id: str | None
    execution_id: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    origin: dict[str, Any] | None = None

    @property
    def reference(self) -> str:
        """`model@version_id`: names this version whatever its aliases become."""
        return f"{self.model}@{self.version_id}"

    @property
    def is_default(self) -> bool:
        return DEFAULT in self.aliases

    @property
    def model_file(self) -> str | None:
        """The file a runtime of this framework loads (the first it prefers that is present)."""
        if self.artifact_kind == "file":
            names = {self.artifact_uri.rstrip("/").rsplit("/", 1)[-1]}
        else:
            names = {f.path for f in self.files if "/" not in f.path}
        return model_file(self.framework, names)

    @property
    def needs_trust(self) -> bool:
        """Whether its model file is a pickle, which runtimes load only for trusted versions."""
        return self.model_file in PICKLE_FILES


@dataclasses.dataclass(frozen=True)
class Model(_Record):
    """A registered model: `aliases` maps each alias to the version holding it."""

    name: str
    description: str | None
    labels: dict[str, str]
    default_version: int | None
    aliases: dict[str, int]
    version_count: int
    latest_version: int | None
    created_at: datetime
    updated_at: datetime


@dataclasses.dataclass(frozen=True)
class Evaluation(_Record):
    """Metrics of a version over all data (`slice` None) or over one slice (feature -> value)."""

    id: int
    model: str
    version_id: int
    metrics: dict[str, Any]
    slice: dict[str, Any] | None
    run_id: str | None
    created_by: str
    created_at: datetime


class HistoryAction(StrEnum):
    """What a history entry records."""

    MODEL_CREATED = "model_created"
    MODEL_UPDATED = "model_updated"
    MODEL_DELETED = "model_deleted"
    VERSION_CREATED = "version_created"
    VERSION_UPDATED = "version_updated"
    VERSION_DELETED = "version_deleted"
    ALIAS_SET = "alias_set"
    ALIAS_REMOVED = "alias_removed"
    EVALUATION_ADDED = "evaluation_added"
    PROMOTION_APPROVED = "promotion_approved"
    PROMOTION_REFUSED = "promotion_refused"
    ROLLOUT_STARTED = "rollout_started"
    ROLLOUT_PROMOTED = "rollout_promoted"
    ROLLOUT_ROLLED_BACK = "rollout_rolled_back"
    ROLLOUT_ABORTED = "rollout_aborted"


EVENT_ACTIONS = frozenset(
    {
        HistoryAction.PROMOTION_APPROVED,
        HistoryAction.PROMOTION_REFUSED,
        HistoryAction.ROLLOUT_STARTED,
        HistoryAction.ROLLOUT_PROMOTED,
        HistoryAction.ROLLOUT_ROLLED_BACK,
        HistoryAction.ROLLOUT_ABORTED,
    }
)
"""What the history records that changes no registry row (`Registry.record_event`)."""


@dataclasses.dataclass(frozen=True)
class HistoryEntry(_Record):
    """One change, as recorded: who (`actor`), when, why (`comment`), and what.

    For an alias, `version` is the version that holds it afterwards (None once
    removed) and `previous_version` the one that held it before (None when new).
    `details` holds the rest: the old and new values of an update, the aliases a
    deleted version held.
    """

    id: int
    model: str
    action: HistoryAction
    version: int | None
    alias: str | None
    previous_version: int | None
    actor: str
    comment: str | None
    details: dict[str, Any]
    created_at: datetime
