"""Connections: where the store lives, many writers at once, servers that do not answer."""

import multiprocessing
import socket
import sqlite3
import threading

import pytest

from conveyor.store.metadata import MetadataStore, StoreError

WRITERS = 4
TASKS_PER_WRITER = 40


def write_runs(url, writer, start):
    """One writer process: opens the store (maybe creating it) and records its tasks.

    The barrier lines the writers up after their imports, so their writes overlap.
    """
    start.wait()
    with MetadataStore.open(url) as store:
        store.create_run(f"run-{writer}", "concurrent")
        for task in range(TASKS_PER_WRITER):
            execution = store.create_execution(f"run-{writer}", f"task-{task}", cache_key=str(task))
            artifact = store.create_artifact(
                f"file:///{writer}/{task}", "system.Artifact", "out", output_of=execution
            )
            store.publish_artifact(artifact, sha256="0" * 64, size=1)
            store.finish_execution(execution, "COMPLETE")
        store.update_run(f"run-{writer}", "SUCCEEDED")


def test_concurrent_writer_processes_all_succeed(store_url):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [
        context.Process(target=write_runs, args=(store_url, n, start)) for n in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=240)
    assert [p.exitcode for p in writers] == [0] * WRITERS
    with MetadataStore.open(store_url) as store:
        runs = store.list_runs(pipeline="concurrent")
        assert {r.status for r in runs} == {"SUCCEEDED"}
        assert len(runs) == WRITERS
        for run in runs:
            executions = store.get_run(run.run_id).executions
            assert len(executions) == TASKS_PER_WRITER
            assert {e.state for e in executions} == {"COMPLETE"}


def test_an_in_memory_store_is_shared_by_threads():
    with MetadataStore.open("sqlite://") as store:
        store.create_run("run-1", "p")
        failures = []

        def record(n):
            try:
                for task in range(20):
                    execution = store.create_execution("run-1", f"{n}/{task}")
                    store.finish_execution(execution, "COMPLETE")
            except Exception as err:  # noqa: BLE001 - reported below
                failures.append(err)

        threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(store.get_run("run-1").executions) == 80


def test_the_default_store_lives_in_conveyor_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_METADATA_URL", raising=False)
    with MetadataStore.open() as store:
        store.create_run("run-1", "p")
        assert store.where == str(tmp_path / "home" / "metadata.db")
    with sqlite3.connect(tmp_path / "home" / "metadata.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_conveyor_metadata_url_overrides_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_METADATA_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    with MetadataStore.open() as store:
        assert store.where == str(tmp_path / "elsewhere.db")


def test_a_folder_that_cannot_be_created_is_named(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(StoreError, match=f"cannot create {tmp_path / 'taken'} for the metadata"):
        MetadataStore.open(f"sqlite:///{tmp_path / 'taken' / 'metadata.db'}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://db.example/metadata", "names an unsupported database"),
        ("postgresql+psycopg2://db.example/metadata", "through psycopg 3"),
    ],
)
def test_urls_the_store_cannot_use(url, message):
    with pytest.raises(StoreError, match=message):
        MetadataStore.open(url)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_postgresql_names_host_and_port():
    port = closed_port()
    with pytest.raises(StoreError) as raised:
        MetadataStore.open(f"postgresql+psycopg://conveyor:secret@127.0.0.1:{port}/metadata")
    message = str(raised.value)
    assert f"cannot reach the metadata store, PostgreSQL at 127.0.0.1:{port}/metadata" in message
    assert "Check that the server is running" in message
    assert "secret" not in message
    assert raised.value.exit_code == 2


@pytest.mark.timeout(60)
def test_a_silent_postgresql_times_out():
    """A server that accepts the connection and never answers: the connect timeout ends it."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        url = f"postgresql+psycopg://conveyor@127.0.0.1:{port}/metadata?connect_timeout=2"
        with pytest.raises(StoreError, match=f"cannot reach .* 127.0.0.1:{port}.*timeout"):
            MetadataStore.open(url)


def test_the_switch_to_wal_waits_for_another_writer(tmp_path):
    from conveyor.store.metadata import connect

    path = tmp_path / "metadata.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    # SQLite refuses the switch at once, not after its busy timeout, while this writes.
    threading.Timer(0.3, lambda: writer.execute("COMMIT")).start()
    engine = connect.create(f"sqlite:///{path}")
    try:
        connect.use_wal(engine)
    finally:
        engine.dispose()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
