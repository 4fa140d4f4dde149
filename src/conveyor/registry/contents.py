"""What an artifact holds, read at upload: every file with its sha256, and the framework's file.

The registry records the artifact where it is (no copy). A local path (or
`file://` URL) becomes an absolute path, the form the artifact store writes, so
an upload finds the metadata store's record of the same artifact. A URL of an
allowed scheme is read through fsspec (`s3://`, `gs://`). What is read, how much and
for how long follow the registry's `ArtifactPolicy`. The sha256 of each file
is kept with the version; runtimes check the files against it before loading.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import BinaryIO

from conveyor.registry.budget import Budget
from conveyor.registry.errors import InvalidArtifact
from conveyor.registry.frameworks import FOLDER_ONLY, Framework, expected, model_file
from conveyor.registry.policy import ArtifactPolicy
from conveyor.registry.sources import LocalSource, RemoteSource
from conveyor.store.artifacts import digest as digests
from conveyor.store.artifacts.naming import is_local, local_of


@dataclass(frozen=True)
class Contents:
    """An artifact's normalised URI and digest (kind, sha256, size, files)."""

    uri: str
    digest: digests.Digest
    source: LocalSource | RemoteSource
    budget: Budget

    def open(self, rel: str) -> BinaryIO:
        """The file `rel` ("" for a file artifact), to read again within the upload's time."""
        return self.budget.again().metered(self.source.open(rel))


def read_contents(
    uri: str | os.PathLike[str], framework: Framework, policy: ArtifactPolicy
) -> Contents:
    """Hash the artifact at `uri` as `policy` allows and check it holds `framework`'s model file."""
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArtifact("the artifact URI is empty; pass the model folder's path or URL")
    if is_local(uri):
        path = local_of(uri)
        budget = Budget.start(str(path), policy.max_bytes, policy.seconds)
        try:
            contents = _hashed(LocalSource(path, policy, budget), budget)
        except OSError as exc:
            raise InvalidArtifact(f"cannot read {exc.filename or path}: {exc.strerror}") from exc
    else:
        policy.check_url(uri)
        budget = Budget.start(uri, policy.max_bytes, policy.seconds)
        try:
            contents = _hashed(RemoteSource(uri, budget), budget)
        except ImportError as exc:
            raise InvalidArtifact(f"reading {uri} needs a package that is missing: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise InvalidArtifact(f"cannot read {uri}: {exc}") from exc
    _check_model_file(contents, framework)
    return contents


def _hashed(source: LocalSource | RemoteSource, budget: Budget) -> Contents:
    budget.check_size(sum(source.sizes.values()))
    files = []
    for rel in sorted(source.sizes):
        with budget.metered(source.open(rel)) as stream:
            files.append(digests.of_stream(rel, stream))
    return Contents(source.uri, digests.combine(source.kind, files), source, budget)


def _check_model_file(contents: Contents, framework: Framework) -> None:
    found = contents.digest
    if found.kind == digests.FILE:
        name = posixpath.basename(contents.uri)
        if framework in FOLDER_ONLY:
            raise InvalidArtifact(
                f"{contents.uri} is one file, but a {framework} model is a folder: upload "
                f"the folder that holds {expected(framework)} (with its variables/ and assets/)"
            )
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
