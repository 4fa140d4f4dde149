"""Fixtures of the registry tests: a registry on SQLite and on a real PostgreSQL server, and
tiny scikit-learn models saved the ways users save them (skops, joblib).

The store is the root conftest's `store`: `store_url` runs each test on both backends.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import joblib
import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conveyor.registry import Registry
from conveyor.store.metadata import MetadataStore


@pytest.fixture
def registry(store: MetadataStore, monkeypatch) -> Registry:
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    return Registry(store)


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """One folder of each saved form of one tiny iris classifier, made once per session."""
    root = tmp_path_factory.mktemp("trained")
    features, target = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, target)
    (root / "skops").mkdir()
    skops.io.dump(model, root / "skops" / "model.skops")
    (root / "joblib").mkdir()
    joblib.dump(model, root / "joblib" / "model.joblib")
    return root


@pytest.fixture
def model_dir(trained: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the skops-saved model folder, for this test alone."""
    folder = tmp_path / "model"
    shutil.copytree(trained / "skops", folder)
    yield folder


@pytest.fixture
def joblib_dir(trained: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model-joblib"
    shutil.copytree(trained / "joblib", folder)
    return folder


@pytest.fixture
def make_model(trained: Path, tmp_path: Path):
    """`make_model("v2")`: another copy of the skops model in its own folder (a new version)."""

    def make(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(trained / "skops", folder)
        return folder

    return make
