"""Tracking URIs of Conveyor homes, for MLflow: `conveyor://` (the home `Client()` opens),
`conveyor://?env=NAME` (environment NAME of conveyor.toml) and `conveyor+file:///abs/path`
(the home in that folder), as the settings of the home they name."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from conveyor.config import Settings
from conveyor.experiments.mlflow_entities import translated_errors

SCHEMES = ("conveyor", "conveyor+file")
_IN_A_TASK = "_KFP_RUNTIME"
"""Set in a pipeline task's process: there the home is the run's, whatever server its
environment has (as for `Client()`)."""


def settings_of(store_uri: str) -> Settings:
    """The settings of the home a tracking URI names (see the module docstring)."""
    parts = urlsplit(store_uri)
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.scheme == "conveyor":
        envs = query.pop("env", [])
        if parts.netloc or parts.path not in ("", "/") or query or len(envs) > 1:
            raise _bad_uri(store_uri)
        env = (envs[0].strip() or None) if envs else None
        with translated_errors():
            settings = Settings.from_env(env=env)
            _check_local(settings, env)
        return settings
    if parts.scheme == "conveyor+file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/") or query:
            raise _bad_uri(store_uri)
        with translated_errors():
            return Settings.from_env(unquote(parts.path))
    raise _bad_uri(store_uri)


def _check_local(settings: Settings, env: str | None) -> None:
    """Refuse a remote environment (a `server_url`) that declares no store of its own."""
    if not settings.server_url or (os.environ.get(_IN_A_TASK) and env is None):
        return
    if settings.config_file is not None:
        from conveyor.environments import load

        _, declared = load(settings.config_file).settings(settings.env)
        if "folder" in declared or "metadata_url" in declared:
            return
    raise MlflowException(
        f"environment {settings.env!r} is remote (its server is {settings.server_url}); the "
        "MLflow store writes to a home's own stores: declare the environment's `home` or "
        "`metadata_url` in conveyor.toml, or use conveyor+file:///path/to/home",
        INVALID_PARAMETER_VALUE,
    )


def _bad_uri(store_uri: str) -> MlflowException:
    return MlflowException(
        f"{store_uri!r} is not a Conveyor tracking URI: use conveyor:// (the home of the "
        "current environment), conveyor://?env=NAME, or conveyor+file:///absolute/path/to/home",
        INVALID_PARAMETER_VALUE,
    )


__all__ = ["SCHEMES", "settings_of"]
