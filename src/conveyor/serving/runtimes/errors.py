"""Errors of the model runtimes: each names the file or the feature, and what to do.

Two families matter to the server: `ModelLoadError` (the model cannot be served: the
deployment fails; HTTP 503, the server keeps serving its other models) and `InvalidInput`
(the request is wrong: HTTP 400, the server keeps serving). `PredictionError` is the
model failing on input it accepted: HTTP 500.
"""

from __future__ import annotations

from conveyor.errors import ConveyorError, UsageError


class ModelLoadError(ConveyorError):
    """A model folder cannot be loaded; the message names the file and the fix."""

    http_status = 503


class MissingModelFile(ModelLoadError):
    """A file the model needs, or one its checksums name, is not in the folder."""


class ChecksumMismatch(ModelLoadError):
    """A file's bytes differ from the sha256 recorded at upload, or it was never recorded."""


class UntrustedModel(ModelLoadError):
    """Loading the model would run code from the file (pickle, custom predictor, or types
    that skops does not trust); only versions marked trusted may do that."""


class InvalidSchema(UsageError):
    """An input schema is malformed; the message names the entry."""


class SchemaMismatch(ModelLoadError):
    """The recorded input schema and the model disagree on the features."""


class InvalidInput(UsageError):
    """The instances of a request do not fit the model: a missing, unknown or mistyped
    feature, a wrong number of values. `feature` and `instance` say where, when known."""

    def __init__(self, message: str, *, feature: str | None = None, instance: int | None = None):
        super().__init__(message)
        self.feature = feature
        self.instance = instance


class PredictionError(ConveyorError):
    """The model failed on input that passed the checks (a bug in the model or its code)."""
