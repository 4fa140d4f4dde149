"""Settings shared by every test."""

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "network: needs a package index (PyPI); deselect with -m 'not network'"
    )


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own Conveyor home, and no Conveyor setting from the environment
    (the user's, or one a test before it left behind)."""
    for name in [n for n in os.environ if n.startswith("CONVEYOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
