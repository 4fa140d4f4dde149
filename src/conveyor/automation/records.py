"""What the automation layer returns: plain, frozen dataclasses that turn into JSON with
`to_json()`; they hold no database session, so callers keep them, pass them between threads
and serve them over REST."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from conveyor.store.metadata.records import to_json


@dataclasses.dataclass(frozen=True)
class PipelineVersionRecord:
    """One version of a registered pipeline (KFP's `PipelineVersion`): its compiled spec by
    digest, the values its spec gives its inputs, and the tags naming it."""

    pipeline: str
    version: int
    spec_digest: str
    description: str | None
    default_parameters: dict[str, Any]
    source: str | None
    """What it was uploaded from (a file, `file.py:function`), when known."""
    tags: list[str]
    created_by: str
    created_at: datetime
    created: bool = False
    """From `upload`: whether it made this version (False: the latest had the same spec)."""

    @property
    def reference(self) -> str:
        """`name@3`: what `conveyor run` and schedules take, pinned to this version."""
        return f"{self.pipeline}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {**to_json(self), "reference": self.reference}


@dataclasses.dataclass(frozen=True)
class RegisteredPipelineRecord:
    """A registered pipeline (Vertex AI's template, KFP's `Pipeline`); `latest_version` is
    None while it has no version, `tags` maps each tag to the version it names."""

    name: str
    description: str | None
    latest_version: int | None
    tags: dict[str, int]
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return to_json(self)
