"""The remote artifact store: any fsspec filesystem, such as S3 or GCS.

Outputs are staged on the local disk, uploaded object by object at publish, and marked
complete by a manifest written last (see `manifest`), since an object store cannot
rename a folder atomically.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid
from pathlib import Path
from typing import Any

import fsspec
from fsspec import AbstractFileSystem

from conveyor.store.artifacts import digest as digests
from conveyor.store.artifacts import manifest
from conveyor.store.artifacts.base import ArtifactStore, Published
from conveyor.store.artifacts.errors import (
    ArtifactRootError,
    ArtifactStoreError,
    nothing_written,
    root_unusable,
)
from conveyor.store.artifacts.staging import fresh_path, release, sweep

UPLOADS = ".uploads"
"""The folder below the root of `upload_area`s."""


class RemoteArtifactStore(ArtifactStore):
    """Artifacts below an fsspec URL; outputs are staged in `staging/` of the local folder."""

    def __init__(
        self, root: str, local_dir: Path, storage_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__(local_dir)
        self.storage_options = dict(storage_options or {})
        try:
            self.fs, path = fsspec.core.url_to_fs(root, **self.storage_options)
        except ImportError as exc:
            raise ArtifactRootError(f"artifact root {root} needs a missing package: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise ArtifactRootError(f"artifact root {root} cannot be opened: {exc}") from exc
        self.path = path.rstrip("/")
        if not self.path:
            raise ArtifactRootError(f"artifact root {root} names no bucket; use s3://BUCKET/PREFIX")
        self.root = self.fs.unstrip_protocol(self.path)
        self.staging_area = local_dir / "staging"

    def staging_path(self, uri: str) -> Path:
        return fresh_path(self.staging_area, posixpath.basename(self._data(uri)))

    def publish(self, staging: Path, uri: str) -> Published:
        data = self._data(uri)
        if not os.path.lexists(staging):
            raise nothing_written(uri, staging)
        digest = digests.of_path(staging)
        sources = [str(staging / f.path) if f.path else str(staging) for f in digest.files]
        try:
            manifest.remove(self.fs, data)  # an older version stops being complete first
            self._remove_data(data)
            self.fs.put(sources, [manifest.data_path(data, f) for f in digest.files])
            manifest.write(self.fs, data, digest)
        except OSError as exc:
            raise ArtifactStoreError(
                f"cannot publish {uri}: {exc}; it is not complete, publish it again"
            ) from exc
        release(staging, self.staging_area)
        return Published(uri, digest.sha256, digest.size)

    def is_complete(self, uri: str) -> bool:
        data = self._data(uri)
        found = manifest.read(self.fs, data)
        return found is not None and manifest.matches(self.fs, data, found)

    def verify(self, uri: str, sha256: str) -> bool:
        data = self._data(uri)
        found = manifest.read(self.fs, data)
        if found is None or not manifest.matches(self.fs, data, found):
            return False
        files = []
        try:
            for f in found.files:
                with self.fs.open(manifest.data_path(data, f), "rb") as stream:
                    files.append(digests.of_stream(f.path, stream))
        except FileNotFoundError:
            return False  # deleted while we read it
        return digests.combine(found.kind, files).sha256 == sha256

    def delete(self, uri: str) -> None:
        data = self._data(uri)
        manifest.remove(self.fs, data)
        self._remove_data(data)

    def upload_area(self) -> str:
        """A fresh URI below the root where a process elsewhere (a task on a Ray node)
        uploads outputs, for `take_upload` to bring here; its leading dot keeps it apart
        from every artifact's folder (`naming.segment`)."""
        return self.fs.unstrip_protocol(posixpath.join(self.path, UPLOADS, uuid.uuid4().hex))

    def take_upload(self, uri: str, local: Path) -> None:
        """Download what was uploaded at `uri` (a file, or a folder's files) to `local`;
        nothing when nothing was (a metadata-only output)."""
        data = self._data(uri)
        if self.fs.isdir(data):
            for name in self.fs.find(data):
                target = local / posixpath.relpath(name, data)
                target.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(name, str(target))
        elif self.fs.exists(data):
            local.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(data, str(local))

    def drop_upload(self, uri: str) -> None:
        """Remove what was uploaded at `uri`, if anything."""
        self._remove_data(self._data(uri))

    def _remove_data(self, data: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(data, recursive=True)

    def _data(self, uri: str) -> str:
        """The path of `uri` on this filesystem; it must lie below the root."""
        data = self._own_path(uri)
        if data is None or not data.startswith(self.path + "/"):
            raise ArtifactStoreError(
                f"{uri} is not below the artifact root {self.root}; make URIs with uri_for()"
            )
        return data

    def _own_path(self, uri: str) -> str | None:
        """The path of `uri` when it uses this store's protocol, else None."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        if fsspec.utils.get_protocol(uri) not in protocols:
            return None
        return self.fs._strip_protocol(uri).rstrip("/")

    def _remote(self, uri: str) -> tuple[AbstractFileSystem, str, bool]:
        data = self._own_path(uri)
        if data is None:
            return super()._remote(uri)
        return self.fs, data, data.startswith(self.path + "/")

    def _uri_of(self, segments: list[str]) -> str:
        return self.fs.unstrip_protocol(posixpath.join(self.path, *segments))

    def _check_writable(self) -> None:
        probe = posixpath.join(self.path, f".probe-{uuid.uuid4().hex}")
        try:
            self.fs.pipe_file(probe, b"probe")
            self.fs.rm_file(probe)
        except Exception as exc:  # any failure, of any client library, means unusable
            raise root_unusable(self.root, exc) from exc

    def _sweep(self) -> None:
        super()._sweep()
        sweep(self.staging_area)
