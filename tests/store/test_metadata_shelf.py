"""Stores are shared within a process, and never outlive the database they speak for."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest

from conveyor.store.metadata import MetadataStore, StoreError
from conveyor.store.metadata.shelf import SHELF, Shelf


class FakeStore:
    def __init__(self) -> None:
        self.is_current = True
        self.disposed = False

    def current(self) -> bool:
        return self.is_current

    def dispose(self) -> None:
        self.disposed = True


def test_a_store_is_handed_out_again_while_current():
    shelf = Shelf(keep_idle=1)
    first = shelf.take("a", FakeStore)
    assert shelf.take("a", FakeStore) is first
    shelf.give_back(first)
    shelf.give_back(first)
    assert not first.disposed  # idle, kept for the next take
    assert shelf.take("a", FakeStore) is first


def test_a_store_no_longer_current_is_replaced_and_closed_once_unused():
    shelf = Shelf()
    old = shelf.take("a", FakeStore)
    old.is_current = False
    new = shelf.take("a", FakeStore)
    assert new is not old
    assert not old.disposed  # its first user still holds it
    shelf.give_back(old)
    assert old.disposed
    assert shelf.take("a", FakeStore) is new


def test_only_the_most_recent_idle_stores_stay_open():
    shelf = Shelf(keep_idle=2)
    stores = [shelf.take(url, FakeStore) for url in "abc"]
    for store in stores:
        shelf.give_back(store)
    assert [s.disposed for s in stores] == [True, False, False]
    assert len(shelf) == 2


def test_stores_in_use_are_never_closed_for_room():
    shelf = Shelf(keep_idle=0)
    held = shelf.take("a", FakeStore)
    shelf.give_back(shelf.take("b", FakeStore))
    assert not held.disposed


def test_opening_the_same_file_again_shares_the_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    with MetadataStore.open(url) as first:
        first.create_run("r1", "p")
    with MetadataStore.open(url) as again:
        assert again is first
        assert [r.run_id for r in again.list_runs()] == ["r1"]


def test_a_deleted_file_is_a_new_store_and_writes_land_in_it(tmp_path):
    path = tmp_path / "metadata.db"
    url = f"sqlite:///{path}"
    with MetadataStore.open(url) as first:
        first.create_run("r1", "p")
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    with MetadataStore.open(url) as second:
        assert second is not first
        assert second.list_runs() == []
        second.create_run("r2", "p")
    with sqlite3.connect(path) as raw:
        names = [row[0] for row in raw.execute("SELECT name FROM contexts")]
    assert "r2" in names


def test_a_file_overwritten_with_garbage_is_refused(tmp_path):
    path = tmp_path / "metadata.db"
    url = f"sqlite:///{path}"
    MetadataStore.open(url).close()
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="not a"):
        MetadataStore.open(url)


def test_an_in_memory_store_is_new_at_each_open():
    with MetadataStore.open("sqlite://") as first:
        first.create_run("r1", "p")
        with MetadataStore.open("sqlite://") as second:
            assert second.list_runs() == []


def _shelf_size(results) -> None:
    results.put(len(SHELF))


def test_a_forked_child_does_not_use_its_parents_stores(tmp_path):
    store = MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        assert len(SHELF) > 0
        fork = multiprocessing.get_context("fork")
        results = fork.Queue()
        child = fork.Process(target=_shelf_size, args=(results,))
        child.start()
        child.join(30)
        assert results.get(timeout=5) == 0
    finally:
        store.close()


def test_a_held_connection_serves_its_threads_calls_and_nests(tmp_path):
    with MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}") as store:
        with store.held_connection():
            held = store._held.connection
            with store.held_connection():
                store.create_run("r1", "p")
            assert store._held.connection is held
            with store._read() as conn:
                assert conn is held
            elsewhere = []
            worker = threading.Thread(target=lambda: elsewhere.append(store._held.__dict__))
            worker.start()
            worker.join()
            assert elsewhere == [{}]  # other threads take connections from the pool
            assert [r.run_id for r in store.list_runs()] == ["r1"]
        assert store._held.connection is None
