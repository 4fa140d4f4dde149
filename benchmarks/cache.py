"""Caching and recording benchmark: what the metadata store costs and what the cache saves.

(a) cached chain: the 50-task chain of `engine.py`, run once in a new project
    (its metadata store created beforehand, so the first run does not include
    creating it), then again with every task cached. Target: the cached run at
    least 20 times faster than the first.
(b) recording:    the same chain with caching off, with the metadata store in a
    SQLite file (the default) and in an in-memory SQLite database; the
    difference per task is what recording to disk adds.
    Target: at most 2 ms per task.

With `--compare`, also:

(c) driver:       the store runs the statements of a fully cached run on the
    database driver's cursor (`conveyor/store/metadata/driver.py`). This runs
    cached runs of the chain and of a chain of artifacts with those statements
    as they are, then executed by SQLAlchemy instead (the same statements, on
    the same warm shelved engine: each way has one cached run of its own first,
    so SQLAlchemy has compiled them), and shows what each statement costs a
    cached run either way. The driver path is kept where it pays.

Each figure is the median of `--repeat` rounds, each round in a fresh
CONVEYOR_HOME. A report, not a test: it exits 0 either way.

    python benchmarks/cache.py [--repeat 5] [--compare]
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", "The default base_image", FutureWarning)
sys.path.insert(0, str(Path(__file__).parent))

from engine import CHAIN_LENGTH, chain  # noqa: E402
from kfp import dsl  # noqa: E402
from kfp.dsl import Dataset, Input, Output  # noqa: E402
from sqlalchemy.sql.expression import Executable  # noqa: E402

import conveyor  # noqa: E402
from conveyor.store.metadata import MetadataStore, driver, queries, recording, schema  # noqa: E402

CACHE_TARGET = 20.0
RECORDING_TARGET_MS = 2.0
ARTIFACT_CHAIN_LENGTH = 20
COMPARED_RUNS = 3
"""(c): cached runs of each pipeline each way, in each round."""


@dsl.component
def first_count(count: Output[Dataset]):
    with open(count.path, "w") as f:
        f.write("1")


@dsl.component
def count_on(counted: Input[Dataset], count: Output[Dataset]):
    with open(counted.path) as f, open(count.path, "w") as g:
        g.write(str(int(f.read()) + 1))


@dsl.pipeline
def artifact_chain():
    """(c) ARTIFACT_CHAIN_LENGTH tasks, each reading the Dataset of the one before."""
    task = first_count()
    for _ in range(ARTIFACT_CHAIN_LENGTH - 1):
        task = count_on(counted=task.outputs["count"])


def timed(pipeline=chain, **options) -> float:
    start = time.perf_counter()
    run = conveyor.run(pipeline, **options)
    elapsed = time.perf_counter() - start
    expected = {"Output": CHAIN_LENGTH} if pipeline is chain else {}
    if run.status != "SUCCEEDED" or run.outputs != expected:
        raise SystemExit(f"the pipeline did not run right: {run.status} {run.outputs} {run.error}")
    return elapsed


def fresh_home(scratch: Path, name: str) -> None:
    os.environ["CONVEYOR_HOME"] = str(Path(tempfile.mkdtemp(prefix=name, dir=scratch)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare", action="store_true", help="(c): driver against SQLAlchemy")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-cache-"))
    fresh_home(scratch, "warmup-")
    timed()  # imports, first fork: paid once by any process, not by a run
    first, cached, on_file, in_memory = [], [], [], []
    for round_ in range(args.repeat):
        print(f"round {round_ + 1} of {args.repeat}", file=sys.stderr)
        fresh_home(scratch, "cache-")
        MetadataStore.open().close()  # the store exists: the first run of a pipeline, not of Conveyor
        first.append(timed())
        cached.append(timed())
        fresh_home(scratch, "file-")
        os.environ.pop("CONVEYOR_METADATA_URL", None)
        timed(enable_caching=False)  # the store exists: measure steady state
        on_file.append(timed(enable_caching=False))
        fresh_home(scratch, "memory-")
        os.environ["CONVEYOR_METADATA_URL"] = "sqlite://"
        in_memory.append(timed(enable_caching=False))
        os.environ.pop("CONVEYOR_METADATA_URL")
    med = statistics.median
    speedup = med(first) / med(cached)
    per_task_ms = (med(on_file) - med(in_memory)) / CHAIN_LENGTH * 1000
    rows = [
        ("(a) first run of the chain", f"{med(first):.3f} s", ""),
        (
            "(a) same run, all cached",
            f"{med(cached):.3f} s",
            f"{speedup:.1f}x faster (target >= {CACHE_TARGET:g}x): "
            + ("PASS" if speedup >= CACHE_TARGET else "MISS"),
        ),
        ("(b) chain, store in a SQLite file", f"{med(on_file):.3f} s", ""),
        (
            "(b) chain, store in memory",
            f"{med(in_memory):.3f} s",
            f"{per_task_ms:+.2f} ms per task on file (target <= {RECORDING_TARGET_MS:g} ms): "
            + ("PASS" if per_task_ms <= RECORDING_TARGET_MS else "MISS"),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'scenario'.ljust(width)}  {'wall time':>9}  result")
    for name, value, result in rows:
        print(f"{name.ljust(width)}  {value:>9}  {result}")
    print(f"\nmedian of {args.repeat} round(s); {os.cpu_count()} CPUs; scratch: {scratch}")
    if args.compare:
        compare(scratch, args.repeat)


# (c) driver against SQLAlchemy


class BySQLAlchemy:
    """A statement of `driver.py` executed by SQLAlchemy instead, on the same connection:
    what the store would cost without the driver path (its rows are named and decoded too)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement

    def first(self, conn, params):
        return conn.execute(self.statement, params).first()

    def all(self, conn, params):
        return conn.execute(self.statement, params).all()

    def execute(self, conn, params):
        return conn.execute(self.statement, params).rowcount

    def many(self, conn, rows, shared):
        return conn.execute(self.statement, [{**shared, **row} for row in rows]).rowcount


class Timed:
    """A statement whose every call adds its seconds to `spent[label]`."""

    def __init__(self, inner: Any, label: str, spent: dict[str, list[float]]) -> None:
        self.inner, self.label, self.spent = inner, label, spent

    def __getattr__(self, method: str) -> Any:
        call = getattr(self.inner, method)

        def timed_call(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return call(*args)
            finally:
                self.spent[self.label].append(time.perf_counter() - start)

        return timed_call


def statement_labels() -> dict[Executable, str]:
    """The store's statements, named after the module globals that hold them."""
    labels = {}
    for module in (recording, queries, schema):
        short = module.__name__.rsplit(".", 1)[-1]
        for name, value in vars(module).items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, item in items:
                if isinstance(item, Executable):
                    labels[item] = f"{short}.{name}" + (f"[{key}]" if key is not None else "")
    return labels


@contextlib.contextmanager
def statements_run_by(way: str, spent: dict[str, list[float]]) -> Iterator[None]:
    """Within the block, the store's driver statements run `way` ("driver" or "SQLAlchemy"),
    each call timed."""
    labels = statement_labels()
    real = driver.prepared

    def prepared(statement, dialect):
        inner = real(statement, dialect) if way == "driver" else BySQLAlchemy(statement)
        return Timed(inner, labels.get(statement, str(statement)[:40]), spent)

    driver.prepared = prepared
    try:
        yield
    finally:
        driver.prepared = real


def compare(scratch: Path, repeat: int) -> None:
    ways = ("driver", "SQLAlchemy")
    pipelines = {"chain": chain, "artifact chain": artifact_chain}
    runs: dict[tuple[str, str], list[float]] = defaultdict(list)
    per_statement: dict[tuple[str, str], list[float]] = defaultdict(list)
    calls: dict[str, int] = {}
    for round_ in range(repeat):
        print(f"(c) round {round_ + 1} of {repeat}", file=sys.stderr)
        fresh_home(scratch, "compare-")
        MetadataStore.open().close()
        for pipeline in pipelines.values():
            timed(pipeline)
        for way in ways if round_ % 2 == 0 else ways[::-1]:
            spent: dict[str, list[float]] = defaultdict(list)
            with statements_run_by(way, spent):
                for pipeline in pipelines.values():
                    timed(pipeline)  # warm: SQLAlchemy compiles on this engine now
                for _ in range(COMPARED_RUNS):
                    spent.clear()
                    for name, pipeline in pipelines.items():
                        runs[way, name].append(timed(pipeline))
                    for label, seconds in spent.items():
                        per_statement[way, label].append(sum(seconds))
                        calls[label] = len(seconds)
    med = statistics.median
    print("\n(c) cached runs, the store's driver statements run by the driver or by SQLAlchemy")
    for name in pipelines:
        driver_s, sqlalchemy_s = med(runs["driver", name]), med(runs["SQLAlchemy", name])
        print(
            f"  {name:<16} driver {driver_s * 1000:7.2f} ms   SQLAlchemy {sqlalchemy_s * 1000:7.2f} ms"
            f"   SQLAlchemy / driver {sqlalchemy_s / driver_s:5.2f}x"
        )
    width = max(len(label) for label in calls)
    print("\n  each statement, in microseconds over a cached run of each pipeline:")
    print(f"  {'statement'.ljust(width)}  calls   driver  SQLAlchemy  saved")
    rows = [
        (label, med(per_statement["driver", label]), med(per_statement["SQLAlchemy", label]))
        for label in calls
    ]
    for label, by_driver, by_sqlalchemy in sorted(rows, key=lambda r: r[1] - r[2]):
        print(
            f"  {label.ljust(width)}  {calls[label]:5d}  {by_driver * 1e6:7.0f}  {by_sqlalchemy * 1e6:10.0f}"
            f"  {(by_sqlalchemy - by_driver) * 1e6:5.0f}"
        )
    print(f"\n  median of {repeat} round(s) of {COMPARED_RUNS} cached runs each way")


if __name__ == "__main__":
    main()
