"""The model registry: models, their numbered versions, aliases, evaluations and history.

Vertex AI Model Registry's semantics on the metadata store; see docs/registry.md.

    from conveyor.registry import Registry
    from conveyor.store.metadata import MetadataStore

    with MetadataStore.open() as store:
        version = Registry(store).upload("churn", "out/model", framework="sklearn")
"""

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
