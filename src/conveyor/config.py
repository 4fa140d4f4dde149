"""Where Conveyor keeps its files, and the settings that choose them."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The folder of Conveyor's files: `CONVEYOR_HOME`, else `.conveyor/` in the working folder."""
    configured = os.environ.get("CONVEYOR_HOME")
    return Path(configured).expanduser().resolve() if configured else Path.cwd() / ".conveyor"


def runs_dir() -> Path:
    """Per-run working files: executor inputs and outputs, task logs."""
    return home() / "runs"


def artifacts_dir() -> Path:
    """Root of the local artifact store."""
    return home() / "artifacts"


def artifact_root() -> str:
    """Where artifacts are published: `CONVEYOR_ARTIFACT_ROOT` (a folder or an fsspec URL
    such as `s3://bucket/prefix`), else the local folder."""
    return os.environ.get("CONVEYOR_ARTIFACT_ROOT") or str(artifacts_dir())


def envs_dir() -> Path:
    """Cached virtual environments for `packages_to_install`."""
    return home() / "envs"


def cache_disabled_by_default() -> bool:
    """`CONVEYOR_DISABLE_CACHE=1` turns caching off unless a run asks for it."""
    return os.environ.get("CONVEYOR_DISABLE_CACHE", "").lower() in {"1", "true", "yes"}
