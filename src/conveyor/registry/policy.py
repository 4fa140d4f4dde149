"""`ArtifactPolicy`: what an upload may make the registry read, and how much, for how long.

An upload names its artifact by path or URL and the registry reads every byte of it to
record its sha256, so the URI is a read made on the caller's behalf. The CLI and Python
act for a user who can read those files anyway: local paths anywhere (unless roots are
configured) and URLs of the allowed schemes. A server acts for callers from afar
(`Registry.for_requests`): local paths only under the roots, and never a URL that names
any host (`http://`), so a request cannot make it fetch a URL or read a system file.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from conveyor.config import DEFAULT_ARTIFACT_SCHEMES, Settings
from conveyor.registry.errors import InvalidArtifact
from conveyor.store.artifacts.naming import is_local, readable_folders

HOST_SCHEMES = frozenset({"http", "https", "ftp", "sftp", "ssh", "smb", "webdav", "dav", "webhdfs"})
"""Schemes whose URLs name a host of the caller's choosing: never read for a request."""


@dataclasses.dataclass(frozen=True)
class ArtifactPolicy:
    """The URL schemes, local folders, bytes and seconds an upload may use."""

    schemes: frozenset[str] = frozenset(DEFAULT_ARTIFACT_SCHEMES)
    """Schemes of the URLs read through fsspec; local paths and `file://` are not URLs here."""
    roots: tuple[Path, ...] = ()
    """Local folders artifacts may come from."""
    anywhere: bool = True
    """Whether local paths outside `roots` are read too (never from afar)."""
    max_bytes: int = Settings.artifact_max_bytes
    seconds: float = Settings.artifact_read_seconds
    from_afar: bool = False
    """Whether uploads come from callers from afar (the REST API): then only the roots
    hold local artifacts, and URLs naming a host are refused whatever `schemes` say."""

    @classmethod
    def of(cls, settings: Settings) -> ArtifactPolicy:
        """The policy of a home: its artifact root is always readable, whether a folder or
        a URL, beside the configured roots; with none configured, local paths anywhere."""
        schemes = set(settings.artifact_schemes)
        if not is_local(settings.artifact_root):
            schemes.add(scheme_of(settings.artifact_root))
        return cls(
            schemes=frozenset(schemes),
            roots=readable_folders(settings.allowed_artifact_roots, settings.artifact_root),
            anywhere=not settings.allowed_artifact_roots,
            max_bytes=settings.artifact_max_bytes,
            seconds=settings.artifact_read_seconds,
        )

    def for_requests(self) -> ArtifactPolicy:
        """This policy for callers from afar: local paths only under the roots, no host URLs."""
        return dataclasses.replace(self, from_afar=True)

    def check_url(self, uri: str) -> None:
        """Refuse a URL whose scheme this policy does not read."""
        if "::" in uri:
            raise InvalidArtifact(
                f"{uri}: chained fsspec URLs (::) are not read; pass the model's own URL"
            )
        scheme = scheme_of(uri)
        if self.from_afar and scheme in HOST_SCHEMES:
            raise InvalidArtifact(
                f"{uri}: the registry never fetches {scheme}:// URLs for a request; put the "
                "model in object storage (s3://, gs://) or under an allowed folder"
            )
        if scheme in self.schemes:
            return
        allowed = ", ".join(f"{s}://" for s in sorted(self.schemes)) or "none"
        raise InvalidArtifact(
            f"{uri}: the registry does not read {scheme}:// URLs (allowed: {allowed}); "
            "CONVEYOR_ARTIFACT_SCHEMES sets them"
        )

    def check_local(self, real: Path) -> None:
        """Refuse a local path (its real path, symlinks resolved) outside the roots."""
        if self.anywhere and not self.from_afar:
            return
        for root in self.roots:
            if real.is_relative_to(os.path.realpath(root)):
                return
        where = ", ".join(map(str, self.roots)) or "none"
        raise InvalidArtifact(
            f"{real} is outside the folders model uploads may read ({where}); move the model "
            "under one, or add its folder to CONVEYOR_ALLOWED_ARTIFACT_ROOTS"
        )


def scheme_of(uri: str) -> str:
    """The scheme of a URL: `s3` for `s3://bucket/model`."""
    return uri.partition("://")[0].lower()
