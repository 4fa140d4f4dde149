"""Conveyor's settings, read in one place: where its files live and which stores it uses.

| Setting | Environment variable | Default |
| --- | --- | --- |
| `folder` | `CONVEYOR_HOME` | `.conveyor/` in the working folder |
| `metadata_url` | `CONVEYOR_METADATA_URL` | `sqlite:///FOLDER/metadata.db` |
| `artifact_root` | `CONVEYOR_ARTIFACT_ROOT` (a folder or an fsspec URL) | `FOLDER/artifacts` |
| `disable_cache` | `CONVEYOR_DISABLE_CACHE` (`1`, `true`, `yes`) | off |
| `user` | `CONVEYOR_USER` | the OS user |
| `allowed_artifact_roots` | `CONVEYOR_ALLOWED_ARTIFACT_ROOTS` (folders, separated by `os.pathsep`) | none: the CLI and Python read local artifacts anywhere, the REST API only under `artifact_root` |
| `artifact_schemes` | `CONVEYOR_ARTIFACT_SCHEMES` (comma-separated) | `s3,gs,gcs` (and `artifact_root`'s own) |
| `artifact_max_bytes` | `CONVEYOR_ARTIFACT_MAX_BYTES` | 100 GiB |
| `artifact_read_seconds` | `CONVEYOR_ARTIFACT_READ_SECONDS` | 1800 |
| `smtp_host` | `CONVEYOR_SMTP_HOST` | none: monitors' alerts are not emailed |
| `smtp_port` | `CONVEYOR_SMTP_PORT` | 25 |
| `smtp_from` | `CONVEYOR_SMTP_FROM` | `conveyor@localhost` |
| `smtp_starttls` | `CONVEYOR_SMTP_STARTTLS` (`1`, `true`, `yes`) | off |
| `smtp_user` | `CONVEYOR_SMTP_USER` | none: no login |
| `smtp_password_setting` | `CONVEYOR_SMTP_PASSWORD_SETTING`: the *name* of the variable holding the password | none |

The artifact settings bound what the registry reads when a version is uploaded
(`conveyor.registry.ArtifactPolicy`, docs/registry.md); the SMTP settings are the server
monitors email their alerts through (docs/monitoring.md, Alerts and their delivery).

`Settings.from_env()` reads them once; everything else takes a `Settings` (through
the home, `conveyor.home`) rather than reading the environment again.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from pathlib import Path

from conveyor.errors import UsageError

DEFAULT_ARTIFACT_SCHEMES = ("s3", "gs", "gcs")


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
    allowed_artifact_roots: tuple[str, ...] = ()
    """Local folders model uploads may read from, beside `artifact_root`; none: any folder
    for the CLI and Python, only `artifact_root` for the REST API."""
    artifact_schemes: tuple[str, ...] = DEFAULT_ARTIFACT_SCHEMES
    """URL schemes model uploads may read (never `http(s)` for the REST API)."""
    artifact_max_bytes: int = 100 * 2**30
    """The most bytes one model upload reads."""
    artifact_read_seconds: float = 1800.0
    """The longest one model upload may spend reading its artifact."""
    smtp_host: str | None = None
    """The SMTP server monitors email their alerts through (None: no email)."""
    smtp_port: int = 25
    smtp_from: str = "conveyor@localhost"
    """The sender of alert emails."""
    smtp_starttls: bool = False
    """Whether to upgrade the SMTP connection with STARTTLS before sending."""
    smtp_user: str | None = None
    """Who logs in to the SMTP server (None: no login)."""
    smtp_password_setting: str | None = None
    """The name of the environment variable holding the SMTP password, read when an email
    is sent (never the password itself)."""

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
            allowed_artifact_roots=tuple(
                str(Path(p).expanduser().resolve())
                for p in env.get("CONVEYOR_ALLOWED_ARTIFACT_ROOTS", "").split(os.pathsep)
                if p.strip()
            ),
            artifact_schemes=tuple(
                s.strip().lower().removesuffix("://")
                for s in (env.get("CONVEYOR_ARTIFACT_SCHEMES") or "").split(",")
                if s.strip()
            )
            or DEFAULT_ARTIFACT_SCHEMES,
            artifact_max_bytes=int(
                _number(env, "CONVEYOR_ARTIFACT_MAX_BYTES", cls.artifact_max_bytes)
            ),
            artifact_read_seconds=_number(
                env, "CONVEYOR_ARTIFACT_READ_SECONDS", cls.artifact_read_seconds
            ),
            smtp_host=env.get("CONVEYOR_SMTP_HOST", "").strip() or None,
            smtp_port=_port(env, "CONVEYOR_SMTP_PORT", cls.smtp_port),
            smtp_from=env.get("CONVEYOR_SMTP_FROM", "").strip() or cls.smtp_from,
            smtp_starttls=env.get("CONVEYOR_SMTP_STARTTLS", "").lower() in {"1", "true", "yes"},
            smtp_user=env.get("CONVEYOR_SMTP_USER", "").strip() or None,
            smtp_password_setting=env.get("CONVEYOR_SMTP_PASSWORD_SETTING", "").strip() or None,
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
            "CONVEYOR_ALLOWED_ARTIFACT_ROOTS": os.pathsep.join(self.allowed_artifact_roots),
            "CONVEYOR_ARTIFACT_SCHEMES": ",".join(self.artifact_schemes),
            "CONVEYOR_ARTIFACT_MAX_BYTES": str(self.artifact_max_bytes),
            "CONVEYOR_ARTIFACT_READ_SECONDS": str(self.artifact_read_seconds),
            "CONVEYOR_SMTP_HOST": self.smtp_host or "",
            "CONVEYOR_SMTP_PORT": str(self.smtp_port),
            "CONVEYOR_SMTP_FROM": self.smtp_from,
            "CONVEYOR_SMTP_STARTTLS": "1" if self.smtp_starttls else "0",
            "CONVEYOR_SMTP_USER": self.smtp_user or "",
            "CONVEYOR_SMTP_PASSWORD_SETTING": self.smtp_password_setting or "",
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


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    """A positive number from `environ[name]`, else `default`."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"{name}={text!r} must be a positive number")
    return value


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    """A TCP port from `environ[name]`, else `default`."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"{name}={text!r} must be a port number, 1 to 65535")
    return int(text)
