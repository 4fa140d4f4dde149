"""Fixtures of the REST API tests: a saved iris classifier, the test's own home, and an
app served for real by uvicorn on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import skops.io
from api_support import served
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conveyor.api import create_app
from conveyor.config import Settings
from conveyor.home import Home, open_home


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """A small iris classifier saved with skops."""
    folder = tmp_path_factory.mktemp("saved") / "model"
    folder.mkdir()
    features, target = load_iris(return_X_y=True)
    skops.io.dump(LogisticRegression(max_iter=500).fit(features, target), folder / "model.skops")
    return folder


@pytest.fixture
def settings(home, saved, tmp_path) -> Settings:
    """The settings of the test's home (the root conftest's folder); dana makes the changes,
    and requests may register models from the saved one's folder and the test's own."""
    roots = (str(saved.parent), str(tmp_path))
    return dataclasses.replace(Settings.from_env(), user="dana", allowed_artifact_roots=roots)


@pytest.fixture
def own_home(settings) -> Iterator[Home]:
    with open_home(settings=settings) as opened:
        yield opened


@pytest.fixture
def serve(own_home) -> Iterator:
    """Start `app` (default: the control API on the test's home) under uvicorn on
    127.0.0.1; an httpx client of it."""
    with ExitStack() as running:
        yield lambda app=None: running.enter_context(served(app or create_app(own_home)))


@pytest.fixture
def api(serve):
    return serve()
