"""Monitoring benchmark: a monitoring job's statistics, distances and significance against
one plain pass over the data and against Evidently, side by side on the same data.

The script generates a baseline and a target of `--rows` rows each (default 1,000,000) x
20 features: 15 numeric (normal, log-normal, integer, some with NaN and infinities) and 5
categorical (dictionary-encoded strings); in the target, n0, n1, n2, c0 and c1 moved far
(over the 0.3 threshold), n3 and n4 moved less (under it), the rest not at all. It writes
them as Parquet (row groups of 131,072) in a temporary folder, and measures, each the
median of `--repeat` rounds:

(a) floor:   one plain pass over both files that only histograms each numeric column
             (`np.histogram`, 10 buckets, finite values) and counts each categorical one
             (`pyarrow.compute.value_counts`), read the same way as the job reads them
             (`conveyor.monitoring.statistics.batches`).
(b) job:     what a monitoring job computes with nothing cached: the baseline's
             statistics (two passes), the target's (one pass), every feature's distance
             and its null quantile (1000 bootstrap draws each).
             Targets: at most 2x (a); at least 100x faster than (d).
(c) job with the null quantiles cached (the baseline still computed), and the first
             computation of every null quantile alone. Target: that first computation at
             most 2x the job.
(c') job with the baseline statistics and the null quantiles cached: what a scheduled
             job pays each time.
(d) Evidently 0.7's `Report([DataDriftPreset()]).run(target, baseline)` on the same data
             as pandas DataFrames (only the report timed; run once). Evidently 0.7 does
             not import with pandas 3, which Conveyor uses, so it runs in its own virtual
             environment (`evidently==0.7.23`, `pandas<3`), created with uv once under
             `--cache` (default ~/.cache/conveyor-bench), as a subprocess.
(e) peak RSS of a job (target statistics, distances, significance) over a prediction log
             of `--log-rows` rows (default 20,000,000) in files of 500,000 rows, generated
             once under `--cache`, in a subprocess of its own (`resource.getrusage`).
             Target: under 1 GiB.

A report, not a test: it exits 0 either way.

    .venv/bin/python benchmarks/monitoring.py [--rows 1000000] [--repeat 3]
        [--log-rows 20000000] [--cache DIR] [--skip-evidently] [--skip-rss] [--quick]

`--quick` runs the same steps on 20,000 rows and a log of 200,000 (what
tests/monitoring/test_benchmark_script.py runs to keep the script working).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from conveyor.monitoring.distances import distance
from conveyor.monitoring.significance import NullCache, compare
from conveyor.monitoring.statistics import (
    NumericStatistics,
    Statistics,
    baseline_statistics,
    batches,
    target_statistics,
)

NUMERIC = [f"n{i}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
ROW_GROUP = 131_072
LOG_FILE_ROWS = 500_000
JOB_TARGET = 2.0  # (b) at most this many times (a)
EVIDENTLY_TARGET = 100.0  # (b) at least this many times faster than (d)
NULL_TARGET = 2.0  # the first null computation at most this many times the job (c)
RSS_TARGET = 1 << 30  # (e) bytes
EVIDENTLY = "evidently==0.7.23"
GENERATION = 1  # bump when the generated data change, so the cached log is made again


# The data


def generate(rows: int, seed: int, drifted: bool) -> pa.Table:
    """`rows` rows of the 20 features; `drifted`: the target's distributions."""
    rng = np.random.default_rng(seed)
    shift = 1.0 if drifted else 0.0
    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(NUMERIC):
        kind = i % 5
        if kind == 0:
            values = rng.normal(10 * i, 1 + i % 3, rows)
        elif kind == 1:
            values = rng.lognormal(1, 0.8, rows)
        elif kind == 2:
            values = rng.poisson(3 + i, rows).astype(np.float64)
        elif kind == 3:
            values = rng.exponential(2.0, rows)
        else:
            values = rng.uniform(-5, 5, rows)
        if drifted and i == 0:
            values = values + 2 * (1 + i % 3)  # 2 standard deviations
        elif drifted and i == 1:
            values = values * 5
        elif drifted and i == 2:
            values = values + 4
        elif drifted and i == 3:
            values = np.where(rng.random(rows) < 0.5, values * 4, values)
        elif drifted and i == 4:
            values = values + 0.2  # a small move, like n3's: under the threshold
        if i in (5, 6, 7):
            values[rng.random(rows) < 0.01] = np.nan
        if i == 7:
            values[rng.random(rows) < 0.001] = np.inf
        columns[name] = pa.array(values)
    for i, name in enumerate(CATEGORICAL):
        size = (3, 10, 50, 200, 1000)[i]
        dictionary = pa.array([f"{name}_value_{j}" for j in range(size)])
        weights = 1 / np.arange(1, size + 1) ** (1.0 + 0.2 * i)  # Zipf-like shares
        if drifted and i < 2:
            weights = weights[::-1] * shift
        indices = rng.choice(size, rows, p=weights / weights.sum()).astype(np.int32)
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(indices), dictionary)
    return pa.table(columns)


def write(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, row_group_size=ROW_GROUP)


def log_folder(cache: Path, rows: int) -> Path:
    """A prediction-log-like folder of `rows` drifted rows in files of LOG_FILE_ROWS,
    generated once."""
    folder = cache / f"log-{rows}-v{GENERATION}"
    if (folder / "_DONE").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    for number, start in enumerate(range(0, rows, LOG_FILE_ROWS)):
        size = min(LOG_FILE_ROWS, rows - start)
        write(generate(size, 1000 + number, drifted=True), folder / f"part-{number:04d}.parquet")
    (folder / "_DONE").write_text(f"{rows}\n")
    print(
        f"generated a log of {rows:,} rows in {folder} ({time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    return folder


# What is measured


def plain_pass(*paths: Path) -> None:
    """(a) every column once: a histogram or value counts per batch, nothing kept."""
    for path in paths:
        for batch in batches(path):
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                if name in NUMERIC:
                    values = column.to_numpy(zero_copy_only=False)
                    np.histogram(values[np.isfinite(values)], bins=10)
                else:
                    pc.value_counts(column)


def job(baseline_path: Path, target_path: Path, cache: NullCache, baseline=None):
    """(b), (c), (c'): the statistics of both sides (the baseline's unless given), each
    feature's distance, null quantile and verdict."""
    baseline = baseline if baseline is not None else baseline_statistics(baseline_path)
    target = target_statistics(target_path, baseline)
    return baseline, target, compare(baseline, target, cache=cache)


def first_nulls(baseline: Statistics, target: Statistics) -> float:
    """Seconds to compute every feature's null quantile once, from an empty cache."""
    cache = NullCache()
    started = time.perf_counter()
    for name, feature in baseline.features.items():
        cache.null_quantile(feature, target.features[name].count, feature=name)
    return time.perf_counter() - started


def timed(call, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = call(*args)
    return time.perf_counter() - started, result


# Evidently, in its own environment


EVIDENTLY_RUN = """
import json, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
for frame in (reference, current):  # categories as plain strings, as users load them
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(str)
started = time.perf_counter()
result = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
seconds = time.perf_counter() - started
drifted = []
for metric in result.dict()["metrics"]:
    config = metric.get("config", {})
    if config.get("type", "").endswith("ValueDrift"):
        value = float(metric["value"])
        if value >= float(config["threshold"]):
            drifted.append(config["column"])
print(json.dumps({"seconds": seconds, "drifted": sorted(drifted)}))
"""


def evidently_python(cache: Path) -> Path:
    """The Python of Evidently's own environment, created once with uv."""
    venv = cache / EVIDENTLY.replace("==", "-")
    python = venv / "bin" / "python"
    if (venv / "READY").exists():
        return python
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to create Evidently's environment: `pip install uv`")
    print(f"creating Evidently's environment in {venv} (once)", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            EVIDENTLY,
            "pandas>=2.2,<3",
            "pyarrow",
        ],
        check=True,
    )
    (venv / "READY").write_text(EVIDENTLY + "\n")
    return python


def run_evidently(cache: Path, baseline_path: Path, target_path: Path) -> dict:
    python = evidently_python(cache)
    found = subprocess.run(
        [str(python), "-c", EVIDENTLY_RUN, str(baseline_path), str(target_path)],
        capture_output=True,
        text=True,
    )
    if found.returncode:
        raise SystemExit(f"(d) Evidently's report failed:\n{found.stderr}")
    return json.loads(found.stdout.strip().splitlines()[-1])


# (e) peak RSS, in a process of its own


def rss_job(baseline_json: str, log: str) -> None:
    """`monitoring.py --rss-job BASELINE_JSON LOG`: a job over the log, then its peak RSS."""
    started = time.perf_counter()
    baseline = Statistics.from_json(Path(baseline_json).read_text())
    target = target_statistics(log, baseline)
    results = compare(baseline, target)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    flagged = sorted(name for name, r in results.items() if r.anomaly)
    print(
        json.dumps(
            {
                "peak_rss": peak,
                "rows": target.rows,
                "seconds": time.perf_counter() - started,
                "flagged": flagged,
            }
        )
    )


def measure_rss(baseline: Statistics, log: Path, scratch: Path) -> dict:
    baseline_json = scratch / "baseline.json"
    baseline_json.write_text(json.dumps(baseline.to_json()))
    found = subprocess.run(
        [sys.executable, __file__, "--rss-job", str(baseline_json), str(log)],
        capture_output=True,
        text=True,
    )
    if found.returncode:
        raise SystemExit(f"(e) the job over the log failed:\n{found.stderr}")
    return json.loads(found.stdout.strip().splitlines()[-1])


# The report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log-rows", type=int, default=20_000_000)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "conveyor-bench")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, a log of 200,000")
    parser.add_argument(
        "--rss-job", nargs=2, metavar=("BASELINE_JSON", "LOG"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.rss_job:
        rss_job(*args.rss_job)
        return
    if args.quick:
        args.rows, args.log_rows, args.repeat = 20_000, 200_000, 1
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-monitoring-"))
    try:
        report(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def report(args: argparse.Namespace, scratch: Path) -> None:
    print(f"generating {args.rows:,} + {args.rows:,} rows x 20 features", file=sys.stderr)
    baseline_path, target_path = scratch / "baseline.parquet", scratch / "target.parquet"
    write(generate(args.rows, 1, drifted=False), baseline_path)
    write(generate(args.rows, 2, drifted=True), target_path)

    plain_pass(baseline_path, target_path)  # warm: imports, the page cache
    floor, full, cached, steady, nulls = [], [], [], [], []
    for round_ in range(args.repeat):
        print(f"round {round_ + 1} of {args.repeat}", file=sys.stderr)
        floor.append(timed(plain_pass, baseline_path, target_path)[0])
        seconds, (baseline, target, results) = timed(
            lambda: job(baseline_path, target_path, NullCache())
        )
        full.append(seconds)
        warm = NullCache()
        compare(baseline, target, cache=warm)
        cached.append(timed(job, baseline_path, target_path, warm)[0])
        steady.append(timed(job, baseline_path, target_path, warm, baseline)[0])
        nulls.append(first_nulls(baseline, target))

    med = statistics.median
    a, b, c, c2, null = med(floor), med(full), med(cached), med(steady), med(nulls)
    rows = [
        ("(a) one plain pass: histograms and value counts", a, ""),
        (
            "(b) job, nothing cached",
            b,
            f"{b / a:.2f}x the plain pass (target <= {JOB_TARGET:g}x): {verdict(b <= JOB_TARGET * a)}",
        ),
        ("(c) job, null quantiles cached", c, f"{c / a:.2f}x the plain pass"),
        (
            "(c) null quantiles, first computation",
            null,
            f"{null / c:.2f}x the job (c) (target <= {NULL_TARGET:g}x): {verdict(null <= NULL_TARGET * c)}",
        ),
        ("(c') job, baseline and null quantiles cached", c2, f"{c2 / a:.2f}x the plain pass"),
    ]
    flagged = sorted(name for name, r in results.items() if r.anomaly)
    notes = [f"Conveyor flags {len(flagged)}: {', '.join(flagged)}"]
    moved = {
        name: f"{distance(baseline.features[name], target.features[name]):.3f}"
        for name in ("n3", "n4")
        if isinstance(baseline.features.get(name), NumericStatistics)
    }
    notes.append(f"n3, n4 (moved less): JS {moved.get('n3')}, {moved.get('n4')}: under 0.3")

    if not args.skip_evidently:
        print("(d) Evidently's report (once; at 1,000,000 rows, minutes)", file=sys.stderr)
        found = run_evidently(args.cache, baseline_path, target_path)
        d = found["seconds"]
        rows.append(
            (
                "(d) Evidently Report([DataDriftPreset()])",
                d,
                f"job (b) {d / b:.0f}x faster (target >= {EVIDENTLY_TARGET:g}x): "
                + verdict(d >= EVIDENTLY_TARGET * b),
            )
        )
        notes.append(f"Evidently flags {len(found['drifted'])}: {', '.join(found['drifted'])}")

    rss = None
    if not args.skip_rss:
        log = log_folder(scratch if args.quick else args.cache, args.log_rows)
        print(f"(e) a job over {args.log_rows:,} rows, peak RSS", file=sys.stderr)
        rss = measure_rss(baseline, log, scratch)

    width = max(len(r[0]) for r in rows)
    print(f"\n{'scenario'.ljust(width)}  {'wall time':>9}  result")
    for name, seconds, result in rows:
        print(f"{name.ljust(width)}  {seconds:>7.3f} s  {result}")
    if rss is not None:
        files = -(-args.log_rows // LOG_FILE_ROWS)
        label = f"(e) job over {args.log_rows:,} rows in {files} files"
        print(
            f"{label.ljust(width)}  {rss['seconds']:>7.3f} s  peak RSS {rss['peak_rss'] / 2**20:.0f} MiB "
            f"(target < {RSS_TARGET / 2**20:.0f} MiB): {verdict(rss['peak_rss'] < RSS_TARGET)}"
        )
    print()
    for note in notes:
        print(note)
    print(
        f"\n{args.rows:,} + {args.rows:,} rows x 20 features; median of {args.repeat} round(s); "
        f"{os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
