"""From a registered model version to a loaded runtime, once per version per process.

    loader = ModelLoader(home.settings.cache_dir / "models")    # or `home.models`
    runtime = loader.load(registry.get_version("churn@production"))

The version's artifact is found where the registry recorded it: a local folder is loaded
in place; a single-file artifact is linked into a private folder of its own; a remote
artifact (`s3://`, `gs://`, any fsspec URL) is downloaded once into the loader's cache
folder, keyed by its sha256. Then `load_model` checks every file against the sha256 recorded at
upload, and the version's trust and input schema, before any framework reads a byte.

Runtimes are shared: two deployments of one version use one runtime. The loader holds
them weakly, so a runtime no deployment serves any more is freed once the requests still
using it finish.
"""

from __future__ import annotations

import os
import shutil
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.config import Settings
from conveyor.registry import ModelVersion
from conveyor.store.artifacts import naming

if TYPE_CHECKING:
    from conveyor.serving.runtimes import Runtime

# The runtimes (numpy, the frameworks) are imported when a model is first loaded: a home
# that only runs pipelines never imports numpy, whose OpenBLAS threads would make the
# engine's process unsafe to fork its workers from.


class ModelLoader:
    """Loads model versions into runtimes; thread-safe, one load per version at a time.
    Downloads and single-file artifacts go to `cache_dir` (default: `cache/models` of the
    environment's home folder)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir or Settings.from_env().cache_dir / "models"
        self._runtimes: weakref.WeakValueDictionary[tuple[str, int, str], Runtime] = (
            weakref.WeakValueDictionary()
        )
        self._locks: dict[tuple[str, int, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def load(self, version: ModelVersion) -> Runtime:
        """The loaded runtime of `version`; raises `ModelLoadError` saying why it cannot be."""
        key = (version.model, version.version_id, version.sha256)
        found = self._runtimes.get(key)
        if found is not None:
            return found
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self._runtimes.get(key)
            if found is None:
                found = self._load(version)
                self._runtimes[key] = found
        return found

    def local_folder(self, version: ModelVersion) -> tuple[Path, dict[str, str]]:
        """A local folder holding the version's files, and their recorded sha256s."""
        uri = version.artifact_uri
        if version.artifact_kind == "file":
            name = uri.rstrip("/").rsplit("/", 1)[-1]
            folder = naming.inside(self.cache_dir, version.sha256)
            if not (folder / name).exists():
                _stage(folder, lambda staging: _place_file(version, staging / name))
            return folder, {name: version.sha256}
        sha256s = {f.path: f.sha256 for f in version.files}
        if naming.is_local(uri):
            return naming.local_of(uri), sha256s
        folder = naming.inside(self.cache_dir, version.sha256)
        if not folder.exists():
            _stage(folder, lambda staging: _download(version, staging))
        return folder, sha256s

    def _load(self, version: ModelVersion) -> Runtime:
        """Load `version` afresh: checksums, trust and schema checked."""
        from conveyor.serving.runtimes import load_model

        folder, sha256s = self.local_folder(version)
        return load_model(
            folder,
            framework=str(version.framework),
            sha256s=sha256s,
            trusted=version.trusted,
            schema=version.input_schema,
        )


def _stage(folder: Path, fill) -> None:
    """Fill a fresh folder beside `folder`, then rename it into place (all or nothing)."""
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        fill(staging)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.exists():  # another process won the race otherwise
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place_file(version: ModelVersion, target: Path) -> None:
    from conveyor.serving.runtimes.errors import MissingModelFile

    uri = version.artifact_uri
    if not naming.is_local(uri):
        _download(version, target)
        return
    source = naming.local_of(uri)
    try:
        os.link(source, target)
    except OSError:
        try:
            shutil.copy2(source, target)
        except OSError as exc:
            raise MissingModelFile(
                f"{version.reference}: cannot read {uri}: {exc.strerror}; restore the file or "
                "upload the model again"
            ) from exc


def _download(version: ModelVersion, target: Path) -> None:
    import fsspec

    from conveyor.serving.runtimes.errors import ModelLoadError

    uri = version.artifact_uri
    try:
        fs, path = fsspec.core.url_to_fs(uri)
        if fs.isdir(path):
            fs.get(path.rstrip("/") + "/", str(target), recursive=True)
        else:
            fs.get(path, str(target))
    except Exception as exc:
        raise ModelLoadError(
            f"{version.reference}: cannot download {uri}: {type(exc).__name__}: {exc}; check "
            "the URL and the credentials"
        ) from exc
