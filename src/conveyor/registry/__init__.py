"""The model registry: models, their numbered versions, aliases, evaluations and history.

Vertex AI Model Registry's semantics on the metadata store; see docs/registry.md.

    from conveyor.registry import Registry
    from conveyor.store.metadata import MetadataStore

    with MetadataStore.open() as store:
        version = Registry(store).upload("churn", "out/model", framework="sklearn")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import exports

if TYPE_CHECKING:
    from conveyor.registry.errors import (
        AliasRefused,
        DeleteRefused,
        InvalidArtifact,
        InvalidEvaluation,
        InvalidLabels,
        InvalidName,
        InvalidSchema,
        ModelNotFound,
        RegistryConflict,
        RegistryUsageError,
        UnknownFramework,
        VersionNotFound,
    )
    from conveyor.registry.frameworks import MODEL_FILES, PICKLE_FILES, Framework
    from conveyor.registry.names import DEFAULT
    from conveyor.registry.policy import ArtifactPolicy
    from conveyor.registry.records import (
        ArtifactFile,
        Evaluation,
        HistoryAction,
        HistoryEntry,
        Model,
        ModelVersion,
    )
    from conveyor.registry.references import Reference, parse_reference
    from conveyor.registry.registry import DeleteGuard, Registry, VersionSelector
    from conveyor.registry.schemas import FEATURE_TYPES

__getattr__ = exports(
    __name__,
    {
        "errors": (
            "AliasRefused",
            "DeleteRefused",
            "InvalidArtifact",
            "InvalidEvaluation",
            "InvalidLabels",
            "InvalidName",
            "InvalidSchema",
            "ModelNotFound",
            "RegistryConflict",
            "RegistryUsageError",
            "UnknownFramework",
            "VersionNotFound",
        ),
        "frameworks": (
            "MODEL_FILES",
            "PICKLE_FILES",
            "Framework",
        ),
        "names": ("DEFAULT",),
        "policy": ("ArtifactPolicy",),
        "records": (
            "ArtifactFile",
            "Evaluation",
            "HistoryAction",
            "HistoryEntry",
            "Model",
            "ModelVersion",
        ),
        "references": (
            "Reference",
            "parse_reference",
        ),
        "registry": (
            "DeleteGuard",
            "Registry",
            "VersionSelector",
        ),
        "schemas": ("FEATURE_TYPES",),
    },
)
"""Each public name is imported from its module when first used: the errors, names and
records cost nothing, the registry itself brings the store (SQLAlchemy)."""

__all__ = [
    "DEFAULT",
    "FEATURE_TYPES",
    "MODEL_FILES",
    "PICKLE_FILES",
    "AliasRefused",
    "ArtifactFile",
    "ArtifactPolicy",
    "DeleteGuard",
    "DeleteRefused",
    "Evaluation",
    "Framework",
    "HistoryAction",
    "HistoryEntry",
    "InvalidArtifact",
    "InvalidEvaluation",
    "InvalidLabels",
    "InvalidName",
    "InvalidSchema",
    "Model",
    "ModelNotFound",
    "ModelVersion",
    "Reference",
    "Registry",
    "RegistryConflict",
    "RegistryUsageError",
    "UnknownFramework",
    "VersionNotFound",
    "VersionSelector",
    "parse_reference",
]
