"""Content digests: the sha256 and size Conveyor records for a file or a folder artifact.

A file's sha256 is that of its bytes, what `sha256sum` prints. A folder's sha256 is that of
a listing holding one record per file, sorted by relative POSIX path:
`<file sha256> <size> <path>\\0`. Empty sub-folders hold no bytes and are left out, so a
folder hashes the same on a local disk and in an object store, which has no folders.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

FILE = "file"
FOLDER = "folder"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    """One file of an artifact; `path` is relative to the artifact, "" for a file artifact."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Digest:
    """What an artifact holds: its kind, its sha256, its total size and its files."""

    kind: str
    sha256: str
    size: int
    files: tuple[FileDigest, ...]


def combine(kind: str, files: Iterable[FileDigest]) -> Digest:
    """The digest of an artifact made of `files` (already hashed one by one)."""
    files = tuple(sorted(files, key=lambda f: f.path))
    size = sum(f.size for f in files)
    if kind == FILE:
        return Digest(FILE, files[0].sha256, size, files)
    listing = hashlib.sha256()
    for f in files:
        listing.update(f"{f.sha256} {f.size} {f.path}\0".encode())
    return Digest(FOLDER, listing.hexdigest(), size, files)


def of_path(path: Path, *, durable: bool = False) -> Digest:
    """The digest of a local file or folder; `durable` also flushes every file to disk,
    so a rename that publishes it cannot outlive its bytes after a power cut."""
    if path.is_dir():
        files = [_of_file(path / rel, rel, durable) for rel in relative_files(path)]
        return combine(FOLDER, files)
    return combine(FILE, [_of_file(path, "", durable)])


def relative_files(folder: Path) -> list[str]:
    """The files below `folder` as sorted relative POSIX paths."""
    found = []
    for parent, _, names in os.walk(folder, followlinks=True):
        base = Path(parent).relative_to(folder)
        found.extend((base / name).as_posix() for name in names)
    return sorted(found)


def of_stream(path: str, stream: BinaryIO) -> FileDigest:
    """The digest of one file read from an open binary stream."""
    sha, size = hashlib.sha256(), 0
    for chunk in _chunks(stream):
        sha.update(chunk)
        size += len(chunk)
    return FileDigest(path, size, sha.hexdigest())


def _of_file(path: Path, rel: str, durable: bool) -> FileDigest:
    with path.open("rb") as stream:
        found = of_stream(rel, stream)
        if durable:
            os.fsync(stream.fileno())
    return found


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk
