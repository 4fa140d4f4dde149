"""Errors of the artifact store, with the reason and the fix in the message."""

from __future__ import annotations

from conveyor.errors import ConveyorError, UsageError


class ArtifactStoreError(ConveyorError):
    """An artifact cannot be written, found or read; the message names it and what to do."""


class ArtifactRootError(ArtifactStoreError, UsageError):
    """The configured artifact root cannot be used: bad input, so the CLI exits with 2."""


def root_unusable(root: str, exc: BaseException) -> ArtifactRootError:
    """The error for a root that failed the write probe, with the likely cause spelled out."""
    if isinstance(exc, PermissionError) and "://" in root:
        reason = "permission denied; check the credentials and that they may write there"
    elif isinstance(exc, PermissionError):
        reason = "permission denied; fix the folder's permissions or choose another root"
    elif isinstance(exc, FileNotFoundError):
        reason = "it does not exist; create the bucket (or folder) first"
    elif isinstance(exc, NotADirectoryError | FileExistsError):
        reason = "a file stands where a folder is needed; choose another root"
    else:
        reason = f"{type(exc).__name__}; check the URL, the endpoint and the network"
    return ArtifactRootError(f"artifact root {root} is not writable: {reason} ({exc})")


def nothing_written(uri: str, staging: object) -> ArtifactStoreError:
    """The error for publishing an output that the task never wrote."""
    return ArtifactStoreError(
        f"output artifact {uri} was not produced: nothing was written at {staging}; "
        "the task must write a file or a folder at its output path"
    )
