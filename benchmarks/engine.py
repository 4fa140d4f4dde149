"""Engine benchmark: Conveyor against kfp.local on the same machine, in one process tree.

Two pipelines, each run on Conveyor (`conveyor.run`) and on kfp.local
(`SubprocessRunner(use_venv=False)`):

(a) chain:   50 trivial tasks in a row, each adding 1 to its input.
             Target: Conveyor at least 50 times faster than kfp.local.
(b) fan-out: a 32-item ParallelFor of tasks that each sleep 0.5 s.
             Target: Conveyor within 1.5 times its ideal, 0.5 s x ceil(32 / parallelism).

Wall times are end to end (the call that runs the pipeline and returns its
outputs), the median of `--repeat` rounds. It prints a table and PASS / MISS per
target and exits 0 either way: it is a report, not a test.

    python benchmarks/engine.py [--parallelism 8] [--repeat 3] [--skip-kfp-local]
"""

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

from kfp import dsl

warnings.filterwarnings("ignore", "The default base_image", FutureWarning)
sys.path.insert(0, str(Path(__file__).parents[1] / "support"))

from kfp_reference import on_kfp_local  # noqa: E402

CHAIN_LENGTH = 50
FAN_OUT_ITEMS = 32
NAP_SECONDS = 0.5
CHAIN_TARGET = 50.0  # Conveyor at least this many times faster than kfp.local
FAN_OUT_TARGET = 1.5  # Conveyor at most this many times its ideal


@dsl.component
def add_one(number: int) -> int:
    return number + 1


@dsl.component
def nap(seconds: float, item: int) -> int:
    import time

    time.sleep(seconds)
    return item


@dsl.pipeline
def chain(start: int = 0) -> int:
    """(a) CHAIN_LENGTH tasks, each fed by the one before."""
    task = add_one(number=start)
    for _ in range(CHAIN_LENGTH - 1):
        task = add_one(number=task.output)
    return task.output


@dsl.pipeline
def fan_out(seconds: float = NAP_SECONDS) -> list:
    """(b) FAN_OUT_ITEMS sleeping tasks with no limit in the loop itself."""
    with dsl.ParallelFor(list(range(FAN_OUT_ITEMS))) as item:
        napped = nap(seconds=seconds, item=item)
    return dsl.Collected(napped.output)


EXPECTED = {"chain": CHAIN_LENGTH, "fan_out": list(range(FAN_OUT_ITEMS))}


class Failed(Exception):
    """A benchmark run did not succeed or gave the wrong outputs."""


def run_on_conveyor(pipeline, parallelism: int) -> Any:
    from conveyor import run as conveyor_run  # imported before the clock starts, in main

    # Caching off: every round must run every task, as kfp.local does by default.
    run = conveyor_run(pipeline, parallelism=parallelism, enable_caching=False)
    if run.status != "SUCCEEDED":
        raise Failed(f"Conveyor: {run.status}: {run.error}")
    return run.outputs["Output"]


def run_on_kfp_local(pipeline, pipeline_root: Path, log_path: Path) -> Any:
    with on_kfp_local(pipeline_root), output_to(log_path):
        task = pipeline()
    return task.outputs["Output"]


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (and its children's) to a file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def timed(name: str, runner: str, call: Callable[[], Any]) -> float | None:
    """Seconds taken by `call`, or None (with the reason printed) if it failed."""
    started = time.perf_counter()
    try:
        outputs = call()
    except Exception as error:  # a report: show what went wrong and go on
        print(f"  {name} on {runner}: ERROR {type(error).__name__}: {error}", flush=True)
        return None
    seconds = time.perf_counter() - started
    if outputs != EXPECTED[name]:
        print(f"  {name} on {runner}: WRONG OUTPUT {outputs!r}", flush=True)
        return None
    print(f"  {name} on {runner}: {seconds:.2f} s", flush=True)
    return seconds


def median(values: list[float | None]) -> float | None:
    done = [v for v in values if v is not None]
    return statistics.median(done) if len(done) == len(values) and done else None


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parallelism", type=int, default=8, help="Conveyor's parallelism (default 8)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the median is reported")
    parser.add_argument("--skip-kfp-local", action="store_true", help="run Conveyor only")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-"))
    os.environ["CONVEYOR_HOME"] = str(scratch / "conveyor-home")
    kfp_log = scratch / "kfp-local.log"
    print(f"Conveyor home and kfp.local outputs under {scratch}", flush=True)
    # Both runners' Python modules are loaded before any clock starts (conveyor loads
    # its engine lazily, on first use of conveyor.run); start-up is not what is compared.
    import kfp.local.pipeline_orchestrator  # noqa: F401

    import conveyor.client  # noqa: F401  (what conveyor.run imports on its first call)
    import conveyor.pipelines.runner  # noqa: F401

    times: dict[tuple[str, str], list[float | None]] = {}
    for round_number in range(1, args.repeat + 1):
        print(f"round {round_number} of {args.repeat}", flush=True)
        for name, pipeline in (("chain", chain), ("fan_out", fan_out)):
            times.setdefault((name, "conveyor"), []).append(
                timed(name, "conveyor", lambda p=pipeline: run_on_conveyor(p, args.parallelism))
            )
            if not args.skip_kfp_local:
                root = scratch / f"kfp-local-{round_number}-{name}"
                times.setdefault((name, "kfp.local"), []).append(
                    timed(
                        name,
                        "kfp.local",
                        lambda p=pipeline, r=root: run_on_kfp_local(p, r, kfp_log),
                    )
                )

    chain_conveyor = median(times[("chain", "conveyor")])
    chain_local = median(times.get(("chain", "kfp.local"), [None]))
    fan_conveyor = median(times[("fan_out", "conveyor")])
    fan_local = median(times.get(("fan_out", "kfp.local"), [None]))
    ideal = NAP_SECONDS * math.ceil(FAN_OUT_ITEMS / args.parallelism)

    if chain_conveyor and chain_local:
        speedup = chain_local / chain_conveyor
        chain_measure = f"{speedup:.1f}x faster"
        chain_result = "PASS" if speedup >= CHAIN_TARGET else "MISS"
    else:
        chain_measure, chain_result = "n/a", "SKIP" if args.skip_kfp_local else "ERROR"
    if fan_conveyor:
        over_ideal = fan_conveyor / ideal
        fan_measure = f"{over_ideal:.2f}x ideal ({ideal:.1f} s)"
        fan_result = "PASS" if over_ideal <= FAN_OUT_TARGET else "MISS"
    else:
        fan_measure, fan_result = "n/a", "ERROR"

    rows = [
        ("scenario", "Conveyor", "kfp.local", "measure", "target", "result"),
        (
            f"(a) chain of {CHAIN_LENGTH}",
            seconds(chain_conveyor),
            seconds(chain_local),
            chain_measure,
            f">= {CHAIN_TARGET:.0f}x faster",
            chain_result,
        ),
        (
            f"(b) {FAN_OUT_ITEMS} x {NAP_SECONDS} s, parallelism {args.parallelism}",
            seconds(fan_conveyor),
            seconds(fan_local),
            fan_measure,
            f"<= {FAN_OUT_TARGET}x ideal",
            fan_result,
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print(
        f"\nmedian of {args.repeat} round(s); {os.cpu_count()} CPUs; "
        "kfp.local runs at most 2 loop iterations at once whatever the parallelism; "
        f"its logs: {kfp_log}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
