"""Fixtures of the server tests: tiny scikit-learn models trained here, registered through
the registry of the test's home, and the prediction server started for real with uvicorn
on a free loopback port, in a thread of the test process, on a home of its own (see
`serving_support.py`)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import skops.io
from serving_support import SCHEMA, Running, start_server, training_data
from sklearn.linear_model import LogisticRegression

from conveyor.config import Settings
from conveyor.home import Home, open_home
from conveyor.registry import Registry
from conveyor.serving.app import create_app
from conveyor.serving.endpoints import Endpoints
from conveyor.serving.settings import ServerSettings
from conveyor.store.metadata import MetadataStore


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Saved model folders: `v1`, `v2` (opposite labels), and their fitted estimators."""
    root = tmp_path_factory.mktemp("trained")
    frame, labels = training_data()
    folders = {}
    for name, y in (("v1", labels), ("v2", 1 - labels)):
        model = LogisticRegression(max_iter=1000).fit(frame, y)
        folder = root / name
        folder.mkdir()
        skops.io.dump(model, folder / "model.skops")
        folders[name] = folder
    return folders


@pytest.fixture
def settings(home) -> Settings:
    """The settings of the test's home (the root conftest's folder); dana makes the changes."""
    return dataclasses.replace(Settings.from_env(), user="dana")


@pytest.fixture
def own_home(settings) -> Iterator[Home]:
    """The test's own home on those settings, which the servers it starts share."""
    with open_home(settings=settings) as opened:
        yield opened


@pytest.fixture
def store(own_home) -> MetadataStore:
    return own_home.store


@pytest.fixture
def registry(own_home) -> Registry:
    return own_home.registry


@pytest.fixture
def endpoints(own_home) -> Endpoints:
    return own_home.endpoints


@pytest.fixture
def model_copy(trained, tmp_path):
    """`model_copy("v1")`: a fresh copy of a saved version's folder, to upload."""
    count = iter(range(1000))

    def copy(name: str) -> Path:
        target = tmp_path / "uploads" / f"{name}-{next(count)}"
        shutil.copytree(trained[name], target)
        return target

    return copy


@pytest.fixture
def churn(registry, model_copy):
    """churn@1 (v1, default and production) and churn@2 (v2, candidate) in the registry."""
    registry.upload(
        "churn", model_copy("v1"), framework="sklearn", input_schema=SCHEMA, aliases=["production"]
    )
    registry.upload(
        "churn", model_copy("v2"), framework="sklearn", input_schema=SCHEMA, aliases=["candidate"]
    )
    return registry


@pytest.fixture
def serve(settings) -> Iterator:
    """`serve(**server_settings)`: start a prediction server on a home of its own over the
    test's settings, as a separate process would have (fast polling, logs flushed at
    shutdown)."""
    started: list[Running] = []

    def start(**overrides) -> Running:
        values = {"poll_seconds": 0.05, "log_flush_seconds": 3600.0, **overrides}
        home = open_home(settings=settings)
        try:
            app = create_app(home, ServerSettings.from_env(**values))
        except BaseException:
            home.close()
            raise
        running = start_server(app, home)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
