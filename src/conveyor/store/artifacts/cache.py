"""Local copies of remote input artifacts, so that tasks read them from a plain path.

A copy lives at `<folder>/<hash of the URI>/<version>/<name>`. The version is the artifact's
sha256 from its manifest or, for objects that Conveyor did not publish, a hash of their
listing (names, sizes, ETags, times), so a changed object is fetched again. Each copy is
downloaded into `<folder>/.tmp/`, checked against the manifest and renamed into place, all
under a file lock: readers never see half a copy and concurrent readers download once.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.store.artifacts import digest as digests
from conveyor.store.artifacts import manifest
from conveyor.store.artifacts.errors import ArtifactStoreError
from conveyor.store.artifacts.staging import fresh_path, release, sweep

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # a remote store's: fsspec is imported with it


class InputCache:
    """The local folder of downloaded input artifacts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def sweep(self) -> None:
        """Drop downloads that a killed process left half done."""
        sweep(self.folder / ".tmp")

    def fetch(self, fs: AbstractFileSystem, data: str, uri: str, *, require_manifest: bool) -> Path:
        """A local copy of the artifact stored at `data` on `fs`, downloaded once per version.

        `require_manifest` refuses an artifact without a manifest: inside a Conveyor root
        that means its producer never finished publishing it.
        """
        found = manifest.read(fs, data)
        if found is None and require_manifest:
            raise ArtifactStoreError(
                f"input artifact {uri} is not complete: it has no manifest, so the task that "
                "produced it did not finish publishing; re-run that task"
            )
        version = found.sha256 if found else _listing_version(fs, data, uri)
        key = hashlib.sha256(uri.encode()).hexdigest()[:32]
        target = self.folder / key / version / posixpath.basename(data)
        if target.exists():
            return target
        self.folder.mkdir(parents=True, exist_ok=True)
        from filelock import FileLock

        with FileLock(self.folder / f"{key}.lock"):
            if not target.exists():
                self._download(fs, data, uri, found, target)
        return target

    def _download(
        self,
        fs: AbstractFileSystem,
        data: str,
        uri: str,
        found: digests.Digest | None,
        target: Path,
    ) -> None:
        temporary = fresh_path(self.folder / ".tmp", target.name)
        try:
            sources, targets = _plan(fs, data, found, temporary)
            fs.get(sources, [str(t) for t in targets])
            if found is not None:
                got = digests.of_path(temporary)
                if got.sha256 != found.sha256:
                    raise ArtifactStoreError(
                        f"input artifact {uri} does not match its manifest (sha256 {got.sha256}, "
                        f"expected {found.sha256}): it was changed or damaged after publishing; "
                        "re-run the task that produced it"
                    )
            target.parent.parent.mkdir(parents=True, exist_ok=True)
            os.rename(temporary.parent, target.parent)
        except OSError as exc:
            raise ArtifactStoreError(f"cannot download input artifact {uri}: {exc}") from exc
        finally:
            release(temporary, self.folder / ".tmp")


def _plan(
    fs: AbstractFileSystem, data: str, found: digests.Digest | None, local: Path
) -> tuple[list[str], list[Path]]:
    """Which remote objects to fetch, and where each goes below `local`."""
    if found is not None:
        files = [f.path for f in found.files]
    elif fs.isdir(data):
        files = [posixpath.relpath(name, data) for name in sorted(fs.find(data))]
    else:
        files = [""]
    if files == [""]:
        return [data], [local]
    local.mkdir()
    return [posixpath.join(data, f) for f in files], [local / f for f in files]


def _listing_version(fs: AbstractFileSystem, data: str, uri: str) -> str:
    """A version of an object without a manifest: the hash of what its listing says."""
    fs.invalidate_cache(data)
    try:
        infos = fs.find(data, detail=True) if fs.isdir(data) else {data: fs.info(data)}
    except FileNotFoundError:
        infos = {}
    if not infos:
        raise ArtifactStoreError(f"input artifact {uri} does not exist; check the URI")
    listing = json.dumps(infos, sort_keys=True, default=str)
    return hashlib.sha256(listing.encode()).hexdigest()
