"""Conveyor's settings, read in one place: where its files live and which stores it uses.

| Setting | Environment variable | Default |
| --- | --- | --- |
| `folder` | `CONVEYOR_HOME` | `.conveyor/` in the working folder |
| `metadata_url` | `CONVEYOR_METADATA_URL` | `sqlite:///FOLDER/metadata.db` |
| `artifact_root` | `CONVEYOR_ARTIFACT_ROOT` (a folder or an fsspec URL) | `FOLDER/artifacts` |
| `disable_cache` | `CONVEYOR_DISABLE_CACHE` (`1`, `true`, `yes`) | off |
| `user` | `CONVEYOR_USER` | the OS user |

`Settings.from_env()` reads them once; everything else takes a `Settings` (through
the home, `conveyor.home`) rather than reading the environment again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where one Conveyor home keeps its files and its stores."""

    folder: Path
    """The folder of Conveyor's own files: runs, logs, environments, caches."""
    metadata_url: str
    """The metadata store: a SQLite file or a PostgreSQL URL."""
    artifact_root: str
    """Where artifacts are published: a local folder or an fsspec URL (`s3://bucket/p`)."""
    disable_cache: bool = False
    """Whether tasks skip the cache unless a run asks for it."""
    user: str | None = None
    """Who makes changes, for the registry's history (None: the OS user)."""

    @classmethod
    def from_env(
        cls, folder: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """The settings of the environment variables in `environ` (default: this process's),
        for the home `folder` (default: `CONVEYOR_HOME`, else `.conveyor/` here)."""
        env = os.environ if environ is None else environ
        if folder is None:
            configured = env.get("CONVEYOR_HOME")
            where = (
                Path(configured).expanduser().resolve() if configured else Path.cwd() / ".conveyor"
            )
        else:
            where = Path(folder).expanduser().resolve()
        return cls(
            folder=where,
            metadata_url=env.get("CONVEYOR_METADATA_URL") or f"sqlite:///{where / 'metadata.db'}",
            artifact_root=env.get("CONVEYOR_ARTIFACT_ROOT") or str(where / "artifacts"),
            disable_cache=env.get("CONVEYOR_DISABLE_CACHE", "").lower() in {"1", "true", "yes"},
            user=user_from_env(env),
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that give another process these settings (a run's
        tasks: a component's `Client()` then reaches the home of the run that started it)."""
        return {
            "CONVEYOR_HOME": str(self.folder),
            "CONVEYOR_METADATA_URL": self.metadata_url,
            "CONVEYOR_ARTIFACT_ROOT": self.artifact_root,
            "CONVEYOR_DISABLE_CACHE": "1" if self.disable_cache else "0",
            "CONVEYOR_USER": self.user or "",
        }

    @property
    def runs_dir(self) -> Path:
        """Per-run working files: executor inputs and outputs, task logs."""
        return self.folder / "runs"

    @property
    def envs_dir(self) -> Path:
        """Cached virtual environments for `packages_to_install`."""
        return self.folder / "envs"

    @property
    def cache_dir(self) -> Path:
        """Local copies: remote input artifacts, downloaded models, staged outputs."""
        return self.folder / "cache"


def user_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """`CONVEYOR_USER`, when set: who makes changes, for a registry given no user."""
    env = os.environ if environ is None else environ
    return env.get("CONVEYOR_USER", "").strip() or None
