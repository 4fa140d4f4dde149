"""New data: the objects a file or object-store pattern names now, each keyed by what makes it
new, for the `new_data` triggers.

A pattern is a local path or an fsspec URL (`s3://bucket/spans/*.csv`, `gs://...`) with
globs (`*`, `?`, `[...]` within a segment, `**` across), or a span pattern as the
extraction component reads it (`data/span-{SPAN}/*.csv`, with `{VERSION}` too):

- an object (a file) is keyed by its path, size and change stamp (its generation, else
  its etag, else its mtime), so an object written again is new again; its URI is what
  the run receives;
- a folder the glob matches (a span folder, `data/spans/span-*`) is keyed by its path
  alone: it is new once, however its files change;
- with `{SPAN}`, each span (and version) is new once, and the run receives the pattern
  with its digits filled in (`data/span-3/*.csv`), which names exactly that span's files.

Writers should make an object or a span appear whole (write it under another name, then
rename it), since the scan that sees it first fires it.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime
from typing import Any

import fsspec
from fsspec.utils import get_protocol

from conveyor.automation.errors import AutomationUsageError
from conveyor.automation.trigger_records import TriggerEvent

SPAN, VERSION = "{SPAN}", "{VERSION}"
MAX_OCCURRENCE = 512
"""The longest occurrence key the fires table holds; a longer key is kept as its sha256."""

_GLOB = re.compile(r"\*\*|[*?]|\[[^\]]*\]|\{SPAN\}|\{VERSION\}")
_LOCAL = ("file", "local")
_STAMPS = ("generation", "ETag", "etag", "mtime", "LastModified", "updated", "created")
"""Where each filesystem says an object changed: GCS, S3, a local folder, then others."""


def check(event: Any, field: str = "event") -> dict[str, Any]:
    """The settings `{"pattern": ..., "parameter": ..., "span_parameter": ...}` as stored
    (see `check_pattern`): `parameter` receives each new object's URI, `span_parameter`
    (a `{SPAN}` pattern's) its span number; one of them at least. Whether the pipeline has
    them is the request's check."""
    if not isinstance(event, dict) or set(event) - {"pattern", "parameter", "span_parameter"}:
        raise AutomationUsageError(
            f"{field}: a new_data trigger takes 'pattern' (what to watch), 'parameter' (the "
            "pipeline parameter that receives each new object's URI) and, for a {SPAN} "
            "pattern, 'span_parameter' (the one that receives its span number)"
        )
    pattern = check_pattern(event.get("pattern"), f"{field}.pattern")
    stored: dict[str, Any] = {"pattern": pattern}
    for key, receives in (("parameter", "the object's URI"), ("span_parameter", "the span")):
        name = event.get(key)
        if name is None:
            continue
        if not isinstance(name, str) or not name:
            raise AutomationUsageError(
                f"{field}.{key}: name the pipeline parameter that receives {receives}"
            )
        stored[key] = name
    if "span_parameter" in stored and SPAN not in pattern:
        raise AutomationUsageError(f"{field}.span_parameter: the pattern has no {SPAN}")
    if len(stored) == 1:
        raise AutomationUsageError(
            f"{field}.parameter: name the pipeline parameter that receives the object's URI"
        )
    return stored


def parameters_of(event: dict[str, Any]) -> set[str]:
    """The pipeline parameters the events of these settings give."""
    return {event[key] for key in ("parameter", "span_parameter") if key in event}


def scan(event: dict[str, Any]) -> list[TriggerEvent]:
    """Every object (or folder, or span) the stored settings' pattern names now, in path
    order, each giving its URI (and span) to the settings' parameters;
    `AutomationUsageError` naming `event.pattern` when the listing fails."""
    found = []
    for occurrence, uri, details in _objects(event["pattern"], "event.pattern"):
        given = {}
        if "parameter" in event:
            given[event["parameter"]] = uri
        if "span_parameter" in event:
            given[event["span_parameter"]] = details["span"]
        found.append(TriggerEvent(occurrence, details, given))
    return found


def check_pattern(pattern: Any, field: str) -> str:
    """`pattern` as stored: a local one made absolute (against the working folder now);
    `AutomationUsageError` naming `field` when its filesystem cannot be listed (an unknown
    scheme, a missing driver, a folder or bucket that does not exist)."""
    if not isinstance(pattern, str) or not pattern.strip() or "\x00" in pattern:
        raise AutomationUsageError(
            f"{field}: give a path or URL with globs, such as data/spans/span-* or "
            "s3://bucket/spans/*.csv"
        )
    if pattern.count(SPAN) > 1 or pattern.count(VERSION) > 1:
        raise AutomationUsageError(f"{field}: {SPAN} and {VERSION} may appear once each")
    if VERSION in pattern and SPAN not in pattern:
        raise AutomationUsageError(f"{field}: {VERSION} numbers the versions of a {SPAN}")
    if is_local(pattern):
        pattern = os.path.abspath(os.path.expanduser(pattern.removeprefix("file://")))
    fs, path = _filesystem(pattern, field)
    parts = path.rstrip("/").split("/")
    fixed = next((i for i, part in enumerate(parts) if _GLOB.search(part)), len(parts) - 1)
    root = ("/".join(parts[:fixed]) or "/") if is_local(pattern) else parts[0]
    try:
        found = fs.isdir(root) if is_local(pattern) else fs.exists(root)
    except Exception as error:  # the filesystem's own errors: permissions, network, auth
        raise AutomationUsageError(f"{field}: cannot list {pattern}: {error}") from None
    if not found and is_local(pattern):
        raise AutomationUsageError(f"{field}: the folder {root} does not exist")
    if not found:
        raise AutomationUsageError(
            f"{field}: the bucket {root!r} does not exist, or these credentials cannot see it"
        )
    return pattern


def is_local(pattern: str) -> bool:
    return get_protocol(pattern) in _LOCAL


Found = tuple[str, str, dict[str, Any]]
"""An object found: its occurrence key, its URI, what its fire records of it."""


def _objects(pattern: str, field: str) -> list[Found]:
    """Every object (or folder, or span) `pattern` names now, in path order."""
    fs, path = _filesystem(pattern, field)
    fs.invalidate_cache()  # a rescan must not read an old listing (s3fs, gcsfs keep them)
    try:
        found = fs.glob(path.replace(SPAN, "*").replace(VERSION, "*"), detail=True)
    except Exception as error:  # the filesystem's own errors: permissions, network, auth
        raise AutomationUsageError(f"{field}: cannot list {pattern}: {error}") from None
    if SPAN in pattern:
        return _spans(pattern, path, found)
    objects: list[Found] = []
    for name, info in sorted(found.items()):
        uri = name if is_local(pattern) else fs.unstrip_protocol(name)
        if info.get("type") == "directory":
            objects.append((_key(uri), uri, {"object": uri, "folder": True}))
            continue
        size = info.get("size")
        stamp_name, stamp = _stamp(info)
        details = {"object": uri, "size": size, stamp_name: stamp}
        objects.append((_key(f"{uri}|{size}|{stamp}"), uri, details))
    return objects


def _spans(pattern: str, path: str, found: dict[str, Any]) -> list[Found]:
    """One event per span (and version) of a `{SPAN}` pattern."""
    matcher = _matcher(path)
    spans: set[tuple[int, int | None]] = set()
    for name in found:
        match = matcher.match(name)
        if match:
            version = match.group("version")
            spans.add((int(match.group("span")), int(version) if version else None))
    objects: list[Found] = []
    for span, version in sorted(spans, key=lambda s: (s[0], s[1] or 0)):
        uri = pattern.replace(SPAN, str(span)).replace(VERSION, str(version))
        details: dict[str, Any] = {"object": uri, "span": span}
        if version is not None:
            details["version"] = version
        objects.append((_key(uri), uri, details))
    return objects


def _matcher(path: str) -> re.Pattern[str]:
    """A regex of a span pattern's paths, capturing its span and version digits."""
    regex, position = "", 0
    for token in _GLOB.finditer(path):
        regex += re.escape(path[position : token.start()])
        text = token.group()
        regex += {
            SPAN: r"(?P<span>\d+)",
            VERSION: r"(?P<version>\d+)",
            "**": r".*",
            "*": r"[^/]*",
            "?": r"[^/]",
        }.get(text, text)
        position = token.end()
    regex += re.escape(path[position:])
    if "(?P<version>" not in regex:
        regex += "(?P<version>)"
    return re.compile(regex)


def _filesystem(pattern: str, field: str) -> tuple[fsspec.AbstractFileSystem, str]:
    try:
        return fsspec.core.url_to_fs(pattern)
    except (ValueError, ImportError) as error:
        raise AutomationUsageError(
            f"{field}: {pattern} cannot be listed: {error} (give a local path, s3:// or gs://)"
        ) from None


def _stamp(info: dict[str, Any]) -> tuple[str, Any]:
    for name in _STAMPS:
        value = info.get(name)
        if value is not None:
            stamp = value.isoformat() if isinstance(value, datetime) else value
            return name.lower(), stamp.strip('"') if isinstance(stamp, str) else stamp
    return "mtime", None


def _key(text: str) -> str:
    if len(text) <= MAX_OCCURRENCE:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
