"""What an artifact holds, read at upload: every file with its sha256, and the framework's file.

The registry records the artifact where it is (no copy). A local path (or
`file://` URL) becomes an absolute path, the form the artifact store writes, so
an upload finds the metadata store's record of the same artifact. Any other URL
is read through fsspec (`s3://`, `gs://`, `memory://`). The sha256 of each file
is kept with the version; runtimes check the files against it before loading.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

import fsspec

from conveyor.registry.errors import InvalidArtifact
from conveyor.registry.frameworks import Framework, expected, model_file
from conveyor.store.artifacts import digest as digests
from conveyor.store.artifacts.naming import is_local, local_of


@dataclass(frozen=True)
class Contents:
    """An artifact's normalised URI and digest (kind, sha256, size, files)."""

    uri: str
    digest: digests.Digest


def read_contents(uri: str | os.PathLike[str], framework: Framework) -> Contents:
    """Hash the artifact at `uri` and check it holds `framework`'s model file."""
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArtifact("the artifact URI is empty; pass the model folder's path or URL")
    if is_local(uri):
        path = local_of(uri)
        contents = Contents(str(path), _local_digest(path))
    else:
        contents = _remote_contents(uri)
    _check_model_file(contents, framework)
    return contents


def _local_digest(path: Path) -> digests.Digest:
    if not path.exists():
        raise InvalidArtifact(
            f"{path} does not exist; pass the folder that holds the saved model "
            "(for scikit-learn, a folder with model.skops)"
        )
    try:
        return digests.of_path(path)
    except OSError as exc:
        raise InvalidArtifact(f"cannot read {exc.filename or path}: {exc.strerror}") from exc


def _remote_contents(uri: str) -> Contents:
    try:
        fs, path = fsspec.core.url_to_fs(uri)
        path = path.rstrip("/")
        where = fs.unstrip_protocol(path)
        if not fs.exists(path):
            raise InvalidArtifact(f"{where} does not exist; pass the URL of the model folder")
        if fs.isdir(path):
            files = []
            for found in sorted(fs.find(path)):
                with fs.open(found, "rb") as stream:
                    files.append(digests.of_stream(posixpath.relpath(found, path), stream))
            return Contents(where, digests.combine(digests.FOLDER, files))
        with fs.open(path, "rb") as stream:
            return Contents(where, digests.combine(digests.FILE, [digests.of_stream("", stream)]))
    except ImportError as exc:
        raise InvalidArtifact(f"reading {uri} needs a package that is missing: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise InvalidArtifact(f"cannot read {uri}: {exc}") from exc


def _check_model_file(contents: Contents, framework: Framework) -> None:
    found = contents.digest
    if found.kind == digests.FILE:
        name = posixpath.basename(contents.uri)
        if model_file(framework, {name}) is None:
            raise InvalidArtifact(
                f"{contents.uri} is not a {framework} model file: a {framework} artifact is "
                f"a folder holding {expected(framework)}, or that file itself"
            )
        return
    top = {f.path for f in found.files if "/" not in f.path}
    if model_file(framework, top) is None:
        shown = ", ".join(sorted(top)[:8]) or "no files"
        raise InvalidArtifact(
            f"{contents.uri} holds no {expected(framework)} at its top level (it holds "
            f"{shown}); save the {framework} model under that name, or pick the framework "
            "it was saved with"
        )
