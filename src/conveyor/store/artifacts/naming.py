"""Names made into paths: any name a user gives as one path segment that every backend accepts.

The one rule for every path Conveyor builds from a name (a pipeline's, a task's, an
output's, a run id): `segment` encodes it, `inside` joins segments under a root and checks
that the result stays there (`contained`). Artifact URIs (`segments`) follow the same rule.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

# Letters, digits and these stay readable; anything else is percent-encoded, so brackets of
# loop iterations cannot act as fsspec glob patterns and no name can escape its folder.
# `~` is encoded too: a segment holds it only before the digest of a name cut short.
_SAFE = "-_."


def segments(parts: tuple[str, ...]) -> list[str]:
    """The path segments of an artifact: each part split on `/`, each piece a `segment`."""
    pieces = [piece for part in parts for piece in str(part).split("/")]
    if not pieces or "" in pieces:
        raise ValueError(
            f"artifact name parts {parts!r} must be non-empty and hold no empty path segments"
        )
    return [segment(piece) for piece in pieces]


MAX_SEGMENT = 200
"""Bytes of the longest segment `segment` makes (file systems take 255; what is left is
for what callers append, such as `.lock`). Segments are ASCII: one byte a character."""
DIGEST_LENGTH = 32
"""Hex digits of the sha256 that ends a segment cut short."""


def segment(name: str) -> str:
    """Any name (a task key's part, an output's name, a run id) as one path segment that
    cannot leave its folder: letters, digits and `-_.` kept, everything else (a leading
    dot too) percent-encoded, `''` as `%`, and a name too long for a file system cut,
    with `~` and a digest of the whole name after it. Two names never share a segment:
    `%` always starts an escape but in `%` itself, and only a cut segment holds a `~`."""
    text = _encode(name) if name else "%"
    if len(text) <= MAX_SEGMENT:
        return text
    cut = text[: MAX_SEGMENT - DIGEST_LENGTH - 1]
    cut = cut[: cut.rfind("%")] if "%" in cut[-2:] else cut  # no escape cut in two
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{cut}~{digest[:DIGEST_LENGTH]}"


def inside(root: Path, *names: str) -> Path:
    """`root` / each of `names` as a `segment`: a path that cannot leave `root`, checked
    as `contained` checks it."""
    return contained(root, root.joinpath(*(segment(name) for name in names)))


def contained(root: Path, path: Path) -> Path:
    """`path`, once it is known to stay under `root` with symlinks resolved: a link
    planted on the way that points elsewhere is refused with ValueError, not followed."""
    real, base = path.resolve(), root.resolve()
    if real != base and not real.is_relative_to(base):
        raise ValueError(f"{path} leads to {real}, outside {root}; remove the link")
    return path


def _encode(piece: str) -> str:
    """Percent-encode `piece`; a leading dot too, which keeps `.`, `..` and the store's own
    hidden entries (staging, manifests) out of reach of artifact names."""
    text = quote(piece.encode("utf-8", "surrogatepass"), safe=_SAFE).replace("~", "%7E")
    return "%2E" + text[1:] if text.startswith(".") else text


def is_local(uri: str) -> bool:
    """A plain path or a `file://` URL, as opposed to a remote fsspec URL."""
    return "://" not in uri or uri.startswith("file://")


def local_of(uri: str) -> Path:
    """The absolute local path of a local URI."""
    return Path(os.path.normpath(Path(uri.removeprefix("file://")).expanduser().absolute()))


def readable_folders(allowed: tuple[str, ...], artifact_root: str) -> tuple[Path, ...]:
    """The local folders a home reads artifacts from when it names `allowed` ones: its
    artifact root (when that is a folder, symlinks resolved), then those."""
    own = (local_of(artifact_root).resolve(),) if is_local(artifact_root) else ()
    return (*own, *(Path(folder) for folder in allowed))
