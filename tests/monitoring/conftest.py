"""Fixtures of the monitoring tests: a registry with a model `churn` (two versions with an
input schema, `production` on version 1) and its monitors, on SQLite and PostgreSQL
(`store` runs each test on both) or on SQLite alone (`quick`, for the many refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.monitoring import Monitors
from conveyor.registry import Registry
from conveyor.store.metadata import MetadataStore

SCHEMA = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "float"},
    {"name": "plan", "type": "string"},
]


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """A custom-code model: the registry records it without loading it (no framework needed)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    return folder


def churn(registry: Registry, folder: Path) -> Registry:
    registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    registry.set_alias("churn", "production", 1)
    return registry


@pytest.fixture
def registry(store: MetadataStore, model_folder: Path, monkeypatch) -> Registry:
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    return churn(Registry(store), model_folder)


@pytest.fixture
def monitors(registry: Registry) -> Monitors:
    return Monitors(registry.store, registry)


@pytest.fixture
def quick(tmp_path: Path, model_folder: Path, monkeypatch) -> Iterator[Monitors]:
    """Monitors on SQLite alone, for tests that only check what is refused."""
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    with MetadataStore.open(f"sqlite:///{tmp_path / 'quick.db'}") as store:
        registry = churn(Registry(store), model_folder)
        yield Monitors(store, registry)
