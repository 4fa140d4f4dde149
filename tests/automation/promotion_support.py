"""What the promotion tests share: a home of its own per environment, with its gates."""

from __future__ import annotations

import uuid
from pathlib import Path

from conveyor.config import Settings
from conveyor.environments import Gates
from conveyor.home import Home, open_home


def env_home(
    tmp_path: Path, env: str, url: str | None = None, root: str | None = None, **gates
) -> Home:
    """A home of environment `env` in a folder of its own under `tmp_path` (SQLite and a
    local artifact root unless `url` and `root` say otherwise), with those gates."""
    folder = tmp_path / env / uuid.uuid4().hex[:8]  # each target a home of its own
    settings = Settings(
        folder=folder,
        metadata_url=url or f"sqlite:///{folder / 'metadata.db'}",
        artifact_root=root or str(folder / "artifacts"),
        env=env,
        user="alice",
        gates=Gates(**gates) if gates else None,
    )
    return open_home(settings=settings)
