"""Cloud Storage as GCPC's components see it: `gs://` URIs, on a laptop or in Google Cloud.

With the setting `gcs_root` (`CONVEYOR_GCS_ROOT`), `gs://bucket/path` is the local file
`<gcs_root>/bucket/path` (`conveyor.config.local_gcs_path`, the one place that maps it):
a pipeline written for Vertex AI runs on a machine without Cloud Storage. Without it,
`gs://` URIs are read and written through fsspec (gcsfs), with the machine's Google
credentials. Local paths are local paths either way.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from conveyor.client import Client
from conveyor.components.gcpc._launcher import LauncherError
from conveyor.config import local_gcs_path


@dataclass(frozen=True)
class Storage:
    """Reads and writes `gs://` URIs as the run's settings say (module docstring)."""

    gcs_root: str | None = None

    @classmethod
    def of(cls, client: Client) -> Storage:
        return cls(client.home.settings.gcs_root)

    def local(self, uri: str) -> str:
        """Where `uri` is read or written: its local file when Cloud Storage is mapped to a
        folder (or it is local already), else the URI itself, for fsspec."""
        mapped = local_gcs_path(uri, self.gcs_root)
        if mapped is not None:
            return str(mapped)
        return uri.removeprefix("file://")

    def is_remote(self, uri: str) -> bool:
        return "://" in self.local(uri)

    def open(self, uri: str, mode: str = "r") -> IO[Any]:
        """`uri` opened for reading or writing; a local file's folders are made first."""
        where = self.local(uri)
        if not self.is_remote(uri):
            if "w" in mode:
                Path(where).parent.mkdir(parents=True, exist_ok=True)
            return open(where, mode)
        import fsspec

        return fsspec.open(where, mode).open()

    def expand(self, uri: str) -> list[str]:
        """The files a URI names, wildcards (`*`, `?`, `[...]`) expanded, in order: as the
        URIs given (`gs://...`), each one a file. LauncherError when none exists."""
        where = self.local(uri)
        if self.is_remote(uri):
            import fsspec

            fs, path = fsspec.core.url_to_fs(where)
            found = sorted(fs.glob(path)) if glob.has_magic(path) else [path]
            found = [p for p in found if fs.isfile(p)]
            protocol = uri.split("://", 1)[0]
            files = [f"{protocol}://{p}" for p in found]
        else:
            found = sorted(glob.glob(where)) if glob.has_magic(where) else [where]
            files = [self._as_given(uri, p) for p in found if os.path.isfile(p)]
        if not files:
            raise LauncherError(f"{uri} names no file{self._where(uri)}")
        return files

    def names(self, uri: str) -> set[str]:
        """The names of the files and folders at the top of the folder `uri` (a file: its
        own name); LauncherError when nothing is there."""
        where = self.local(uri).rstrip("/")
        if self.is_remote(uri):
            import fsspec

            fs, path = fsspec.core.url_to_fs(where)
            found = {p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)}
        elif os.path.isdir(where):
            found = set(os.listdir(where))
        else:
            found = {os.path.basename(where)} if os.path.exists(where) else set()
        if not found:
            raise LauncherError(f"{uri} holds no files{self._where(uri)}")
        return found

    def makedirs(self, uri: str) -> str:
        """Make the folder `uri` names (Cloud Storage has none to make); where it is."""
        where = self.local(uri)
        if not self.is_remote(uri):
            Path(where).mkdir(parents=True, exist_ok=True)
        return where

    def copy_into(self, uri: str, folder: Path) -> Path:
        """Copy the file at `uri` into the local `folder`; the copy's path."""
        target = folder / uri.rstrip("/").rsplit("/", 1)[-1]
        folder.mkdir(parents=True, exist_ok=True)
        if self.is_remote(uri):
            with self.open(uri, "rb") as source, open(target, "wb") as copy:
                shutil.copyfileobj(source, copy)
        else:
            shutil.copyfile(self.local(uri), target)
        return target

    def _as_given(self, uri: str, path: str) -> str:
        """A local match of a pattern, named as the pattern was (`gs://...` when mapped)."""
        mapped = local_gcs_path(uri, self.gcs_root)
        if mapped is None:
            return path
        bucket_root = Path(self.gcs_root or "")
        return "gs://" + Path(path).relative_to(bucket_root).as_posix()

    def _where(self, uri: str) -> str:
        mapped = local_gcs_path(uri, self.gcs_root)
        if mapped is not None:
            return f" (it is {mapped}: CONVEYOR_GCS_ROOT maps gs:// to {self.gcs_root})"
        if uri.startswith(("gs://", "gcs://")):
            return " (read through gcsfs; set CONVEYOR_GCS_ROOT to map gs:// to a folder)"
        return ""
