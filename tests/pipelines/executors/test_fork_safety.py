"""The fork server is not forked from a process whose state a fork would break: with an
SQLite store open (SQLite keeps each open file's locks in the process's memory, which a
fork copies while the server closes the files they name, so a component opening that
store failed with `locking protocol`), or after Arrow ran its threads (in the test suite,
workers forked after monitoring's tests aborted in Arrow: "error closing file")."""

import json
import subprocess
import sys
import textwrap

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


ARROW_FIRST = """
import json, sys
import pyarrow as pa, pyarrow.dataset as ds, pyarrow.parquet as pq
from kfp import dsl
import conveyor
from conveyor.pipelines.executors import _forkserver

pq.write_table(pa.table({"a": list(range(10_000))}), sys.argv[1])
rows = sum(b.num_rows for b in ds.dataset(sys.argv[1]).scanner().to_batches())


@dsl.component
def add(a: int, b: int) -> int:
    return a + b


@dsl.pipeline
def adds() -> int:
    return add(a=rows, b=1).output


safe = _forkserver.fork_is_safe()
run = conveyor.run(adds)
print(json.dumps({"safe": safe, "status": run.status, "error": run.error, "outputs": run.outputs}))
"""


def test_a_process_that_read_parquet_on_arrows_threads_runs_pipelines(home, tmp_path):
    script = tmp_path / "notebook.py"
    script.write_text(textwrap.dedent(ARROW_FIRST))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data.parquet")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["status"] == "SUCCEEDED", outcome["error"]
    assert outcome == {**outcome, "safe": False, "outputs": {"Output": 10_001}}
