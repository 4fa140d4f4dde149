"""Ray benchmark: `--executor ray` on a two-node cluster against the local executor.

It starts a Ray cluster on this machine (`support/ray_cluster.py`: two nodes of one CPU
each, the head one of them) and runs, side by side in one process:

(a) chain:   `--chain` trivial tasks in a row, on Ray and on the local executor.
             Reported: the time per task on each, and Ray's overhead per task over the
             local executor's. Goal: at most 20 ms per task.
(b) fan-out: a `--width`-wide ParallelFor of tasks that each sleep 1 s, on Ray's two
             nodes (parallelism 2: one task per CPU) and on the local executor with
             parallelism 1 (one node of one CPU). Target: Ray at least 1.7 times faster.

Wall times are end to end (`conveyor.run` to its return), the median of `--repeat`
rounds, each run with caching off. It prints a table and PASS / MISS per target and exits
0 either way: it is a report, not a test.

    python benchmarks/ray.py [--chain 30] [--width 64] [--repeat 1]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from kfp import dsl

warnings.filterwarnings("ignore", "The default base_image", FutureWarning)
# This file is `ray.py`: its own folder, first on the path, would shadow the `ray` package.
sys.path[0] = str(Path(__file__).parents[1] / "support")

import conveyor  # noqa: E402
from ray_cluster import running_ray  # noqa: E402

NAP_SECONDS = 1.0
FAN_OUT_TARGET = 1.7
OVERHEAD_GOAL_MS = 20.0


@dsl.component
def add_one(x: int) -> int:
    return x + 1


@dsl.component
def nap(i: int) -> int:
    import time

    time.sleep(1.0)
    return i


def chain_of(length: int):
    @dsl.pipeline(name="ray-bench-chain")
    def chain() -> int:
        task = add_one(x=0)
        for _ in range(length - 1):
            task = add_one(x=task.output)
        return task.output

    return chain


def fan_out_of(width: int):
    @dsl.pipeline(name="ray-bench-fan-out")
    def fan_out() -> list:
        with dsl.ParallelFor(list(range(width))) as i:
            task = nap(i=i)
        return dsl.Collected(task.output)

    return fan_out


def timed(pipeline, repeat: int, **options) -> float:
    """The median wall time of `repeat` runs, each checked to succeed."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run = conveyor.run(pipeline, enable_caching=False, **options)
        times.append(time.perf_counter() - start)
        assert run.status == "SUCCEEDED", run.error
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chain", type=int, default=30)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CONVEYOR_HOME"] = str(Path(folder, "home"))
        print("starting a Ray cluster of two nodes of one CPU each...", flush=True)
        with running_ray(cpus=(1, 1)) as cluster:
            on_ray = {"executor": "ray", "ray_address": cluster.address}
            chain = chain_of(args.chain)
            timed(chain, 1, **on_ray)  # warm: the cluster's workers, this process's imports
            timed(chain, 1, executor="local")
            chain_ray = timed(chain, args.repeat, **on_ray)
            chain_local = timed(chain, args.repeat, executor="local")
            fan_out = fan_out_of(args.width)
            fan_ray = timed(fan_out, args.repeat, parallelism=2, **on_ray)
            fan_local = timed(fan_out, args.repeat, parallelism=1, executor="local")
    per_task_ray = chain_ray / args.chain * 1000
    per_task_local = chain_local / args.chain * 1000
    overhead = per_task_ray - per_task_local
    speedup = fan_local / fan_ray
    print()
    print("| Scenario | Ray (2 nodes × 1 CPU) | local | Ratio | Target |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| chain of {args.chain}: per task | {per_task_ray:.1f} ms | {per_task_local:.1f} ms | "
        f"+{overhead:.1f} ms on Ray | ≤ {OVERHEAD_GOAL_MS:.0f} ms per task on Ray: "
        f"{'PASS' if per_task_ray <= OVERHEAD_GOAL_MS else 'MISS'} |"
    )
    print(
        f"| fan-out of {args.width} × {NAP_SECONDS:.0f} s | {fan_ray:.1f} s | {fan_local:.1f} s "
        f"(parallelism 1) | {speedup:.2f}× faster | ≥ {FAN_OUT_TARGET}×: "
        f"{'PASS' if speedup >= FAN_OUT_TARGET else 'MISS'} |"
    )


if __name__ == "__main__":
    main()
