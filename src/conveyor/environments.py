"""The environments a `conveyor.toml` declares (dev, staging, prod): read, checked, resolved.

    default_env = "dev"                 # optional; else "dev"

    [env.staging]                       # every key optional
    home = ".conveyor-staging"          # relative to this file's folder
    metadata_url = "postgresql://conveyor@db.example.com/staging"
    artifact_root = "s3://models/staging"
    server_url = "https://conveyor.staging.example.com"
    token_env = "CONVEYOR_STAGING_TOKEN"

    [env.staging.gates]                 # kept for promotion into this environment
    min_metrics = { roc_auc = 0.8 }
    max_regression = { roc_auc = 0.005 }
    approval = true

An environment may also set any other setting of `conveyor.config.Settings` by its name
(`user`, `smtp_host`, ...). The file is checked whole when read, and every wrong key or
value is named with its path and the file's: `/repo/conveyor.toml: env.prod.smtp_port: ...`.
`conveyor.config.Settings.from_env` merges the chosen environment's settings over the
`CONVEYOR_*` variables (docs/environments.md). The `[ci]` table is `conveyor ci`'s
(`conveyor.automation.ci_targets`), kept here unread.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conveyor.errors import UsageError

DEFAULT_ENV = "dev"
"""The environment used when none is chosen, declared or not (`conveyor.config`'s too)."""

Text = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Variable = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
"""The name of an environment variable (which holds a secret: never the secret itself)."""
Url = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://")]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^/\s]+")]
Threshold = Annotated[float, Field(allow_inf_nan=False)]
Tolerance = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    """TOML's own types, nothing coerced, no key unknown."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Gates(_Strict):
    """What a model version must pass to be promoted into an environment (promotion
    checks them; this model only checks their shape)."""

    min_metrics: dict[Text, Threshold] = {}
    """Metric name → the least value a version's evaluation may have."""
    max_regression: dict[Text, Tolerance] = {}
    """Metric name → how much worse than the current production version it may be."""
    approval: bool = False
    """Whether a person must approve the promotion."""
    infra_validation: bool = False
    """Whether an `infra_validate` task of the source environment must have blessed the
    version's model."""
    monitoring: bool = False
    """Whether a monitoring job over the version's traffic in the source environment must
    have succeeded, its latest finding no anomaly."""


class Environment(_Strict):
    """One `[env.NAME]` table: what it leaves out comes from the `CONVEYOR_*` variables,
    then the defaults (`conveyor.config.Settings`)."""

    home: Text | None = None
    metadata_url: Url | None = None
    artifact_root: Text | None = None
    server_url: HttpUrl | None = None
    token_env: Variable | None = None
    executor: Literal["local", "inline", "ray"] | None = None
    ray_address: Text | None = None
    gates: Gates | None = None
    disable_cache: bool | None = None
    user: Text | None = None
    allowed_artifact_roots: list[Text] | None = None
    artifact_schemes: list[Text] | None = None
    artifact_max_bytes: Annotated[int, Field(gt=0)] | None = None
    artifact_read_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    smtp_host: Text | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    smtp_from: Text | None = None
    smtp_starttls: bool | None = None
    smtp_user: Text | None = None
    smtp_password_setting: Variable | None = None
    gcs_root: Text | None = None

    @field_validator("artifact_schemes")
    @classmethod
    def _bare_schemes(cls, schemes: list[str] | None) -> list[str] | None:
        return None if schemes is None else [s.strip().lower().removesuffix("://") for s in schemes]


class _Document(_Strict):
    """A whole `conveyor.toml`."""

    default_env: Name = DEFAULT_ENV
    env: dict[Name, Environment] = {}
    ci: dict[str, Any] = {}
    """`conveyor ci`'s table, checked by `conveyor.automation.ci_targets`."""


@dataclasses.dataclass(frozen=True)
class Environments:
    """The environments of one `conveyor.toml`."""

    file: Path
    default_env: str
    declared: Mapping[str, Environment]

    @property
    def names(self) -> list[str]:
        """Every environment: `dev` (declared or not: the embedded default), then the file's."""
        return [DEFAULT_ENV, *(n for n in self.declared if n != DEFAULT_ENV)]

    def get(self, name: str | None = None) -> tuple[str, Environment]:
        """The environment `name` (default: the file's `default_env`) and its table."""
        name = name or self.default_env
        if name in self.declared:
            return name, self.declared[name]
        if name == DEFAULT_ENV:
            return name, Environment()
        raise UsageError(f"unknown environment {name!r}: {self.file} has {', '.join(self.names)}")

    def settings(self, name: str | None = None) -> tuple[str, dict[str, Any]]:
        """The environment's name and the settings it declares, by their `Settings` field
        names, with local paths made absolute from the file's folder."""
        name, environment = self.get(name)
        declared = environment.model_dump(exclude_none=True, exclude={"gates"})
        if environment.gates is not None:
            declared["gates"] = environment.gates
        if "home" in declared:
            declared["folder"] = self._path(declared.pop("home"))
        if "metadata_url" in declared:
            declared["metadata_url"] = self._sqlite(declared["metadata_url"])
        if "artifact_root" in declared and "://" not in declared["artifact_root"]:
            declared["artifact_root"] = str(self._path(declared["artifact_root"]))
        if "gcs_root" in declared:
            declared["gcs_root"] = str(self._path(declared["gcs_root"]))
        if "artifact_schemes" in declared:
            declared["artifact_schemes"] = tuple(declared["artifact_schemes"])
        if "allowed_artifact_roots" in declared:
            declared["allowed_artifact_roots"] = tuple(
                str(self._path(p)) for p in declared["allowed_artifact_roots"]
            )
        return name, declared

    def _path(self, text: str) -> Path:
        return (self.file.parent / Path(text).expanduser()).resolve()

    def _sqlite(self, url: str) -> str:
        """A SQLite URL with a relative path made absolute from the file's folder."""
        prefix = "sqlite:///"
        path = url.removeprefix(prefix)
        if not url.startswith(prefix) or path.startswith("/") or path in {"", ":memory:"}:
            return url
        return f"{prefix}{self._path(path)}"


def load(file: Path) -> Environments:
    """The environments of `file`, every key and value checked."""
    try:
        document = tomllib.loads(file.read_text())
    except OSError as exc:
        raise UsageError(f"{file}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: not valid TOML: {exc}") from None
    try:
        parsed = _Document.model_validate(document)
    except ValidationError as exc:
        raise UsageError("\n".join(f"{file}: {_problem(e)}" for e in exc.errors())) from None
    if parsed.default_env not in parsed.env and parsed.default_env != DEFAULT_ENV:
        raise UsageError(
            f"{file}: default_env: {parsed.default_env!r} is not an environment of the file "
            f"(it has {', '.join([DEFAULT_ENV, *parsed.env])})"
        )
    return Environments(file, parsed.default_env, parsed.env)


def _problem(error: Any) -> str:
    """`key.path: what is wrong` for one of pydantic's errors."""
    parts = [str(p) for p in error["loc"] if p != "[key]"]
    where = ".".join(p if p.replace("_", "a").isalnum() else f'"{p}"' for p in parts)
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key (docs/environments.md lists the keys)"
    if "[key]" in error["loc"]:
        return f"{where}: not a valid name: {error['msg']}"
    value = error.get("input")
    shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    return f"{where}: {error['msg']}{shown}"
