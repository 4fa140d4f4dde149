"""Settings shared by every test."""

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "network: needs a package index (PyPI); deselect with -m 'not network'"
    )


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own Conveyor home, and none of the user's Conveyor settings."""
    for name in ("CONVEYOR_DISABLE_CACHE", "CONVEYOR_METADATA_URL", "CONVEYOR_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
