"""Fixtures of the runtime tests: small tabular data sets and checksum maps of folders.

Models are trained in the tests themselves, on a few hundred rows, so each test shows
the framework's own predictions beside the runtime's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conveyor.store.artifacts.digest import relative_files

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="session")
def tabular() -> tuple[np.ndarray, np.ndarray]:
    """300 rows of 4 float features and a binary label that depends on them."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 2] - x[:, 3] > 0).astype(int)
    return x, y


@pytest.fixture(scope="session")
def named(tabular) -> pd.DataFrame:
    """The same rows as a DataFrame with feature names."""
    return pd.DataFrame(tabular[0], columns=FEATURES)


@pytest.fixture(scope="session")
def mixed() -> tuple[pd.DataFrame, np.ndarray]:
    """A DataFrame of numbers and strings (age, income, city) and a binary label."""
    rng = np.random.default_rng(11)
    n = 200
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, size=n),
            "income": rng.normal(50_000, 15_000, size=n),
            "city": rng.choice(["paris", "lyon", "nice"], size=n),
        }
    )
    y = ((frame["age"] > 40) ^ (frame["city"] == "nice")).astype(int).to_numpy()
    return frame, y


@pytest.fixture
def checksums():
    """The sha256 map of a folder, as the registry records it at upload."""

    def of(folder: Path) -> dict[str, str]:
        return {
            rel: hashlib.sha256((folder / rel).read_bytes()).hexdigest()
            for rel in relative_files(folder)
        }

    return of
