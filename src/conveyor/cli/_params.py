"""Pipeline parameters and labels as commands take them: `-p name=value` and
`--label key=value`, repeated."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.errors import UsageError

ParamOption = Annotated[
    list[str], typer.Option("--param", "-p", help="A pipeline parameter, as name=value.")
]


def parse_params(values: list[str]) -> dict[str, str]:
    """`["epochs=3", "name=Ada"]` as `{"epochs": "3", "name": "Ada"}`: text, typed later
    against the pipeline's inputs."""
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-p takes name=value, got {item!r}")
        params[name.strip()] = value
    return params


LabelOption = Annotated[
    list[str], typer.Option("--label", "-l", help="A label, as key=value (repeatable).")
]


def parse_labels(values: list[str]) -> dict[str, str]:
    """`["team=growth"]` as `{"team": "growth"}`."""
    labels: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--label takes key=value, got {item!r}")
        labels[key] = value
    return labels
