"""Fixtures of the automation tests: the pipeline registry on SQLite and PostgreSQL (`store`
runs each test on both) or on SQLite alone (`quick_pipelines`, for the many refusals), and
a clock the tests move (`clock`), so that no test waits for a cron minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conveyor.automation.pipelines import PipelineRegistry
from conveyor.store.metadata import MetadataStore


@pytest.fixture
def pipelines(store: MetadataStore) -> PipelineRegistry:
    return PipelineRegistry(store, user="alice")


@pytest.fixture
def quick_pipelines(tmp_path: Path) -> Iterator[PipelineRegistry]:
    with MetadataStore.open(f"sqlite:///{tmp_path / 'quick.db'}") as store:
        yield PipelineRegistry(store, user="alice")


START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""Where `clock` starts."""


class Clock:
    """The time as the test sets it: schedules and triggers take it as their `now`."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)
