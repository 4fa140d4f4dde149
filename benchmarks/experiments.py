"""Experiments benchmark: Conveyor's experiment tracking (`home.experiments`) against
MLflow's own SQLite tracking store, side by side in one run, reported as ratios.

Each system gets a fresh store in a temporary folder: Conveyor a home (its SQLite metadata
store), MLflow `MlflowClient(tracking_uri="sqlite:///.../mlflow.db")`. Creating the stores,
the experiment and the run is setup, not timed; so is building the values to log.

(1a) per step: `--points` points (default 100,000) of 10 metrics, one call per step
     (10,000 steps): `log_time_series_metrics({m0..m9}, step=s, wall_time=t)` against
     `MlflowClient.log_batch(run_id, metrics=[Metric(...) x 10])`.
(1b) batched: the same points, 1,000 per call: `log_points([...])` against `log_batch`
     with 1,000 metrics (MLflow's most per call).
     Each pattern logs to a fresh store every round; the points are then read back
     (`time_series` against `get_metric_history` of each key) and counted.
     Target: Conveyor at least 5x faster.
(2)  an experiment of `--runs` runs (default 10,000), each with 20 params and 20 metrics,
     populated in both with each system's batch call per run (Conveyor: `start_run`,
     `log_params`, `log_metrics`, `end_run`; MLflow: `create_run`, `log_batch`,
     `set_terminated`), the same values in both. Not timed, but reported. Then:
(2a) every run as a DataFrame: `Client(home).get_experiment_df(experiment)` against
     `mlflow.search_runs(experiment_ids=[id], max_results=runs)`;
(2b) the compare query, a filter and an order: `search_runs(filter="metric.m3 > 0.5",
     order_by="metric.m7 DESC", page_size=100)` against `MlflowClient.search_runs(
     filter_string="metrics.m3 > 0.5", order_by=["metrics.m7 DESC"], max_results=100)`.
     Targets: Conveyor at least 5x faster on both, and the compare query under 1 s.
     Both frames must hold every run with its 20 params and 20 metrics, and both compare
     queries the same 100 runs in the same order.

Each figure is the median of `--rounds` rounds (after one warm-up call for the queries).
`--mlflow-points N` logs fewer points to MLflow in (1) (its per-call logging is slow): the
ratios are then of the time per point. `--profile FILE` writes a cProfile of the Conveyor
side (one pass of each measure, after the timed rounds). A report, not a test: it exits 0
whether the targets are met or not (and 1 if the two systems read back different counts).

    .venv/bin/python benchmarks/experiments.py [--runs 10000] [--points 100000]
        [--rounds 3] [--mlflow-points N] [--skip-mlflow] [--json] [--profile FILE]

Measured on a shared 2-CPU machine, default options (about 28 minutes in all, most of it
MLflow's: its (1a) takes about 4 minutes a round, its population 6.5; `--rounds 1` halves
it), median of 3 rounds:

    scenario                                            Conveyor    MLflow  faster
    (1a) 100,000 points, per step (10,000 calls of 10)   32.12 s  255.82 s    8.0x  PASS
    (1b) 100,000 points, batched (100 calls of 1,000)     1.99 s   26.40 s   13.3x  PASS
    (2a) all 10,000 runs as a DataFrame                  0.565 s  20.587 s   36.4x  PASS
    (2b) compare query (filter, order, top 100)          0.529 s   3.795 s    7.2x  PASS
    populating 10,000 runs: Conveyor 94 s, MLflow 390 s

The compare query reads every run of the experiment and filters and orders them in Python
(`Experiments.search_runs`), so it grows with the experiment: about 50 us a run.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.client import Client
from conveyor.home import Home, open_home

EXPERIMENT = "bench"
METRICS = 10  # per step in (1)
BATCH = 1_000  # points per call in (1b): MLflow's log_batch takes at most 1,000 metrics
RUN_PARAMS = 20
RUN_METRICS = 20
PAGE = 100  # runs the compare query returns
SPEED_TARGET = 5.0  # Conveyor at least this many times faster
COMPARE_LIMIT = 1.0  # seconds: the compare query under this
WALL_START = 1_780_000_000.0  # seconds: the wall time of step 0
CONVEYOR_FILTER, CONVEYOR_ORDER = "metric.m3 > 0.5", "metric.m7 DESC"
MLFLOW_FILTER, MLFLOW_ORDER = "metrics.m3 > 0.5", ["metrics.m7 DESC"]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def expect(ok: bool, message: str) -> None:
    """Stop when the two systems did not do the same work (not an assert: -O keeps it)."""
    if not ok:
        raise SystemExit(f"the systems differ: {message}")


def timed(call: Callable[[], Any], profiler: cProfile.Profile | None = None) -> tuple[float, Any]:
    """The seconds `call` took, and its result; `profiler` profiles the call alone."""
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    try:
        result = call()
    finally:
        if profiler is not None:
            profiler.disable()
    return time.perf_counter() - started, result


# (1) logging points


def steps_of(points: int) -> list[tuple[int, dict[str, float], float]]:
    """`points` points as steps of METRICS metrics: (step, values, wall time)."""
    return [
        (step, {f"m{i}": step * 0.001 + i for i in range(METRICS)}, WALL_START + step)
        for step in range(points // METRICS)
    ]


def batches_of(points: int) -> list[list[tuple[str, float, int, float]]]:
    """The same points as `log_points` takes them, BATCH a call."""
    flat = [
        (key, value, step, wall)
        for step, values, wall in steps_of(points)
        for key, value in values.items()
    ]
    return [flat[at : at + BATCH] for at in range(0, len(flat), BATCH)]


def conveyor_run(folder: Path) -> Home:
    home = open_home(folder)
    home.experiments.create(EXPERIMENT)
    home.experiments.start_run(EXPERIMENT, "run")
    return home


def conveyor_count(home: Home) -> int:
    return sum(len(s) for s in home.experiments.time_series(EXPERIMENT, "run").values())


def conveyor_per_step(
    folder: Path, points: int, profiler: cProfile.Profile | None = None
) -> tuple[float, int]:
    """(1a) on Conveyor: the seconds, and the points read back."""
    steps = steps_of(points)
    with conveyor_run(folder) as home:
        log = home.experiments.log_time_series_metrics

        def run() -> None:
            for step, values, wall in steps:
                log(EXPERIMENT, "run", values, step=step, wall_time=wall)

        seconds, _ = timed(run, profiler)
        return seconds, conveyor_count(home)


def conveyor_batched(
    folder: Path, points: int, profiler: cProfile.Profile | None = None
) -> tuple[float, int]:
    """(1b) on Conveyor."""
    batches = batches_of(points)
    with conveyor_run(folder) as home:
        log = home.experiments.log_points

        def run() -> None:
            for batch in batches:
                log(EXPERIMENT, "run", batch)

        seconds, _ = timed(run, profiler)
        return seconds, conveyor_count(home)


def mlflow_client(folder: Path) -> Any:
    from mlflow import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")


def mlflow_run(folder: Path) -> tuple[Any, str]:
    client = mlflow_client(folder)
    experiment_id = client.create_experiment(EXPERIMENT)
    return client, client.create_run(experiment_id, run_name="run").info.run_id


def mlflow_count(client: Any, run_id: str) -> int:
    return sum(len(client.get_metric_history(run_id, f"m{i}")) for i in range(METRICS))


def mlflow_metrics(points: list[tuple[str, float, int, float]]) -> list[Any]:
    from mlflow.entities import Metric

    return [Metric(key, value, int(wall * 1000), step) for key, value, step, wall in points]


def mlflow_per_step(folder: Path, points: int) -> tuple[float, int]:
    """(1a) on MLflow."""
    calls = [
        mlflow_metrics([(k, v, step, wall) for k, v in values.items()])
        for step, values, wall in steps_of(points)
    ]
    client, run_id = mlflow_run(folder)

    def run() -> None:
        for metrics in calls:
            client.log_batch(run_id, metrics=metrics)

    seconds, _ = timed(run)
    return seconds, mlflow_count(client, run_id)


def mlflow_batched(folder: Path, points: int) -> tuple[float, int]:
    """(1b) on MLflow."""
    calls = [mlflow_metrics(batch) for batch in batches_of(points)]
    client, run_id = mlflow_run(folder)

    def run() -> None:
        for metrics in calls:
            client.log_batch(run_id, metrics=metrics)

    seconds, _ = timed(run)
    return seconds, mlflow_count(client, run_id)


def measure_logging(
    args: argparse.Namespace, scratch: Path, name: str, conveyor: Callable, mlflow: Callable
) -> dict[str, Any]:
    """One pattern of (1): the median seconds of each system over the rounds."""
    found: dict[str, list[float]] = {"conveyor": [], "mlflow": []}
    for round_ in range(args.rounds):
        folder = scratch / f"{name}-{round_}"
        progress(f"({name}) round {round_ + 1} of {args.rounds}: Conveyor, {args.points:,} points")
        seconds, count = conveyor(folder / "conveyor", args.points)
        expect(count == args.points, f"Conveyor read back {count:,} points, not {args.points:,}")
        found["conveyor"].append(seconds)
        if args.skip_mlflow:
            continue
        progress(
            f"({name}) round {round_ + 1} of {args.rounds}: MLflow, {args.mlflow_points:,} points"
        )
        seconds, count = mlflow(folder / "mlflow", args.mlflow_points)
        expect(
            count == args.mlflow_points,
            f"MLflow read back {count:,} points, not {args.mlflow_points:,}",
        )
        found["mlflow"].append(seconds)
        shutil.rmtree(folder, ignore_errors=True)
    result = {"conveyor_s": statistics.median(found["conveyor"]), "points": args.points}
    if found["mlflow"]:
        result.update(mlflow_s=statistics.median(found["mlflow"]), mlflow_points=args.mlflow_points)
    return result


# (2) an experiment of many runs


def run_values(runs: int) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    """Each run's name, params and metrics (uniform in [0, 1): m3 > 0.5 holds for half)."""
    rng = random.Random(20260601)
    return [
        (
            f"run-{number:05d}",
            {f"p{i}": round(rng.random(), 6) for i in range(RUN_PARAMS)},
            {f"m{i}": rng.random() for i in range(RUN_METRICS)},
        )
        for number in range(runs)
    ]


def populate_conveyor(home: Home, values: list) -> float:
    experiments = home.experiments
    experiments.create(EXPERIMENT)
    started = time.perf_counter()
    for number, (name, params, metrics) in enumerate(values):
        experiments.start_run(EXPERIMENT, name)
        experiments.log_params(EXPERIMENT, name, params)
        experiments.log_metrics(EXPERIMENT, name, metrics)
        experiments.end_run(EXPERIMENT, name)
        if (number + 1) % 2_000 == 0:
            progress(f"  Conveyor: {number + 1:,} runs, {time.perf_counter() - started:.0f} s")
    return time.perf_counter() - started


def populate_mlflow(client: Any, values: list) -> tuple[str, float]:
    from mlflow.entities import Metric, Param

    experiment_id = client.create_experiment(EXPERIMENT)
    started = time.perf_counter()
    stamp = int(WALL_START * 1000)
    for number, (name, params, metrics) in enumerate(values):
        run_id = client.create_run(experiment_id, run_name=name).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()],
            params=[Param(k, str(v)) for k, v in params.items()],
        )
        client.set_terminated(run_id)
        if (number + 1) % 2_000 == 0:
            progress(f"  MLflow: {number + 1:,} runs, {time.perf_counter() - started:.0f} s")
    return experiment_id, time.perf_counter() - started


def conveyor_queries(home: Home) -> tuple[Callable[[], Any], Callable[[], Any]]:
    client = Client(home)

    def frame() -> Any:
        return client.get_experiment_df(EXPERIMENT)

    def compare() -> list[str]:
        page = home.experiments.search_runs(
            EXPERIMENT, filter=CONVEYOR_FILTER, order_by=CONVEYOR_ORDER, page_size=PAGE
        )
        return [row["run_name"] for row in page.runs]

    return frame, compare


def mlflow_queries(client: Any, experiment_id: str, runs: int) -> tuple[Callable, Callable]:
    import mlflow

    mlflow.set_tracking_uri(client.tracking_uri)

    def frame() -> Any:
        return mlflow.search_runs(experiment_ids=[experiment_id], max_results=runs)

    def compare() -> list[str]:
        found = client.search_runs(
            [experiment_id], filter_string=MLFLOW_FILTER, order_by=MLFLOW_ORDER, max_results=PAGE
        )
        return [run.info.run_name for run in found]

    return frame, compare


def check_frame(frame: Any, system: str, runs: int, param: str, metric: str) -> None:
    params = sum(c.startswith(param) for c in frame.columns)
    metrics = sum(c.startswith(metric) for c in frame.columns)
    expect(len(frame) == runs, f"{system}'s frame has {len(frame):,} rows, not {runs:,}")
    expect(
        (params, metrics) == (RUN_PARAMS, RUN_METRICS),
        f"{system}'s frame has {params} params and {metrics} metrics",
    )
    expect(int(frame[metric + "m3"].notna().sum()) == runs, f"{system}'s frame lacks values")


def rounds_of(call: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """The median seconds of `rounds` calls after a warm-up call, and the last result."""
    call()
    found = [timed(call) for _ in range(rounds)]
    return statistics.median([s for s, _ in found]), found[-1][1]


def measure_queries(args: argparse.Namespace, scratch: Path, values: list) -> dict[str, Any]:
    result: dict[str, Any] = {"runs": args.runs}
    progress(f"(2) populating Conveyor: {args.runs:,} runs x {RUN_PARAMS} params x {RUN_METRICS}")
    home = open_home(scratch / "runs" / "conveyor")
    with home:
        result["conveyor_populate_s"] = populate_conveyor(home, values)
        frame, compare = conveyor_queries(home)
        progress("(2) Conveyor's queries")
        seconds, found = rounds_of(frame, args.rounds)
        check_frame(found, "Conveyor", args.runs, "param.", "metric.")
        result["frame"] = {"conveyor_s": seconds}
        seconds, conveyor_names = rounds_of(compare, args.rounds)
        result["compare"] = {"conveyor_s": seconds}
        if args.profile:
            profile_queries(args.profile, frame, compare)
    expected = sorted((metrics["m7"], name) for name, _, metrics in values if metrics["m3"] > 0.5)[
        ::-1
    ][:PAGE]
    expect(conveyor_names == [name for _, name in expected], "Conveyor's compare query")
    if args.skip_mlflow:
        return result
    progress(f"(2) populating MLflow: {args.runs:,} runs (minutes)")
    client = mlflow_client(scratch / "runs" / "mlflow")
    experiment_id, result["mlflow_populate_s"] = populate_mlflow(client, values)
    frame, compare = mlflow_queries(client, experiment_id, args.runs)
    progress("(2) MLflow's queries")
    seconds, found = rounds_of(frame, args.rounds)
    check_frame(found, "MLflow", args.runs, "params.", "metrics.")
    result["frame"]["mlflow_s"] = seconds
    seconds, mlflow_names = rounds_of(compare, args.rounds)
    expect(mlflow_names == conveyor_names, "the compare queries returned different runs")
    result["compare"]["mlflow_s"] = seconds
    return result


# Profiling the Conveyor side


PROFILE = cProfile.Profile()


def profile_logging(args: argparse.Namespace, scratch: Path) -> None:
    for name, measure in (("1a", conveyor_per_step), ("1b", conveyor_batched)):
        measure(scratch / f"profile-{name}", args.points, PROFILE)


def profile_queries(path: Path, frame: Callable, compare: Callable) -> None:
    timed(frame, PROFILE)
    timed(compare, PROFILE)
    PROFILE.dump_stats(str(path))
    progress(f"a cProfile of the Conveyor side written to {path}")


# The report


def speed(result: dict[str, Any], per_point: bool = False) -> float | None:
    """How many times faster Conveyor is (per point when the sizes differ)."""
    if "mlflow_s" not in result:
        return None
    if per_point:
        mlflow = result["mlflow_s"] / result["mlflow_points"]
        return mlflow / (result["conveyor_s"] / result["points"])
    return result["mlflow_s"] / result["conveyor_s"]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(args: argparse.Namespace, results: dict[str, Any]) -> list[tuple[str, ...]]:
    """The rows of the report: scenario, Conveyor, MLflow, ratio, target."""
    rows = []
    steps, calls = args.points // METRICS, -(-args.points // BATCH)
    for key, label in (
        ("per_step", f"(1a) {args.points:,} points, per step ({steps:,} calls of {METRICS})"),
        ("batched", f"(1b) {args.points:,} points, batched ({calls:,} calls of {BATCH:,})"),
    ):
        found = results[key]
        ratio = speed(found, per_point=True)
        mlflow = f"{found['mlflow_s']:.2f} s" if "mlflow_s" in found else "-"
        if "mlflow_s" in found and found["mlflow_points"] != found["points"]:
            mlflow += f" ({found['mlflow_points']:,} points)"
        rows.append(
            (
                label,
                f"{found['conveyor_s']:.2f} s",
                mlflow,
                "-" if ratio is None else f"{ratio:.1f}x",
                f">= {SPEED_TARGET:g}x: "
                + ("-" if ratio is None else verdict(ratio >= SPEED_TARGET)),
            )
        )
    runs = results["runs"]["runs"]
    for key, label in (
        ("frame", f"(2a) all {runs:,} runs as a DataFrame"),
        ("compare", f"(2b) compare query (filter, order, top {PAGE})"),
    ):
        found = results["runs"][key]
        ratio = speed(found)
        target = f">= {SPEED_TARGET:g}x: " + (
            "-" if ratio is None else verdict(ratio >= SPEED_TARGET)
        )
        if key == "compare":
            target += f"; < {COMPARE_LIMIT:g} s: {verdict(found['conveyor_s'] < COMPARE_LIMIT)}"
        rows.append(
            (
                label,
                f"{found['conveyor_s']:.3f} s",
                f"{found['mlflow_s']:.3f} s" if "mlflow_s" in found else "-",
                "-" if ratio is None else f"{ratio:.1f}x",
                target,
            )
        )
    return rows


def print_report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    rows = [("scenario", "Conveyor", "MLflow", "faster", "target"), *table(args, results)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for row in rows:
        print(
            f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2].rjust(widths[2])}  "
            f"{row[3].rjust(widths[3])}  {row[4]}"
        )
    print()
    for key in ("per_step", "batched"):
        found = results[key]
        rates = f"Conveyor {found['conveyor_s'] / found['points'] * 1e6:.1f} us"
        if "mlflow_s" in found:
            rates += f", MLflow {found['mlflow_s'] / found['mlflow_points'] * 1e6:.1f} us"
        print(f"({'1a' if key == 'per_step' else '1b'}) per point: {rates}")
    runs = results["runs"]
    populated = f"Conveyor {runs['conveyor_populate_s']:.0f} s"
    if "mlflow_populate_s" in runs:
        populated += f", MLflow {runs['mlflow_populate_s']:.0f} s"
    print(f"(2) populating {runs['runs']:,} runs (not timed above): {populated}")
    print(f"\nmedian of {args.rounds} round(s); {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in (2)")
    parser.add_argument("--points", type=int, default=100_000, help="points logged in (1)")
    parser.add_argument("--mlflow-points", type=int, help="points logged to MLflow in (1)")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many rounds")
    parser.add_argument("--skip-mlflow", action="store_true", help="Conveyor alone")
    parser.add_argument("--json", action="store_true", help="the results as JSON")
    parser.add_argument("--profile", type=Path, help="write a cProfile of Conveyor here")
    args = parser.parse_args()
    args.mlflow_points = args.mlflow_points or args.points
    for name in ("runs", "points", "mlflow_points", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more")
    for name in ("points", "mlflow_points"):
        if getattr(args, name) % METRICS:
            parser.error(f"--{name.replace('_', '-')} must be a multiple of {METRICS}")
    if not args.skip_mlflow:
        import mlflow  # noqa: F401  (first: importing it sets its loggers' levels)

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-experiments-"))
    try:
        results = {
            "per_step": measure_logging(args, scratch, "1a", conveyor_per_step, mlflow_per_step),
            "batched": measure_logging(args, scratch, "1b", conveyor_batched, mlflow_batched),
        }
        if args.profile:
            profile_logging(args, scratch)
        results["runs"] = measure_queries(args, scratch, run_values(args.runs))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        results.update(rounds=args.rounds, cpus=os.cpu_count())
        print(json.dumps(results, indent=2))
    else:
        print_report(args, results)


if __name__ == "__main__":
    main()
