"""A registered version that a monitor is pinned to cannot be deleted from under it; one a
monitor reaches through an alias can (the monitor follows the alias)."""

from __future__ import annotations

import pytest

from conveyor.home import open_home
from conveyor.registry.errors import DeleteRefused

SCHEMA = [{"name": "tenure", "type": "integer"}]


@pytest.fixture
def home(home, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    with open_home() as opened:
        for _ in range(3):
            opened.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
        opened.registry.set_alias("churn", "production", 3)
        opened.registry.set_alias("churn", "default", 3)
        yield opened


def test_a_pinned_version_stays_until_its_monitor_goes(home):
    home.monitors.create("pinned", "churn@1")
    home.monitors.create("following", "churn@production")
    with pytest.raises(DeleteRefused, match=r"watched by monitor pinned \(target churn@1\)"):
        home.registry.delete_version("churn", 1)
    home.registry.delete_version("churn", 2)  # nothing watches it
    home.monitors.delete("pinned")
    home.registry.delete_version("churn", 1)
