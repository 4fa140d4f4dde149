"""Fixtures of the automation tests: the pipeline registry on SQLite and PostgreSQL (`store`
runs each test on both) or on SQLite alone (`quick_pipelines`, for the many refusals), and
a clock the tests move (`clock`), so that no test waits for a cron minute; for promotion,
an S3 server (`s3`, one per module) and a dev home (`dev`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from promotion_support import env_home

from conveyor.automation.pipelines import PipelineRegistry
from conveyor.home import Home
from conveyor.store.metadata import MetadataStore
from store.s3_server import S3Server, running_s3


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


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Home]:
    with env_home(tmp_path, "dev") as home:
        yield home
