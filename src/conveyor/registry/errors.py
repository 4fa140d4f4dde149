"""The registry's errors: each names what was asked, what is wrong, and what to do.

Each family declares what the faces answer (`conveyor.errors`): `NotFound` (HTTP 404,
exit 2 in the CLI), `RegistryUsageError` (400), `RegistryConflict` (409).
"""

from __future__ import annotations

from conveyor.errors import UsageError
from conveyor.store.metadata.errors import NotFound


class RegistryUsageError(UsageError):
    """A request the registry cannot take as written: a bad name, alias, label or artifact."""


class InvalidName(RegistryUsageError):
    """A model name, alias or version reference breaks its grammar."""


class InvalidLabels(RegistryUsageError):
    """Labels break Vertex AI's label rules."""


class InvalidSchema(RegistryUsageError):
    """An input or output schema is not a list of named, typed features."""


class InvalidArtifact(RegistryUsageError):
    """The artifact is missing, unreadable, or lacks the file its framework loads."""


class UnknownFramework(RegistryUsageError):
    """The framework is not one the model runtimes serve."""


class InvalidEvaluation(RegistryUsageError):
    """Evaluation metrics or a slice that cannot be stored as JSON."""


class RegistryConflict(UsageError):
    """The request is well formed but the registry's current state forbids it."""

    http_status = 409


class AliasRefused(RegistryConflict):
    """The `default` alias cannot be removed, only moved."""


class DeleteRefused(RegistryConflict):
    """A version still holds `default`, or something (a deployment) still uses it."""


class ModelNotFound(NotFound):
    """No registered model of that name."""


class VersionNotFound(NotFound):
    """The model has no such version, or no version holds that alias."""
