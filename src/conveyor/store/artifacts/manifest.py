"""Manifests: the completion marker of an artifact in an object store.

Uploads of many objects cannot be atomic, so a remote artifact counts as complete only once
its manifest exists: a small JSON object written after the last data object, beside the
data (`<folder>/.<name>.manifest.json`), holding the kind, sha256, size and file list.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
from typing import TYPE_CHECKING

from conveyor.store.artifacts.digest import FILE, Digest, FileDigest
from conveyor.store.artifacts.errors import ArtifactStoreError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

FORMAT = 1


def path_of(data: str) -> str:
    """Where the manifest of the artifact stored at `data` lives."""
    parent, name = posixpath.split(data)
    return posixpath.join(parent, f".{name}.manifest.json")


def data_path(data: str, file: FileDigest) -> str:
    """Where one file of the artifact stored at `data` lives."""
    return posixpath.join(data, file.path) if file.path else data


def write(fs: AbstractFileSystem, data: str, digest: Digest) -> None:
    """Mark the artifact at `data` complete; call it after every data object is uploaded."""
    body = {
        "format": FORMAT,
        "kind": digest.kind,
        "sha256": digest.sha256,
        "size": digest.size,
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in digest.files],
    }
    fs.pipe_file(path_of(data), json.dumps(body, indent=1).encode())


def read(fs: AbstractFileSystem, data: str) -> Digest | None:
    """The manifest of the artifact at `data`, or None when it was never completed."""
    where = path_of(data)
    try:
        body = json.loads(fs.cat_file(where))
        files = tuple(FileDigest(f["path"], f["size"], f["sha256"]) for f in body["files"])
        return Digest(body["kind"], body["sha256"], body["size"], files)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactStoreError(
            f"manifest {fs.unstrip_protocol(where)} is unreadable ({exc!r}); "
            "delete the artifact and re-run the task that produced it"
        ) from exc


def remove(fs: AbstractFileSystem, data: str) -> None:
    """Withdraw the completion mark of the artifact at `data`, if it has one."""
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(path_of(data))


def matches(fs: AbstractFileSystem, data: str, digest: Digest) -> bool:
    """Whether every object the manifest lists is present with its size."""
    fs.invalidate_cache(data)
    if digest.kind == FILE:
        try:
            info = fs.info(data)
        except FileNotFoundError:
            return False
        return info["type"] == "file" and info["size"] == digest.size
    found = fs.find(data, detail=True)
    return all(found.get(data_path(data, f), {}).get("size") == f.size for f in digest.files)
