"""The fork server is never forked from a process with an SQLite store open: SQLite keeps
each open file's locks in the process's memory, which a fork copies while the server
closes the files they name, so a component opening that store (`Client()`) locked
through numbers naming other files and failed with `locking protocol` (it did under
pytest's output capture, whose files took those numbers)."""

import pytest
from kfp import dsl

import conveyor
from conveyor.home import open_home
from conveyor.pipelines.executors import _forkserver
from conveyor.store.metadata import MetadataStore


@pytest.fixture(autouse=True)
def no_fork_server():
    """Each test decides from its own process's state whether the server is forked."""
    _forkserver.stop()
    yield
    _forkserver.stop()


def test_an_open_sqlite_store_makes_a_fork_unsafe(tmp_path):
    with MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}") as store:
        store.live_artifacts("system.Model")  # connected: its files are open
        assert _forkserver._sqlite_open()
        assert not _forkserver.fork_is_safe()


@dsl.component
def count_monitors() -> int:
    from conveyor.client import Client

    with Client() as client:
        return len(client.list_monitors())


@dsl.pipeline
def reads_the_store() -> int:
    return count_monitors().output


def test_a_component_opens_the_store_its_run_has_open(home):
    with open_home() as opened:
        opened.store.live_artifacts("system.Model")  # connected: its files are open
        run = conveyor.run(reads_the_store, home=opened)
    assert run.status == "SUCCEEDED", run.error
    assert run.outputs == {"Output": 0}
