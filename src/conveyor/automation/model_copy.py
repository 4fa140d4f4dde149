"""Copying a model version's files into another environment's artifact store, verified.

Each file is hashed as it is read from the source and written to the target store's staging
place; a file whose size or sha256 differs from what the source registry recorded stops the
copy, and the staged files are removed: nothing half-written is ever published. Once every
file matches, the store publishes them all at once (a rename, or the objects then their
manifest), and the copy is read back from where it was published and checked again against
the version's sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.store.artifacts import ArtifactStore, Published
from conveyor.store.artifacts import digest as digests
from conveyor.store.artifacts.naming import is_local, local_of

if TYPE_CHECKING:
    from conveyor.registry import ArtifactFile, ModelVersion

_CHUNK = 1 << 20


class ChecksumMismatch(AutomationConflict):
    """A file of the version no longer holds the bytes its registry recorded."""


def copy_version(version: ModelVersion, artifacts: ArtifactStore, uri: str) -> Published:
    """Publish the files of `version` at `uri` of `artifacts`, each checked by its sha256
    against the version's record on the way in, the whole checked again once published."""
    staging = artifacts.staging_path(uri)
    try:
        copied = [_copy_file(version, f, staging) for f in version.files]
        whole = digests.combine(version.artifact_kind, copied)
        if whole.sha256 != version.sha256:
            raise ChecksumMismatch(
                f"{version.reference}: its files hash to {whole.sha256}, not the recorded "
                f"{version.sha256}; nothing was copied"
            )
    except BaseException:
        _remove(staging)
        raise
    published = artifacts.publish(staging, uri)
    if published.sha256 != version.sha256 or not artifacts.verify(uri, version.sha256):
        artifacts.delete(uri)
        raise ChecksumMismatch(
            f"{version.reference}: the copy at {uri} does not hash to {version.sha256} once "
            "written; it was removed, try again"
        )
    return published


def _copy_file(version: ModelVersion, file: ArtifactFile, staging: Path) -> digests.FileDigest:
    """Copy one file into `staging`, hashing it; refuse it if it is not what was recorded."""
    target = staging / file.path if file.path else staging
    target.parent.mkdir(parents=True, exist_ok=True)
    sha, size = hashlib.sha256(), 0
    shown = _shown(version.artifact_uri, file.path)
    try:
        with _open(version.artifact_uri, file.path) as source, target.open("xb") as out:
            while chunk := source.read(_CHUNK):
                sha.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except OSError as exc:
        raise AutomationUsageError(
            f"{version.reference}: cannot read {shown}: {exc.strerror or exc}"
        ) from exc
    if sha.hexdigest() != file.sha256 or size != file.size:
        raise ChecksumMismatch(
            f"{version.reference}: {shown} has changed since it was registered (sha256 "
            f"{sha.hexdigest()[:12]}, {size} bytes; recorded {file.sha256[:12]}, {file.size} "
            "bytes); nothing was copied. Upload the model again as a new version"
        )
    return digests.FileDigest(file.path, size, file.sha256)


def _open(uri: str, rel: str) -> BinaryIO:
    if is_local(uri):
        path = local_of(uri)
        return (path / rel if rel else path).open("rb")
    import fsspec

    fs, root = fsspec.core.url_to_fs(uri)
    return fs.open(posixpath.join(root.rstrip("/"), rel) if rel else root, "rb")


def _shown(uri: str, rel: str) -> str:
    return posixpath.join(uri, rel) if rel else uri


def _remove(staging: Path) -> None:
    """Remove what was staged, and the staging folder made for it once empty."""
    if staging.is_dir() and not staging.is_symlink():
        shutil.rmtree(staging, ignore_errors=True)
    elif os.path.lexists(staging):
        staging.unlink()
    with contextlib.suppress(OSError):
        staging.parent.rmdir()
