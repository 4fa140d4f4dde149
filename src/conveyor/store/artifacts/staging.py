"""Staging areas: private folders where outputs are written before they are published.

Each staged output gets its own folder `<area>/<random>/`, so two tasks never share one.
Whatever a killed task left there is swept away once it has been untouched for a day.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

STALE_AFTER_SECONDS = 24 * 60 * 60


def fresh_path(area: Path, name: str) -> Path:
    """A path named `name` that does not exist yet, in a new folder of its own."""
    folder = area / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder / name


def release(path: Path, area: Path) -> None:
    """Drop what is left of a staged output, with its private folder when it has one."""
    _remove(path.parent if path.parent.parent == area else path)


def discard(path: Path, area: Path) -> None:
    """Remove `path` (file or folder) so that it vanishes at once: it is first renamed into
    the staging area, which must be on its filesystem, so no reader sees it half deleted."""
    trash = fresh_path(area, "discarded")
    os.rename(path, trash)
    release(trash, area)


def sweep(area: Path) -> None:
    """Remove entries of `area` in which nothing changed for a day: leftovers of killed tasks."""
    cutoff = time.time() - STALE_AFTER_SECONDS
    if not area.is_dir():
        return
    for entry in area.iterdir():
        if not _touched_since(entry, cutoff):
            _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _touched_since(path: Path, cutoff: float) -> bool:
    """Whether `path` or anything below it changed after `cutoff`."""
    try:
        if path.lstat().st_mtime > cutoff:
            return True
        if not path.is_dir() or path.is_symlink():
            return False
        for parent, folders, files in os.walk(path):
            for name in folders + files:
                if os.lstat(os.path.join(parent, name)).st_mtime > cutoff:
                    return True
    except FileNotFoundError:
        return True  # someone else is removing or moving it: leave it to them
    return False
