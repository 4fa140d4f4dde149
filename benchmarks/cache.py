"""Caching and recording benchmark: what the metadata store costs and what the cache saves.

(a) cached chain: the 50-task chain of `engine.py`, run once in a new project
    (its metadata store created beforehand, so the first run does not include
    creating it), then again with every task cached. Target: the cached run at
    least 20 times faster than the first.
(b) recording:    the same chain with caching off, with the metadata store in a
    SQLite file (the default) and in an in-memory SQLite database; the
    difference per task is what recording to disk adds.
    Target: at most 2 ms per task.

Each figure is the median of `--repeat` rounds, each round in a fresh
CONVEYOR_HOME. A report, not a test: it exits 0 either way.

    python benchmarks/cache.py [--repeat 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", "The default base_image", FutureWarning)
sys.path.insert(0, str(Path(__file__).parent))

from engine import CHAIN_LENGTH, chain  # noqa: E402

import conveyor  # noqa: E402
from conveyor.store.metadata import MetadataStore  # noqa: E402

CACHE_TARGET = 20.0
RECORDING_TARGET_MS = 2.0


def timed(**options) -> float:
    start = time.perf_counter()
    run = conveyor.run(chain, **options)
    elapsed = time.perf_counter() - start
    if run.status != "SUCCEEDED" or run.outputs != {"Output": CHAIN_LENGTH}:
        raise SystemExit(f"the chain did not run right: {run.status} {run.outputs} {run.error}")
    return elapsed


def fresh_home(scratch: Path, name: str) -> None:
    os.environ["CONVEYOR_HOME"] = str(Path(tempfile.mkdtemp(prefix=name, dir=scratch)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
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


if __name__ == "__main__":
    main()
