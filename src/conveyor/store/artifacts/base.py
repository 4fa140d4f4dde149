"""The artifact store contract: where outputs are staged, how they are published and read.

The engine asks `uri_for` for an output's final URI and `staging_path` for the local path the
task writes to; once the task succeeded it calls `publish`, after which the artifact is
complete at its URI with the returned sha256 and size. `local_path` turns an input URI into
a path a task can read. `ArtifactStore.open` picks the backend from the root.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.config import Settings
from conveyor.store.artifacts import naming
from conveyor.store.artifacts.cache import InputCache
from conveyor.store.artifacts.errors import ArtifactStoreError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # fsspec is imported for a remote URI only


@dataclass(frozen=True)
class Published:
    """A published artifact: its final URI, the sha256 of its content and its size in bytes."""

    uri: str
    sha256: str
    size: int


class ArtifactStore(ABC):
    """Artifacts under one root: a local folder, or any fsspec URL such as `s3://bucket/prefix`."""

    root: str
    """The root as a URI: an absolute path for a local root, else an fsspec URL."""

    def __init__(self, local_dir: Path) -> None:
        self.local_dir = local_dir
        """This machine's folder for the store's local copies (Conveyor's home folder)."""
        self.cache = InputCache(local_dir / "cache" / "artifacts")

    @classmethod
    def open(
        cls,
        root: str | os.PathLike[str] | None = None,
        storage_options: dict[str, Any] | None = None,
        *,
        local_dir: str | os.PathLike[str] | None = None,
    ) -> ArtifactStore:
        """The store at `root`, checked writable; `local_dir` holds its local copies (input
        cache, staged outputs). Both default to the settings of the environment
        (`conveyor.config.Settings`).

        `storage_options` go to the fsspec filesystem of a remote root (for S3, e.g.
        `endpoint_url`, `key`, `secret`); without them fsspec reads its usual environment
        variables and config files. Raises `ArtifactRootError` when the root cannot be written.
        """
        from conveyor.store.artifacts.local import LocalArtifactStore

        if root is None or local_dir is None:
            settings = Settings.from_env()
            root = settings.artifact_root if root is None else root
            local_dir = settings.folder if local_dir is None else local_dir
        where, local = os.fspath(root), Path(local_dir)
        if naming.is_local(where):
            store: ArtifactStore = LocalArtifactStore(naming.local_of(where), local)
        else:
            from conveyor.store.artifacts.remote import RemoteArtifactStore

            store = RemoteArtifactStore(where, local, storage_options)
        store._check_writable()
        store._sweep()
        return store

    def uri_for(self, *parts: str) -> str:
        """The final URI of an artifact named by `parts`, e.g. pipeline, run id, task key and
        output name. Slashes in a part make path segments; other unsafe characters are
        percent-encoded, so `for-loop-2[0]` becomes `for-loop-2%5B0%5D`."""
        return self._uri_of(naming.segments(parts))

    @abstractmethod
    def staging_path(self, uri: str) -> Path:
        """A fresh local path, not yet existing in an existing folder, where a task writes the
        output that will be published at `uri`: one file or one folder."""

    @abstractmethod
    def publish(self, staging: Path, uri: str) -> Published:
        """Make what was written at `staging` the complete artifact at `uri`, all at once.
        Raises `ArtifactStoreError` when nothing was written there."""

    @abstractmethod
    def is_complete(self, uri: str) -> bool:
        """Whether the artifact at `uri` was published completely and is still all there."""

    @abstractmethod
    def verify(self, uri: str, sha256: str) -> bool:
        """Whether the artifact at `uri` is complete and its content hashes to `sha256`."""

    @abstractmethod
    def delete(self, uri: str) -> None:
        """Remove the artifact at `uri`; it stops being complete first. Missing is fine."""

    def local_path(self, uri: str) -> Path:
        """A local path from which a task reads the input artifact at `uri`: the path itself
        for a local URI, else a checked copy in the download cache, fetched once per version."""
        if naming.is_local(uri):
            path = naming.local_of(uri)
            if not path.exists():
                raise ArtifactStoreError(f"input artifact {uri} does not exist; check the URI")
            return path
        fs, data, ours = self._remote(uri)
        return self.cache.fetch(fs, data, uri, require_manifest=ours)

    def _remote(self, uri: str) -> tuple[AbstractFileSystem, str, bool]:
        """The filesystem and path of a remote URI, and whether it lies under this root."""
        import fsspec

        try:
            fs, data = fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError) as exc:
            raise ArtifactStoreError(f"cannot read input artifact {uri}: {exc}") from exc
        return fs, data, False

    @abstractmethod
    def _uri_of(self, segments: list[str]) -> str:
        """The URI of the encoded `segments` below the root."""

    @abstractmethod
    def _check_writable(self) -> None:
        """Write and delete a probe at the root; raise `ArtifactRootError` saying why not."""

    def _sweep(self) -> None:
        """Clean up after killed processes: stale staged outputs and half downloads."""
        self.cache.sweep()
