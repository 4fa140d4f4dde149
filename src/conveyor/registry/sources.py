"""Where an artifact's bytes come from: a local file or folder walked by the rules, or a URL.

A local artifact is read only as far as it is plainly a model: regular files, and symlinks
that stay inside the folder (followed as the artifact store's digest follows them).
Special files (`/dev/zero`, a FIFO, a socket) are never opened; a symlink that leaves the
folder, loops or points nowhere is refused by name. A URL is read through fsspec.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import BinaryIO

import fsspec

from conveyor.registry.budget import Budget
from conveyor.registry.errors import InvalidArtifact
from conveyor.registry.policy import ArtifactPolicy
from conveyor.store.artifacts.digest import FILE, FOLDER

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO put in a file's place cannot block the open
    | getattr(os, "O_CLOEXEC", 0)
)

_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


class LocalSource:
    """A local artifact: its `kind`, and each file's size by relative POSIX path ("" for a
    file artifact), each opened at the real path the walk found."""

    def __init__(self, path: Path, policy: ArtifactPolicy, budget: Budget) -> None:
        self.uri = str(path)
        real = _real(path)
        policy.check_local(real)
        mode = os.stat(real).st_mode
        if stat.S_ISDIR(mode):
            self.kind, self._files = FOLDER, _walk(path, real, budget)
        elif stat.S_ISREG(mode):
            self.kind, self._files = FILE, {"": real}
        else:
            raise InvalidArtifact(_special(str(path), mode))
        self.sizes = {rel: os.stat(where).st_size for rel, where in self._files.items()}

    def open(self, rel: str) -> BinaryIO:
        where = self._files[rel]
        try:
            fd = os.open(where, _OPEN_FLAGS)
        except OSError as exc:
            raise InvalidArtifact(f"cannot read {where}: {exc.strerror}") from exc
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise InvalidArtifact(_special(str(where), mode))
        return os.fdopen(fd, "rb", buffering=0)


class RemoteSource:
    """An artifact at a URL, read through fsspec; the same members as `LocalSource`."""

    def __init__(self, uri: str, budget: Budget) -> None:
        self.fs, path = fsspec.core.url_to_fs(uri)
        path = path.rstrip("/")
        self.uri = self.fs.unstrip_protocol(path)
        if not self.fs.exists(path):
            raise InvalidArtifact(f"{self.uri} does not exist; pass the URL of the model folder")
        if self.fs.isdir(path):
            found = self.fs.find(path, detail=True)
            self.kind, self._files, self.sizes = FOLDER, {}, {}
            for where, info in found.items():
                rel = posixpath.relpath(where, path)
                self._files[rel], self.sizes[rel] = where, info.get("size") or 0
        else:
            self.kind, self._files, self.sizes = FILE, {"": path}, {"": self.fs.size(path) or 0}
        budget.check_time()

    def open(self, rel: str) -> BinaryIO:
        return self.fs.open(self._files[rel], "rb")


def _real(path: Path) -> Path:
    """The real path of `path`, refusing one that is missing or a symlink that loops."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        if not os.path.lexists(path):
            raise InvalidArtifact(
                f"{path} does not exist; pass the folder that holds the saved model "
                "(for scikit-learn, a folder with model.skops)"
            ) from exc
        raise InvalidArtifact(
            f"cannot read {path}: {exc.strerror or 'a symlink loops or points to nothing'}"
        ) from exc


def _walk(shown: Path, root: Path, budget: Budget) -> dict[str, Path]:
    """Each file below the real folder `root` by relative POSIX path, at its real path."""
    files: dict[str, Path] = {}
    pending = [("", root, (root,))]  # relative prefix, real folder, real folders above it
    while pending:
        prefix, folder, above = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                budget.check_time()
                rel = prefix + entry.name
                real = _link_target(shown, rel, entry.path, root) if entry.is_symlink() else None
                where = real or Path(entry.path)
                mode = os.stat(where, follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    if where in above:
                        raise InvalidArtifact(
                            f"{shown}: {rel} is a symlink to {where}, a folder that holds it, "
                            "so following it would loop; remove the symlink"
                        )
                    pending.append((rel + "/", where, (*above, where)))
                elif stat.S_ISREG(mode):
                    files[rel] = where
                else:
                    raise InvalidArtifact(_special(f"{shown}: {rel}", mode))
    return files


def _link_target(shown: Path, rel: str, link: str, root: Path) -> Path:
    """Where the symlink `rel` leads, if that is inside the folder `root`."""
    try:
        target = Path(os.path.realpath(link, strict=True))
    except OSError as exc:
        raise InvalidArtifact(
            f"{shown}: {rel} is a symlink that loops or points to nothing "
            f"({os.readlink(link)}); remove it, or point it at a file in the folder"
        ) from exc
    if not target.is_relative_to(root):
        raise InvalidArtifact(
            f"{shown}: {rel} is a symlink to {target}, outside the model folder; the registry "
            "reads only what the folder holds: copy the file in instead (cp -L)"
        )
    return target


def _special(where: str, mode: int) -> str:
    kind = next((name for test, name in _SPECIAL if test(mode)), "not a file")
    return f"{where} is {kind}, not a regular file; the registry reads only regular files"
