"""Monitoring benchmark: real monitoring jobs (`Monitors.run`) against one plain pass over
the same data and against Evidently, side by side in one run, reported as ratios.

The script generates a baseline and a target of `--rows` rows each (default 1,000,000) x
20 features: 15 numeric (normal, log-normal, integer, some with NaN and infinities) and 5
categorical (strings); in the target, n0, n1, n2, c0 and c1 moved far (over the 0.3
threshold), n3 and n4 moved less (under it), the rest not at all. Then, in a temporary
home (SQLite, a local artifact folder):

- the model `churn` is registered (a custom-code model folder) with an input schema of
  the 20 features;
- the baseline is a Parquet file (row groups of 131,072), the monitors'
  `training_dataset={"uri": ...}`;
- the target is the prediction log of the hour `T` to `T+1h`, and the window before it
  (`T-1h` to `T`, undrifted data) too: files of 50,000 rows (the logger's `flush_rows`)
  in layout 2 (the logger's thirteen columns with the instance as JSON, `feature.<name>`
  and `prediction.value`; written with the logger's Parquet options), each recorded as a
  LIVE `conveyor.PredictionLog` artifact with the metadata the logger writes.
  Generating all this is setup, not timed.

Two monitors watch `churn@1`: `skew` (training-serving skew alone) and `all` (skew,
feature drift and prediction output drift: the window before is read too). Each measure
is the median of `--repeat` rounds:

(a)  floor: one plain pass that only histograms each numeric feature (`np.histogram`, 10
     buckets, finite values) and counts each categorical one (`pyarrow.compute.
     value_counts`), over the baseline and the target window's log files (their feature
     columns, read with `pyarrow.dataset`, strings as dictionaries as the job reads them:
     the faster way).
(a') the same plain pass over the baseline and both windows: the floor of `all`.
(b)  `Monitors.run("skew")` with nothing cached (the home's monitoring cache emptied):
     the baseline's statistics (two passes), the window's (one), every feature's
     distance and null quantile (1000 bootstrap draws), the job recorded with its
     metrics. Targets: at most 2x (a); at least 100x faster than (d).
(c)  the same with the null quantiles cached (the baseline computed again), and the
     first computation of every null quantile alone. Target: that first computation at
     most 2x the job (c).
(c') the same with the baseline statistics and the null quantiles cached: what a
     scheduled job pays each time.
(b2) `Monitors.run("all")`, nothing cached; (c2) the same, baseline and nulls cached.
     Compared with (a').
(d)  Evidently 0.7's `Report([DataDriftPreset()]).run(target, baseline)` on the same data
     as pandas DataFrames (only the report timed; run once). Evidently 0.7 does not import
     with pandas 3, which Conveyor uses, so it runs in its own virtual environment
     (`evidently==0.7.23`, `pandas<3`), created with uv once under `--cache` (default
     ~/.cache/conveyor-bench), as a subprocess.
(e)  peak RSS of `Monitors.run("skew")`, nothing cached, over a prediction log of
     `--log-rows` rows (default 20,000,000) in files of 250,000 rows, in a process of its
     own (its VmHWM: `ru_maxrss` would count the parent's peak). The files are
     generated once under `--cache` (about 25 s); to keep
     that folder near 1 GB, eight distinct files are written and the others are hard
     links to them (the job reads and decodes every file; only the disk is spared).
     Target: under 1 GiB.

A report, not a test: it exits 0 either way.

    .venv/bin/python benchmarks/monitoring.py [--rows 1000000] [--repeat 3]
        [--log-rows 20000000] [--cache DIR] [--skip-evidently] [--skip-rss] [--quick]
        [--profile FILE]

`--quick` runs the same steps on 20,000 rows and a log of 200,000 (what
tests/monitoring/test_benchmark_script.py runs to keep the script working);
`--profile FILE` writes a cProfile of one `skew` and one `all` job, nothing cached.

Measured on a shared 2-CPU machine (busy: absolute times moved 2x between runs), default
options, median of 3; docs/monitoring.md ("Performance") has the table:
(b) 1.04-1.18x (a): PASS; first null quantiles 0.28-0.33x (c): PASS;
(c') 0.26-0.53x (a); (d) Evidently 184-210 s, 73x-177x the job (b): at the edge of 100x,
the ratio following the load when each ran; (e) 20,000,000 rows in 16-19 s, peak 435-502 MiB.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from conveyor.home import Home, open_home
from conveyor.monitoring.significance import NullCache
from conveyor.monitoring.statistics import Statistics
from conveyor.store.metadata import MetadataStore
from conveyor.store.prediction_logs import FEATURE_PREFIX, LOG_TYPE, PREDICTION_VALUE

NUMERIC = [f"n{i}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
FEATURES = NUMERIC + CATEGORICAL
ROW_GROUP = 131_072
FILE_ROWS = 50_000  # the logger's default flush_rows
RSS_FILE_ROWS = 250_000
RSS_DISTINCT_FILES = 8
PER_REQUEST = 50  # instances per logged request
JOB_TARGET = 2.0  # (b) at most this many times (a)
EVIDENTLY_TARGET = 100.0  # (b) at least this many times faster than (d)
NULL_TARGET = 2.0  # the first null computation at most this many times the job (c)
RSS_TARGET = 1 << 30  # (e) bytes
EVIDENTLY = "evidently==0.7.23"
GENERATION = 2  # bump when the generated log changes, so the cached one is made again
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
"""T: the target window is [T, T+1h), the window before [T-1h, T)."""
HOUR = timedelta(hours=1)
SKEW_ONLY = {"feature_skew_spec": {}, "feature_drift_spec": None,
             "prediction_output_drift_spec": None}  # fmt: skip
EVERY_DRIFT = {"feature_skew_spec": {}, "feature_drift_spec": {},
               "prediction_output_drift_spec": {}}  # fmt: skip


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
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=ROW_GROUP)


def instances_json(table: pa.Table) -> pa.Array:
    """Each row as the logger's `instance` JSON object (NaN and infinities as null)."""
    parts: list = []
    for i, name in enumerate(table.column_names):
        column = table[name]
        parts.append(("{" if i == 0 else ",") + f'"{name}":')
        if pa.types.is_dictionary(column.type):
            parts.append(pc.binary_join_element_wise('"', column.cast(pa.string()), '"', ""))
        else:
            parts.append(pc.if_else(pc.is_finite(column), pc.cast(column, pa.string()), "null"))
    return pc.binary_join_element_wise(*parts, "}", "").combine_chunks()


def log_table(features: pa.Table, start: datetime, span: timedelta, first_row: int) -> pa.Table:
    """`features` as rows of a layout 2 prediction log file, requests of PER_REQUEST
    instances spread evenly over `span` from `start`."""
    rows = features.num_rows
    number = np.arange(first_row, first_row + rows)
    step = int(span / timedelta(microseconds=1)) // max(1, rows)
    stamps = np.datetime64(start.replace(tzinfo=None), "us") + (np.arange(rows) * step).astype(
        "timedelta64[us]"
    )
    churn = pc.greater(features["n0"], 5.0).combine_chunks()
    prediction = pc.if_else(churn, "churn", "stay")
    columns: dict[str, pa.Array] = {
        "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "request_id": pa.array(np.char.add("r-", (number // PER_REQUEST).astype(str))),
        "endpoint": pa.array(["churn-prod"] * rows, pa.string()),
        "deployed_model_id": pa.array(["1"] * rows, pa.string()),
        "model": pa.array(["churn"] * rows, pa.string()),
        "model_version": pa.array(np.ones(rows, dtype=np.int64)),
        "protocol": pa.array(["vertex"] * rows, pa.string()),
        "instance_index": pa.array((number % PER_REQUEST).astype(np.int32)),
        "instance": instances_json(features),
        "prediction": pc.binary_join_element_wise('"', prediction, '"', ""),
        "parameters": pa.nulls(rows, pa.string()),
        "status": pa.array(np.full(rows, 200, dtype=np.int32)),
        "error": pa.nulls(rows, pa.string()),
    }
    for name in FEATURES:
        column = features[name]
        typed = column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
        columns[FEATURE_PREFIX + name] = typed
    columns[PREDICTION_VALUE] = prediction
    return pa.table(columns)


def write_log_file(table: pa.Table, path: Path) -> None:
    """Written as `PredictionLogger._write_file` writes: `instance` uncompressed, the
    other columns snappy, dictionaries and statistics on the logger's columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression={n: "none" if n == "instance" else "snappy" for n in table.column_names},
        use_dictionary=[
            "request_id",
            "endpoint",
            "deployed_model_id",
            "model",
            "protocol",
            "prediction",
            "parameters",
            "error",
        ],  # fmt: skip
        write_statistics=["timestamp", "model_version", "status"],
    )


def file_metadata(table: pa.Table) -> dict:
    """The metadata the logger records with a file."""
    stamps = table["timestamp"]
    return {
        "endpoint": "churn-prod",
        "deployed_models": [{"deployed_model_id": "1", "model": "churn", "model_version": 1}],
        "rows": table.num_rows,
        "requests": len(pc.unique(table["request_id"])),
        "first_timestamp": pc.min(stamps).as_py().isoformat(),
        "last_timestamp": pc.max(stamps).as_py().isoformat(),
        "format": "parquet",
        "layout": 2,
    }


def record_log_file(store: MetadataStore, path: Path, metadata: dict) -> None:
    artifact_id = store.create_artifact(
        str(path), LOG_TYPE, "predictions-churn-prod", metadata=metadata
    )
    store.publish_artifact(artifact_id, sha256="0" * 64, size=path.stat().st_size)


def log_window(store: MetadataStore, features: pa.Table, folder: Path, start: datetime) -> list:
    """`features` as the prediction log of the hour from `start`, in files of FILE_ROWS,
    recorded in `store`; the paths written."""
    paths = []
    files = -(-features.num_rows // FILE_ROWS)
    for number in range(files):
        lo = number * FILE_ROWS
        part = features.slice(lo, FILE_ROWS)
        table = log_table(part, start + HOUR * lo / features.num_rows, HOUR / files, lo)
        path = folder / f"{start:%H%M}-{number:04d}.parquet"
        write_log_file(table, path)
        record_log_file(store, path, file_metadata(table))
        paths.append(path)
    return paths


def rss_log(cache: Path, rows: int) -> tuple[Path, list[tuple[str, dict]]]:
    """A log of `rows` drifted rows in files of RSS_FILE_ROWS over the target hour, made
    once under `cache` (RSS_DISTINCT_FILES distinct files, the rest hard links to them);
    its folder and each file's path and metadata."""
    folder = cache / f"log-{rows}-v{GENERATION}"
    index = folder / "files.json"
    if index.exists():
        return folder, json.loads(index.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    files = -(-rows // RSS_FILE_ROWS)
    made: list[tuple[str, dict]] = []
    for number in range(files):
        lo = number * RSS_FILE_ROWS
        size = min(RSS_FILE_ROWS, rows - lo)
        path = folder / f"part-{number:04d}.parquet"
        distinct = number % RSS_DISTINCT_FILES
        if number >= RSS_DISTINCT_FILES and size == RSS_FILE_ROWS:
            os.link(folder / f"part-{distinct:04d}.parquet", path)
            made.append((str(path), made[distinct][1]))
            continue
        span = HOUR / RSS_DISTINCT_FILES
        table = log_table(
            generate(size, 1000 + distinct, drifted=True), START + span * distinct, span, lo
        )
        write_log_file(table, path)
        made.append((str(path), file_metadata(table)))
    index.write_text(json.dumps(made))
    print(
        f"generated a log of {rows:,} rows in {folder} ({time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    return folder, made


# The home


def make_home(folder: Path, baseline: Path) -> Home:
    """A home with `churn` registered (schema: the 20 features) and the monitors `skew`
    and `all` of `churn@1` against `baseline`."""
    home = open_home(folder)
    model = folder / "model"
    model.mkdir(parents=True)
    (model / "predictor.py").write_text("class Predictor:\n    pass\n")
    schema = [{"name": n, "type": "float"} for n in NUMERIC]
    schema += [{"name": n, "type": "string"} for n in CATEGORICAL]
    home.registry.upload("churn", model, framework="custom", input_schema=schema)
    for name, objective in (("skew", SKEW_ONLY), ("all", EVERY_DRIFT)):
        home.monitors.create(
            name,
            "churn@1",
            training_dataset={"uri": str(baseline)},
            tabular_objective=objective,
            window="1h",
        )
    return home


def run_job(home: Home, monitor: str) -> object:
    """One job of `monitor` over the target window; raises when it did not succeed."""
    job = home.monitors.run(monitor, start_time=START, end_time=START + HOUR, deliver=False)
    if job.state.value != "JOB_STATE_SUCCEEDED":
        raise SystemExit(f"the {monitor} job failed: {job.error}")
    return job


def forget(home: Home, *, nulls: bool = True, baselines: bool = True) -> None:
    """Empty the home's monitoring cache (what a first job finds)."""
    cache = home.monitors.cache_dir
    assert cache is not None
    if baselines:
        shutil.rmtree(cache / "baselines", ignore_errors=True)
    if nulls:
        (cache / "nulls.json").unlink(missing_ok=True)


def flagged(home: Home, job) -> list[str]:
    metrics = home.monitors.job_metrics(job.id)
    return sorted(m.feature for m in metrics if m.anomaly and m.objective.value == "feature_skew")


def first_nulls(home: Home, job) -> float:
    """Seconds to compute every feature's null quantile once, from an empty cache, for the
    job's sample sizes (the baseline's statistics as the job cached them)."""
    cache = home.monitors.cache_dir
    assert cache is not None
    (found,) = (cache / "baselines").glob("*.json")
    baseline = Statistics.from_json(found.read_text())
    counts = {m.feature: m.target_count for m in home.monitors.job_metrics(job.id)}
    nulls = NullCache()
    started = time.perf_counter()
    for name, feature in baseline.features.items():
        nulls.null_quantile(feature, counts[name], feature=name)
    return time.perf_counter() - started


# The floor


def plain_pass(baseline: Path, *logs: list[Path]) -> None:
    """(a) every feature once: a histogram or value counts per batch, nothing kept."""
    import pyarrow.dataset as ds

    def dataset(paths, columns: list[str]):  # strings decoded as dictionaries: faster
        strings = [c for c in columns if c.removeprefix(FEATURE_PREFIX) in CATEGORICAL]
        options = ds.ParquetReadOptions(dictionary_columns=strings)
        return ds.dataset(paths, format=ds.ParquetFileFormat(read_options=options))

    sources = [(dataset(str(baseline), FEATURES), FEATURES)]
    for paths in logs:
        columns = [FEATURE_PREFIX + n for n in FEATURES]
        sources.append((dataset([str(p) for p in paths], columns), columns))
    for found, columns in sources:
        for batch in found.to_batches(columns=columns):
            for column in batch.columns:
                if pa.types.is_floating(column.type):
                    values = column.to_numpy(zero_copy_only=False)
                    np.histogram(values[np.isfinite(values)], bins=10)
                else:
                    pc.value_counts(column)


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
        [uv, "pip", "install", "--quiet", "--python", str(python), EVIDENTLY,
         "pandas>=2.2,<3", "pyarrow"],
        check=True,
    )  # fmt: skip
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


def rss_job(home_folder: str) -> None:
    """`monitoring.py --rss-job HOME`: the `skew` job of the home, then its peak RSS."""
    started = time.perf_counter()
    with open_home(home_folder) as home:
        job = run_job(home, "skew")
        found = flagged(home, job)
    rows = (job.summary or {}).get("rows_read")
    seconds = time.perf_counter() - started
    print(json.dumps({"peak_rss": peak_rss(), "rows": rows, "seconds": seconds, "flagged": found}))


def peak_rss() -> int:
    """This process's peak resident memory in bytes: Linux's VmHWM, which starts afresh
    at exec (`ru_maxrss` keeps the forking parent's peak across exec, and the parent
    here holds the generated data); `ru_maxrss` elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure_rss(args: argparse.Namespace, scratch: Path, baseline: Path) -> dict:
    cache = scratch if args.quick else args.cache
    _, files = rss_log(cache, args.log_rows)
    folder = scratch / "rss-home"
    make_home(folder, baseline).close()
    with MetadataStore.open(f"sqlite:///{folder / 'metadata.db'}") as store:
        for path, metadata in files:
            record_log_file(store, Path(path), metadata)
    found = subprocess.run(
        [sys.executable, __file__, "--rss-job", str(folder)], capture_output=True, text=True
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
    parser.add_argument("--profile", type=Path, help="write a cProfile of the jobs here")
    parser.add_argument("--rss-job", metavar="HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_job:
        rss_job(args.rss_job)
        return
    if args.quick:
        args.rows, args.log_rows, args.repeat = 20_000, 200_000, 1
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-monitoring-"))
    try:
        report(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def setup(args: argparse.Namespace, scratch: Path) -> tuple[Home, Path, Path, list, list]:
    print(f"generating {args.rows:,} + 2 x {args.rows:,} rows x 20 features", file=sys.stderr)
    baseline_path, target_path = scratch / "data" / "baseline.parquet", scratch / "target.parquet"
    write(generate(args.rows, 1, drifted=False), baseline_path)
    target = generate(args.rows, 2, drifted=True)
    write(target, target_path)  # for Evidently
    home = make_home(scratch / "home", baseline_path)
    logs = scratch / "home" / "artifacts" / "predictions" / "churn-prod"
    target_files = log_window(home.store, target, logs, START)
    before = generate(args.rows, 3, drifted=False)
    before_files = log_window(home.store, before, logs, START - HOUR)
    return home, baseline_path, target_path, target_files, before_files


def profile(home: Home, path: Path) -> None:
    profiler = cProfile.Profile()
    for monitor in ("skew", "all"):
        forget(home)
        profiler.enable()
        run_job(home, monitor)
        profiler.disable()
    profiler.dump_stats(str(path))
    print(f"profile of one skew and one all job written to {path}", file=sys.stderr)


def report(args: argparse.Namespace, scratch: Path) -> None:
    home, baseline_path, target_path, target_files, before_files = setup(args, scratch)
    with home:
        run_job(home, "all")  # warm: imports, the page cache
        if args.profile:
            profile(home, args.profile)
        floor, floor3, full, cached, steady, nulls, both, both_steady = ([] for _ in range(8))
        for round_ in range(args.repeat):
            print(f"round {round_ + 1} of {args.repeat}", file=sys.stderr)
            floor.append(timed(plain_pass, baseline_path, target_files)[0])
            floor3.append(timed(plain_pass, baseline_path, target_files, before_files)[0])
            forget(home)
            seconds, job = timed(run_job, home, "skew")
            full.append(seconds)
            nulls.append(first_nulls(home, job))
            forget(home, nulls=False)
            cached.append(timed(run_job, home, "skew")[0])
            steady.append(timed(run_job, home, "skew")[0])
            forget(home)
            both.append(timed(run_job, home, "all")[0])
            both_steady.append(timed(run_job, home, "all")[0])
        found = flagged(home, job)

    med = statistics.median
    a, a3, b, c, c2, null = med(floor), med(floor3), med(full), med(cached), med(steady), med(nulls)
    b2, c3 = med(both), med(both_steady)
    rows = [
        ("(a)  one plain pass: baseline and target window", a, ""),
        ("(a') one plain pass: baseline and both windows", a3, ""),
        (
            "(b)  skew job, nothing cached",
            b,
            f"{b / a:.2f}x (a) (target <= {JOB_TARGET:g}x): {verdict(b <= JOB_TARGET * a)}",
        ),
        ("(c)  skew job, null quantiles cached", c, f"{c / a:.2f}x (a)"),
        (
            "(c)  null quantiles, first computation",
            null,
            f"{null / c:.2f}x the job (c) (target <= {NULL_TARGET:g}x): "
            + verdict(null <= NULL_TARGET * c),
        ),
        ("(c') skew job, baseline and null quantiles cached", c2, f"{c2 / a:.2f}x (a)"),
        ("(b2) skew + drift job, nothing cached", b2, f"{b2 / a3:.2f}x (a')"),
        ("(c2) skew + drift job, baseline and nulls cached", c3, f"{c3 / a3:.2f}x (a')"),
    ]
    notes = [f"Conveyor flags {len(found)}: {', '.join(found)}"]

    if not args.skip_evidently:
        print("(d) Evidently's report (once; at 1,000,000 rows, minutes)", file=sys.stderr)
        evidently = run_evidently(args.cache, baseline_path, target_path)
        d = evidently["seconds"]
        rows.append(
            (
                "(d)  Evidently Report([DataDriftPreset()])",
                d,
                f"job (b) {d / b:.0f}x faster (target >= {EVIDENTLY_TARGET:g}x): "
                + verdict(d >= EVIDENTLY_TARGET * b),
            )
        )
        notes.append(
            f"Evidently flags {len(evidently['drifted'])}: {', '.join(evidently['drifted'])}"
        )

    rss = None
    if not args.skip_rss:
        print(f"(e) a job over {args.log_rows:,} rows, peak RSS", file=sys.stderr)
        rss = measure_rss(args, scratch, baseline_path)

    width = max(len(r[0]) for r in rows)
    print(f"\n{'scenario'.ljust(width)}  {'wall time':>9}  result")
    for name, seconds, result in rows:
        print(f"{name.ljust(width)}  {seconds:>7.3f} s  {result}")
    if rss is not None:
        files = -(-args.log_rows // RSS_FILE_ROWS)
        label = f"(e)  job over {args.log_rows:,} rows in {files} files"
        print(
            f"{label.ljust(width)}  {rss['seconds']:>7.3f} s  peak RSS "
            f"{rss['peak_rss'] / 2**20:.0f} MiB (target < {RSS_TARGET / 2**20:.0f} MiB): "
            f"{verdict(rss['peak_rss'] < RSS_TARGET)}; {rss['rows']:,} rows read"
        )
    print()
    for note in notes:
        print(note)
    print(
        f"\n{args.rows:,} baseline + {args.rows:,} target rows (and {args.rows:,} before) x 20 "
        f"features; median of {args.repeat} round(s); {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
