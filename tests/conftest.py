"""Settings and fixtures shared by every test: a Conveyor home of its own, and the
metadata store on SQLite and on a real PostgreSQL server (`postgres_server.py`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conveyor.store.metadata import MetadataStore
from postgres_server import PostgresServer, postgres_bindir, running_postgres

if TYPE_CHECKING:  # imported when a test needs them: moto and Ray are slow to import
    from ray_cluster import RayCluster
    from store.s3_server import S3Server


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The one PostgreSQL server of the test session, started when a test first needs it."""
    bindir = postgres_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
            "install them with `bash scripts/system-deps.sh postgresql`"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    with running_postgres(bindir) as server:
        yield server


@pytest.fixture(scope="session")
def ray_s3() -> Iterator[S3Server]:
    """The S3 server the Ray cluster's nodes reach (their `AWS_ENDPOINT_URL`). Other tests'
    S3 servers empty it (moto keeps one set of buckets per process): a test makes its own
    bucket."""
    from store.s3_server import running_s3

    with running_s3("ray-session") as server:
        yield server


@pytest.fixture(scope="session")
def ray_cluster(ray_s3: S3Server) -> Iterator[RayCluster]:
    """The Ray cluster of the test session: a head of 1 CPU and a node of 2 on loopback,
    joined by this process; started when a test first needs it."""
    from conveyor.pipelines.executors import ray_executor
    from ray_cluster import running_ray
    from store.s3_server import ENVIRONMENT as S3_ENVIRONMENT

    env = {**S3_ENVIRONMENT, "AWS_ENDPOINT_URL": ray_s3.endpoint}
    with running_ray(cpus=(1, 2), env=env) as cluster:
        ray_executor.connect(cluster.address)
        yield cluster
        import ray

        ray.shutdown()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty store on each backend: a test taking it runs twice."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def store(store_url: str) -> Iterator[MetadataStore]:
    """The metadata store of `store_url`, open for the test."""
    with MetadataStore.open(store_url) as opened:
        yield opened
