"""The local artifact store: a folder where publishing an output is a single rename."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from conveyor.store.artifacts import digest as digests
from conveyor.store.artifacts import naming
from conveyor.store.artifacts.base import ArtifactStore, Published
from conveyor.store.artifacts.errors import ArtifactStoreError, nothing_written, root_unusable
from conveyor.store.artifacts.staging import discard, fresh_path, release, sweep


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a local folder. Outputs are staged in `<root>/.staging/`, on the same
    filesystem, so `publish` renames them into place: the final path holds the whole
    artifact or nothing, whenever the process is killed."""

    def __init__(self, root: Path, local_dir: Path) -> None:
        super().__init__(local_dir)
        self.path = root
        self.root = str(root)
        self.staging_area = root / ".staging"

    def staging_path(self, uri: str) -> Path:
        return fresh_path(self.staging_area, self._final(uri).name)

    def publish(self, staging: Path, uri: str) -> Published:
        final = self._final(uri)
        if not os.path.lexists(staging):
            raise nothing_written(uri, staging)
        digest = digests.of_path(staging, durable=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(final) and (final.is_dir() or staging.is_dir()):
            discard(final, self.staging_area)  # a rename cannot replace a folder
        try:
            os.replace(staging, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            raise ArtifactStoreError(
                f"cannot publish {uri}: {staging} is on another filesystem than the "
                f"artifact root {self.root}; write outputs at the path staging_path() gives"
            ) from exc
        _sync_folder(final.parent)
        release(staging, self.staging_area)
        return Published(uri, digest.sha256, digest.size)

    def is_complete(self, uri: str) -> bool:
        return os.path.lexists(self._final(uri))

    def verify(self, uri: str, sha256: str) -> bool:
        final = self._final(uri)
        return final.exists() and digests.of_path(final).sha256 == sha256

    def delete(self, uri: str) -> None:
        final = self._final(uri)
        if os.path.lexists(final):
            discard(final, self.staging_area)

    def _final(self, uri: str) -> Path:
        """The path of `uri`, which must lie below the root and outside the staging area."""
        path = naming.local_of(uri) if naming.is_local(uri) else None
        if path is None or path == self.path or not path.is_relative_to(self.path):
            raise ArtifactStoreError(
                f"{uri} is not below the artifact root {self.root}; make URIs with uri_for()"
            )
        if path.is_relative_to(self.staging_area):
            raise ArtifactStoreError(f"{uri} lies in the staging area; make URIs with uri_for()")
        return path

    def _uri_of(self, segments: list[str]) -> str:
        return str(self.path.joinpath(*segments))

    def _check_writable(self) -> None:
        # access(2) answers as a write would (permissions, read-only mounts) without
        # creating a file, which costs a cached run a millisecond on some filesystems.
        try:
            self.staging_area.mkdir(parents=True, exist_ok=True)
            for folder in (self.path, self.staging_area):
                if not os.access(folder, os.W_OK | os.X_OK):
                    code = errno.EROFS if _read_only(folder) else errno.EACCES
                    raise OSError(code, os.strerror(code), str(folder))
        except OSError as exc:
            raise root_unusable(self.root, exc) from exc

    def _sweep(self) -> None:
        super()._sweep()
        sweep(self.staging_area)


def _read_only(folder: Path) -> bool:
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries, so a rename into it survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
