"""`conveyor env`: the environments of `conveyor.toml` and their resolved settings, secrets
masked."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.table import Table

from conveyor.cli._output import JsonOption, out, print_json, print_table

if TYPE_CHECKING:
    from conveyor.config import Settings

app = typer.Typer(
    name="env",
    help="The environments of conveyor.toml: list them, show one's settings.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

SECRET_KEY = re.compile(r"pass|pwd|token|secret|key|sig|credential", re.IGNORECASE)
"""Query parameters of a URL whose value is masked (`?password=`, `?X-Amz-Signature=`)."""


@app.command("list")
def list_environments(as_json: JsonOption = False) -> None:
    """List the environments, the selected one marked with *.

    Example: conveyor env list
    """
    from conveyor.config import Settings
    from conveyor.environments import DEFAULT_ENV, load

    selected = Settings.from_env()
    names = load(selected.config_file).names if selected.config_file else [DEFAULT_ENV]
    every = [selected if n == selected.env else Settings.from_env(env=n) for n in names]
    if as_json:
        print_json(
            {
                "config_file": _text(selected.config_file),
                "selected": selected.env,
                "environments": [_summary(s) | {"selected": s is selected} for s in every],
            }
        )
        return
    out.print(
        f"environments of {selected.config_file}"
        if selected.config_file
        else "no conveyor.toml here or above: the embedded default only"
    )
    table = Table("", "NAME", "HOME", "METADATA", "ARTIFACT ROOT", "SERVER", box=None)
    for settings in every:
        summary = _summary(settings)
        table.add_row(
            "*" if settings is selected else "",
            settings.env,
            summary["home"],
            summary["metadata_url"],
            summary["artifact_root"],
            summary["server_url"] or "",
        )
    print_table(table)


@app.command()
def show(
    name: Annotated[
        str | None,
        typer.Argument(help="The environment (default: the selected one, as `--env` chose)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show an environment's resolved settings, secrets masked.

    A password or token inside a URL shows as ***; of the server's token and the SMTP
    password, only the name of the variable that holds each, and whether the token is set.

    Example: conveyor env show prod --json
    """
    from conveyor.config import Settings

    shown = described(Settings.from_env(env=name))
    if as_json:
        print_json(shown)
        return
    table = Table("SETTING", "VALUE", box=None)
    for key, value in shown.items():
        table.add_row(key, "" if value is None else str(value))
    print_table(table)


def described(settings: Settings) -> dict[str, Any]:
    """Every setting, as JSON values: URLs masked, the token's variable said set or not."""
    shown: dict[str, Any] = {"env": None, "config_file": None}  # first
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if field.name == "gates":
            value = None if value is None else value.model_dump()
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [masked(v) for v in value]
        elif isinstance(value, str):
            value = masked(value)
        shown["home" if field.name == "folder" else field.name] = value
        if field.name == "token_env":
            shown["token_set"] = bool(value and os.environ.get(value))
    return shown


def masked(url: str) -> str:
    """`url` with the password of its user and its secret query values as ***
    (`postgresql://user:***@host/db`); anything that is not a URL as it is."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = "&".join(
        f"{key}=***" if sep and SECRET_KEY.search(key) else f"{key}{sep}{value}"
        for key, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # as written: `sqlite:///x` would come back as `sqlite://x`
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _summary(settings: Settings) -> dict[str, Any]:
    return {
        "name": settings.env,
        "home": str(settings.folder),
        "metadata_url": masked(settings.metadata_url),
        "artifact_root": masked(settings.artifact_root),
        "server_url": settings.server_url and masked(settings.server_url),
    }


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)
