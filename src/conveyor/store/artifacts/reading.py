"""An artifact's files, read for a viewer: only under the store's root, only regular files.

    files = artifact_files(home.artifacts, record.uri)
    for entry in files.entries():          # ("", 120) for a one-file artifact
        with files.open(entry) as stream:  # a binary stream
            ...

What a server reads on a client's behalf, so nothing here follows a path to where it
should not be: a local artifact must resolve (symlinks followed) inside the store's root,
outside its staging area; its files are opened without following a final symlink, and
only when they are regular files (not a FIFO a read would hang on, nor a device). A
folder's symlinks and hidden entries are left out. A remote artifact must lie under the
store's root on the store's own filesystem and be complete (its manifest written).
"""

from __future__ import annotations

import os
import posixpath
import stat
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from conveyor.errors import UsageError
from conveyor.store.artifacts import naming
from conveyor.store.artifacts.errors import ArtifactStoreError
from conveyor.store.metadata.errors import NotFound

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from conveyor.store.artifacts.base import ArtifactStore
    from conveyor.store.artifacts.remote import RemoteArtifactStore


class ArtifactRefused(ArtifactStoreError, UsageError):
    """The artifact cannot be shown as asked: outside the root, not a regular file, not
    of a type or format a viewer reads. Bad input: HTTP 400."""


class ArtifactMissing(ArtifactStoreError, NotFound):
    """The artifact's files are not there (deleted, or never completed): HTTP 404."""


@dataclass(frozen=True)
class Entry:
    """A regular file of an artifact: its path inside it (`""` when the artifact is that
    one file) and its size in bytes."""

    name: str
    size: int

    @property
    def suffix(self) -> str:
        """`.csv`, `.parquet`, ... in lower case; `""` without one."""
        return posixpath.splitext(self.name)[1].lower()


class ArtifactFiles(ABC):
    """The regular files of one artifact."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @abstractmethod
    def entries(self) -> list[Entry]:
        """Its regular files, by name; one nameless entry for a one-file artifact."""

    @abstractmethod
    def open(self, entry: Entry) -> IO[bytes]:
        """A binary stream of `entry`; close it after use."""


def artifact_files(store: ArtifactStore, uri: str) -> ArtifactFiles:
    """The files of the artifact at `uri`, which must lie under `store`'s root; else
    `ArtifactRefused` (outside) or `ArtifactMissing` (not there)."""
    if not uri:
        raise ArtifactMissing("the artifact has no URI: nothing was written for it")
    if naming.is_local(store.root):
        from conveyor.store.artifacts.local import LocalArtifactStore

        assert isinstance(store, LocalArtifactStore)
        return _LocalFiles(uri, store.path, store.staging_area)
    from conveyor.store.artifacts.remote import RemoteArtifactStore as Remote

    assert isinstance(store, Remote)
    return _RemoteFiles(store, uri)


def _outside(uri: str, root: str) -> ArtifactRefused:
    return ArtifactRefused(
        f"artifact {uri} is not under the artifact root {root}; only artifacts published "
        "there are read"
    )


class _LocalFiles(ArtifactFiles):
    def __init__(self, uri: str, root: Path, staging: Path) -> None:
        super().__init__(uri)
        if not naming.is_local(uri):
            raise _outside(uri, str(root))
        try:
            self.path = naming.local_of(uri).resolve(strict=True)
            self.mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            raise ArtifactMissing(f"artifact {uri} is not there (deleted?)") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            raise ArtifactRefused(f"artifact {uri} cannot be read: {exc}") from None
        real_root = root.resolve()
        if self.path == real_root or not self.path.is_relative_to(real_root):
            raise _outside(uri, str(root))
        if self.path.is_relative_to(staging.resolve()):
            raise ArtifactMissing(f"artifact {uri} is still being written")

    def entries(self) -> list[Entry]:
        if stat.S_ISREG(self.mode):
            return [Entry("", os.lstat(self.path).st_size)]
        if not stat.S_ISDIR(self.mode):
            raise ArtifactRefused(f"artifact {self.uri} is neither a regular file nor a folder")
        found = []
        for folder, folders, names in os.walk(self.path):  # symlinks to folders not followed
            folders[:] = [name for name in folders if not name.startswith(".")]
            for name in names:
                try:
                    info = os.lstat(os.path.join(folder, name))
                except FileNotFoundError:  # removed while listed
                    continue
                if not name.startswith(".") and stat.S_ISREG(info.st_mode):
                    inside = Path(folder, name).relative_to(self.path).as_posix()
                    found.append(Entry(inside, info.st_size))
        return sorted(found, key=lambda entry: entry.name)

    def open(self, entry: Entry) -> IO[bytes]:
        path = self.path / entry.name if entry.name else self.path
        # No final symlink; O_NONBLOCK: a FIFO put there meanwhile cannot hang the open.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            raise ArtifactMissing(f"artifact {self.uri} is not there (deleted?)") from None
        except OSError as exc:
            raise ArtifactRefused(f"artifact {self.uri} cannot be read: {exc}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ArtifactRefused(f"artifact {self.uri}: {entry.name or 'it'} is not a file")
        return os.fdopen(fd, "rb")


class _RemoteFiles(ArtifactFiles):
    def __init__(self, store: RemoteArtifactStore, uri: str) -> None:
        import fsspec

        super().__init__(uri)
        self.fs: AbstractFileSystem = store.fs
        protocols = self.fs.protocol
        protocols = protocols if isinstance(protocols, tuple) else (protocols,)
        if fsspec.utils.get_protocol(uri) not in protocols:
            raise _outside(uri, store.root)
        self.data = fsspec.core.strip_protocol(uri).rstrip("/")
        pieces = self.data.split("/")
        if ".." in pieces or "." in pieces or not self.data.startswith(store.path + "/"):
            raise _outside(uri, store.root)
        if not store.is_complete(uri):
            raise ArtifactMissing(f"artifact {uri} is not there, or not complete")

    def entries(self) -> list[Entry]:
        try:
            info = self.fs.info(self.data)
        except FileNotFoundError:
            raise ArtifactMissing(f"artifact {self.uri} is not there (deleted?)") from None
        if info["type"] == "file":
            return [Entry("", int(info["size"]))]
        found = []
        for path, detail in self.fs.find(self.data, detail=True).items():
            inside = path[len(self.data) + 1 :]
            hidden = any(piece.startswith(".") for piece in inside.split("/"))
            if detail["type"] == "file" and inside and not hidden:
                found.append(Entry(inside, int(detail["size"])))
        return sorted(found, key=lambda entry: entry.name)

    def open(self, entry: Entry) -> IO[bytes]:
        path = posixpath.join(self.data, entry.name) if entry.name else self.data
        try:
            return self.fs.open(path, "rb")
        except FileNotFoundError:
            raise ArtifactMissing(f"artifact {self.uri} is not there (deleted?)") from None
