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
| `env` | `--env NAME`, else `CONVEYOR_ENV` | the file's `default_env`, else `dev` |
| `config_file` | `CONVEYOR_CONFIG` (set empty: no file) | the nearest `conveyor.toml` here or above |
| `server_url` | `CONVEYOR_SERVER_URL` | none |
| `token_env` | `CONVEYOR_TOKEN_ENV`: the *name* of the variable holding the server's token | none |
| `executor` | `CONVEYOR_EXECUTOR` (`local`, `inline`, `ray`) | `local` |
| `ray_address` | `CONVEYOR_RAY_ADDRESS` (`auto`, `HOST:PORT`, `ray://HOST:PORT`) | `auto`: the cluster `ray start` started on this machine |
| `gcs_root` | `CONVEYOR_GCS_ROOT` (a folder) | none: `gs://` URIs go through fsspec (gcsfs) |
| `gates` | only in `conveyor.toml` | none |

The artifact settings bound what the registry reads when a version is uploaded
(`conveyor.registry.ArtifactPolicy`, docs/registry.md); the SMTP settings are the server
monitors email their alerts through (docs/monitoring.md, Alerts and their delivery).
`gcs_root` runs Google Cloud Pipeline Components with `gs://` paths on a machine without
Cloud Storage: `gs://bucket/path` is the file `<gcs_root>/bucket/path` (`local_gcs_path`,
docs/gcpc.md).

An environment of `conveyor.toml` (`conveyor.environments`) may declare any of them (the
folder as `home`): what it declares wins over the variables, which give what it leaves out,
then the defaults (docs/environments.md).

`Settings.from_env()` reads them once; everything else takes a `Settings` (through
the home, `conveyor.home`) rather than reading the environment again. The command line's
`--env` reaches it through `selecting_env`, not through `os.environ`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.environments import Gates

DEFAULT_ARTIFACT_SCHEMES = ("s3", "gs", "gcs")
DEFAULT_ENV = "dev"
"""The environment of a home with no `conveyor.toml`: the embedded default."""
CONFIG_FILE = "conveyor.toml"

_SELECTED_ENV: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conveyor_selected_env", default=None
)
"""The environment the command line chose (`--env`), for the command's duration."""


@contextlib.contextmanager
def selecting_env(name: str | None) -> Iterator[None]:
    """Within the block, settings read without a folder are environment `name`'s (None: the
    usual choice). The `conveyor` command wraps each command in it for `--env`, so
    the deepest default `Settings.from_env()` resolves the chosen environment too."""
    token = _SELECTED_ENV.set(name)
    try:
        yield
    finally:
        _SELECTED_ENV.reset(token)


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
    env: str = DEFAULT_ENV
    """The name of the environment of `conveyor.toml` these settings are."""
    config_file: Path | None = None
    """The `conveyor.toml` read (None: no file)."""
    server_url: str | None = None
    """The environment's Conveyor server, for remote use."""
    token_env: str | None = None
    """The name of the environment variable holding the server's token (never the token)."""
    executor: str = "local"
    """How the environment's runs execute tasks when not told."""
    ray_address: str = "auto"
    """The Ray cluster the `ray` executor runs tasks on."""
    gates: Gates | None = None
    """What a model version must pass to be promoted into the environment."""
    gcs_root: str | None = None
    """The local folder standing for Cloud Storage (`gs://bucket/path` is
    `<gcs_root>/bucket/path`); None: `gs://` URIs are read through fsspec (gcsfs)."""

    @classmethod
    def from_env(
        cls,
        folder: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        env: str | None = None,
    ) -> Settings:
        """The settings of environment `env` (default: `--env`, else `CONVEYOR_ENV`, else the
        file's `default_env`, else `dev`) of `conveyor.toml`, over the variables in
        `environ` (default: this process's), for the home `folder` (default: the
        environment's `home`, else `CONVEYOR_HOME`, else `.conveyor/` here).

        A `folder` given without `env` names one home: no `conveyor.toml` is read and no
        environment chosen (throwaway homes, tests)."""
        variables = os.environ if environ is None else environ
        name = (
            env
            or (_SELECTED_ENV.get() if folder is None else None)
            or variables.get("CONVEYOR_ENV", "").strip()
            or None
        )
        config_file = None
        declared: dict[str, Any] = {}
        if folder is None or name is not None:
            config_file = _find_config(variables)
        if config_file is not None:
            from conveyor.environments import load  # pydantic: only when there is a file

            name, declared = load(config_file).settings(name)
        elif name not in (None, DEFAULT_ENV):
            raise UsageError(
                f"unknown environment {name!r}: no {CONFIG_FILE} declares environments here "
                f"(looked in {Path.cwd()} and its parents; CONVEYOR_CONFIG names one)"
            )
        if folder is not None:
            declared["folder"] = Path(folder).expanduser().resolve()
        return cls._of(variables, declared, name or DEFAULT_ENV, config_file)

    @classmethod
    def _of(
        cls,
        env: Mapping[str, str],
        declared: dict[str, Any],
        name: str,
        config_file: Path | None,
    ) -> Settings:
        """The settings `declared` by an environment, the rest from the variables `env`."""
        where = declared.get("folder")
        if where is None:
            configured = env.get("CONVEYOR_HOME")
            where = (
                Path(configured).expanduser().resolve() if configured else Path.cwd() / ".conveyor"
            )
        from_variables = cls(
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
            env=name,
            config_file=config_file,
            server_url=env.get("CONVEYOR_SERVER_URL", "").strip() or None,
            token_env=env.get("CONVEYOR_TOKEN_ENV", "").strip() or None,
            executor=env.get("CONVEYOR_EXECUTOR", "").strip() or cls.executor,
            ray_address=env.get("CONVEYOR_RAY_ADDRESS", "").strip() or cls.ray_address,
            gcs_root=_folder(env, "CONVEYOR_GCS_ROOT"),
        )
        return dataclasses.replace(from_variables, **declared)

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
            "CONVEYOR_ENV": self.env,
            "CONVEYOR_CONFIG": str(self.config_file or ""),  # empty: read no file
            "CONVEYOR_SERVER_URL": self.server_url or "",
            "CONVEYOR_TOKEN_ENV": self.token_env or "",
            "CONVEYOR_EXECUTOR": self.executor,
            "CONVEYOR_RAY_ADDRESS": self.ray_address,
            "CONVEYOR_GCS_ROOT": self.gcs_root or "",
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


def _find_config(environ: Mapping[str, str]) -> Path | None:
    """The `conveyor.toml` to read: the one `CONVEYOR_CONFIG` names (set empty: none),
    else the nearest in the working folder or a parent of it."""
    configured = environ.get("CONVEYOR_CONFIG")
    if configured is not None:
        if not configured.strip():
            return None
        path = Path(configured).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"CONVEYOR_CONFIG={configured!r}: no such file")
        return path
    here = Path.cwd().resolve()
    return next(
        (f / CONFIG_FILE for f in (here, *here.parents) if (f / CONFIG_FILE).is_file()), None
    )


GCS_SCHEMES = ("gs://", "gcs://")


def local_gcs_path(uri: str, gcs_root: str | None) -> Path | None:
    """The local file standing for the Cloud Storage URI `uri` under `gcs_root`
    (`gs://bucket/a/b` is `<gcs_root>/bucket/a/b`); None when `uri` is not a `gs://` URI or
    there is no root. A path that climbs out of its bucket (`..`) is refused."""
    scheme = next((s for s in GCS_SCHEMES if uri.startswith(s)), None)
    if scheme is None or not gcs_root:
        return None
    parts = [p for p in uri[len(scheme) :].split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise UsageError(f"{uri} is not a Cloud Storage path of a bucket (gs://bucket/path)")
    return Path(gcs_root).joinpath(*parts)


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


def _folder(environ: Mapping[str, str], name: str) -> str | None:
    """An absolute folder from `environ[name]`, else None."""
    text = environ.get(name, "").strip()
    return str(Path(text).expanduser().resolve()) if text else None


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    """A TCP port from `environ[name]`, else `default`."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"{name}={text!r} must be a port number, 1 to 65535")
    return int(text)
