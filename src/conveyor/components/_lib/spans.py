"""Which files an extraction reads: a file, a folder, a glob, or the newest span of a pattern.

As TFX's ExampleGen, a pattern may hold `{SPAN}` and `{VERSION}`: digits that
number the deliveries of a data set (`data/span-{SPAN}/*.csv`,
`exports/{SPAN}/v{VERSION}/`). The newest span is read unless one is asked
for, and within a span the newest version. `*`, `?` and `[...]` are globs
within one path segment, `**` across segments. Paths may be local or any
fsspec URL (`s3://bucket/data/span-{SPAN}/*.parquet`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import fsspec

from conveyor.components._lib.errors import ComponentError
from conveyor.components._lib.files import TABLE_SUFFIXES

SPAN, VERSION = "{SPAN}", "{VERSION}"
_GLOB = re.compile(r"\*\*|[*?]|\[[^\]]*\]")


@dataclass
class Selection:
    """The files picked for an extraction, and the span and version they belong to."""

    files: list[str] = field(default_factory=list)
    span: int = -1
    """-1 when the pattern has no `{SPAN}`."""
    version: int = -1
    """-1 when the pattern has no `{VERSION}`."""


def select(source: str, span: int = -1, version: int = -1) -> Selection:
    """The files of `source`; with `{SPAN}`, those of span `span` (-1: the newest)."""
    if not source:
        raise ComponentError("source is empty: give a file, a folder, a glob or a span pattern")
    if source.count(SPAN) > 1 or source.count(VERSION) > 1:
        raise ComponentError(f"{source!r} may hold {SPAN} and {VERSION} once each")
    if VERSION in source and SPAN not in source:
        raise ComponentError(f"{source!r} has {VERSION} without {SPAN}; versions number a span")
    fs, _ = fsspec.core.url_to_fs(source.replace(SPAN, "0").replace(VERSION, "0"))
    protocol = _protocol(source)
    if SPAN not in source:
        return Selection(files=_expand(fs, protocol, _strip(source), source))
    return _select_span(fs, protocol, source, span, version)


def _select_span(fs, protocol: str, source: str, span: int, version: int) -> Selection:
    pattern = _strip(source)
    matcher = _matcher(pattern)
    found: dict[tuple[int, int], list[str]] = {}
    for path in fs.glob(pattern.replace(SPAN, "*").replace(VERSION, "*")):
        match = matcher.match(path)
        if match:
            key = (int(match["span"]), int(match["version"]) if match["version"] else -1)
            found.setdefault(key, []).append(path)
    if not found:
        raise ComponentError(f"no files match {source!r}: is the pattern right, and is data there?")
    spans = sorted({s for s, _ in found})
    chosen = spans[-1] if span < 0 else span
    if chosen not in spans:
        raise ComponentError(
            f"span {chosen} of {source!r} does not exist; spans found: {_listing(spans)}"
        )
    versions = sorted(v for s, v in found if s == chosen)
    picked = versions[-1] if version < 0 else version
    if picked not in versions:
        raise ComponentError(
            f"version {picked} of span {chosen} of {source!r} does not exist; "
            f"versions found: {_listing(versions)}"
        )
    files: list[str] = []
    for path in sorted(found[(chosen, picked)]):
        files.extend(_expand(fs, protocol, path, source))
    return Selection(files=files, span=chosen, version=picked)


def _expand(fs, protocol: str, path: str, source: str) -> list[str]:
    """Data files of a path: itself, its glob matches, or the data files under a folder."""
    matches = fs.glob(path) if _GLOB.search(path) else [path]
    files: list[str] = []
    for match in sorted(matches):
        if fs.isdir(match):
            inside = [
                p
                for p in sorted(fs.find(match))
                if p.endswith(TABLE_SUFFIXES) and not _hidden(p[len(match) :])
            ]
            files.extend(inside)
        elif fs.exists(match):
            files.append(match)
    if not files:
        raise ComponentError(
            f"{source!r} names no data files (looked for {', '.join(TABLE_SUFFIXES)})"
        )
    return [_unstrip(protocol, f) for f in files]


def _matcher(pattern: str) -> re.Pattern[str]:
    """A regex for a pattern's paths, capturing the span and version digits."""
    regex, position = "", 0
    tokens = re.compile(r"\{SPAN\}|\{VERSION\}|\*\*|\*|\?|\[[^\]]*\]")
    for token in tokens.finditer(pattern):
        regex += re.escape(pattern[position : token.start()])
        text = token.group()
        regex += {
            SPAN: r"(?P<span>\d+)",
            VERSION: r"(?P<version>\d+)",
            "**": r".*",
            "*": r"[^/]*",
            "?": r"[^/]",
        }.get(text, text)
        position = token.end()
    regex += re.escape(pattern[position:])
    if "(?P<version>" not in regex:
        regex += r"(?P<version>)"
    return re.compile(regex + r"$")


def _protocol(source: str) -> str:
    return source.split("://", 1)[0] if "://" in source else ""


def _strip(source: str) -> str:
    """The path part of a URL as fsspec's glob returns paths (local: absolute)."""
    if "://" in source and not source.startswith("file://"):
        return source.split("://", 1)[1]
    path = source.removeprefix("file://")
    return str(Path(path).expanduser().absolute())


def _unstrip(protocol: str, path: str) -> str:
    return f"{protocol}://{path}" if protocol and protocol != "file" else path


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


def _listing(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[-10:])) + (" (newest ten)" if len(numbers) > 10 else "")
