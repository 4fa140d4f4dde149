"""Artifact names: task keys and output names made into path segments that every backend accepts."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

# Letters, digits and these stay readable; anything else is percent-encoded, so brackets of
# loop iterations cannot act as fsspec glob patterns and no name can escape its folder.
_SAFE = "-_.~"


def segments(parts: tuple[str, ...]) -> list[str]:
    """The path segments of an artifact: each part split on `/`, each piece encoded."""
    pieces = [piece for part in parts for piece in str(part).split("/")]
    if not pieces or "" in pieces:
        raise ValueError(
            f"artifact name parts {parts!r} must be non-empty and hold no empty path segments"
        )
    return [_encode(piece) for piece in pieces]


def _encode(piece: str) -> str:
    """Percent-encode `piece`; a leading dot too, which keeps `.`, `..` and the store's own
    hidden entries (staging, manifests) out of reach of artifact names."""
    text = quote(piece, safe=_SAFE)
    return "%2E" + text[1:] if text.startswith(".") else text


def is_local(uri: str) -> bool:
    """A plain path or a `file://` URL, as opposed to a remote fsspec URL."""
    return "://" not in uri or uri.startswith("file://")


def local_of(uri: str) -> Path:
    """The absolute local path of a local URI."""
    return Path(os.path.normpath(Path(uri.removeprefix("file://")).expanduser().absolute()))
