"""Console benchmark: the web console's speed in a real browser (issue 15, "Speed"), with
the browser's own timings.

Builds a home in a temporary folder and serves it with `conveyor ui` (a real server
process on a loopback port), then drives Debian's Chromium with Playwright:

(1) a store of `--runs` pipeline runs (default 10,000), recorded through the metadata
    store's public API (`create_run`, two tasks each with `create_execution` and
    `finish_execution`, `end_run`; a tenth FAILED, some labelled, some in an experiment)
    rather than run. The runs page (`/ui/runs`, its first 50 runs): first-contentful-
    paint, the `/api/v1/runs` call (its Resource Timing entry: request start to response
    end) and the moment the table's rows are in the DOM. Target: each under 300 ms.
(2) a run of a real compiled pipeline of `--tasks` tasks (default 500): a kfp pipeline
    built in a loop (a head task fanning out to `--branches` chains of a trivial
    component), compiled by kfp's compiler, and a finished run of it recorded through the
    store with a COMPLETE execution per task (finished: the page does not poll). The run
    page (`/ui/runs/ID`): the `/api/v1/runs/ID?view=full` call, the layout and render
    after it, and the moment every task's node is in the DOM. Target: the graph under 1 s.

"In the DOM" is taken by a MutationObserver installed before the page's scripts: it notes
`performance.now()` (milliseconds since the navigation started) in the first callback
that finds the rows / the nodes, so the mark does not wait for Playwright's round trip.
Each page is loaded cold (a new browser context: empty cache) and warm (loaded again in
the same context: the hashed assets come from the cache), the median of `--rounds`
rounds after one unmeasured load. For context, the `/api/v1/runs` server time as httpx
sees it (median of 20 calls) is printed too. For a miss: `--profile FILE` writes a
cProfile of the two routes' handlers (in-process, over the same home), `--trace DIR`
Chromium traces of a cold load of each page (DevTools' Performance panel opens them).
`--keep DIR` builds the home there and reuses it on the next run. A report, not a test:
it exits 0 whether the targets are met or not.

    .venv/bin/python benchmarks/console.py [--runs 10000] [--tasks 500] [--branches 10]
        [--rounds 5] [--json] [--profile FILE] [--trace DIR] [--keep DIR]

Its latest figures, and what moves them, are in docs/console.md ("Speed"). The run page
was 1158 ms cold before two fixes: `RunOut.of` converted a run's whole spec and every task
to JSON to read its header fields, and dagre's network simplex and ordering sweeps on a
500-node level (graph_layout.js).

No `from __future__ import annotations` here: kfp reads the component's annotations as types.
"""

import argparse
import cProfile
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from kfp import compiler, dsl

from conveyor.config import Settings
from conveyor.home import open_home
from conveyor.pipelines.spec import from_file
from conveyor.store.metadata import MetadataStore, NotFound

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1360, "height": 900}
PAGE_LIMIT_MS = 300.0  # (1): first paint, the API call and the rows, each under this
GRAPH_LIMIT_MS = 1000.0  # (2): the graph's nodes in the DOM under this
ROWS = 50  # the runs page's default page size
SERVER_CALLS = 20
BIG_PIPELINE = "wide-and-long"
BIG_RUN = "bench-big-run"

OBSERVER = """
(() => {
  const marks = {};
  window.__bench = marks;
  const test = () => {
    if (marks.rows === undefined && document.querySelector("table.runs tbody tr")) {
      marks.rows = performance.now();
    }
    if (marks.nodes === undefined && window.__benchNodes !== undefined &&
        document.querySelectorAll(".graph .node").length >= window.__benchNodes) {
      marks.nodes = performance.now();
    }
  };
  new MutationObserver(test).observe(document, { childList: true, subtree: true });
})();
"""
"""Installed before the page's scripts: notes when the rows / every node are in the DOM."""

READ_TIMINGS = """
(api) => {
  const paint = performance.getEntriesByType("paint")
    .find((entry) => entry.name === "first-contentful-paint");
  const call = performance.getEntriesByType("resource")
    .find((entry) => new URL(entry.name).pathname.startsWith(api));
  const navigation = performance.getEntriesByType("navigation")[0];
  return {
    fcp: paint ? paint.startTime : null,
    api: call ? call.responseEnd - call.requestStart : null,
    api_end: call ? call.responseEnd : null,
    api_bytes: call ? call.encodedBodySize : null,
    shell: navigation ? navigation.responseEnd : null,
    rows: window.__bench.rows ?? null,
    nodes: window.__bench.nodes ?? null,
  };
}
"""
"""The browser's timings of the page just loaded, in ms from its navigation's start."""

SETTLED = """
(mark) => new Promise((resolve) => {
  const done = () => window.__bench[mark] !== undefined &&
    performance.getEntriesByType("paint").some((e) => e.name === "first-contentful-paint");
  const check = () => (done() ? resolve() : requestAnimationFrame(check));
  check();
})
"""
"""Settles once the observer's mark is taken and the first contentful paint is recorded
(a promise: `wait_for_function`'s polling evaluates strings, which the console's
Content-Security-Policy forbids)."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Populating the home


def populate_runs(store: MetadataStore, runs: int) -> float:
    """`runs` finished runs of a few pipelines, two tasks each; the seconds it took."""
    started = time.perf_counter()
    with store.held_connection():
        for number in range(runs):
            run_id = f"bench-{number:06d}"
            failed = number % 10 == 7
            store.create_run(
                run_id,
                f"pipeline-{number % 5}",
                parameters={"n": number, "rate": 0.01},
                lease="bench",
                display_name=f"trial-{number}",
                labels={"team": ("growth", "search")[number % 2]} if number % 3 == 0 else None,
                experiment="tuning" if number % 25 == 0 else None,
            )
            prepare = store.create_execution(run_id, "prepare", parameters={"n": number})
            store.finish_execution(prepare, "COMPLETE", outputs={"Output": number * 2})
            train = store.create_execution(run_id, "train", parameters={"x": number * 2})
            store.finish_execution(
                train, "FAILED" if failed else "COMPLETE", error="boom" if failed else None
            )
            store.end_run(
                run_id,
                "bench",
                "FAILED" if failed else "SUCCEEDED",
                "train failed" if failed else None,
            )
            if (number + 1) % 2_000 == 0:
                progress(f"  {number + 1:,} runs, {time.perf_counter() - started:.0f} s")
    return time.perf_counter() - started


@dsl.component(base_image="python:3.11")
def step(x: int) -> int:
    return x + 1


def compile_big_pipeline(tasks: int, branches: int, path: Path) -> float:
    """Compile (kfp's compiler) a pipeline of `tasks` tasks: a head task and `branches`
    chains after it; the seconds it took."""

    @dsl.pipeline(name=BIG_PIPELINE)
    def wide_and_long(x: int = 0) -> None:
        head = step(x=x)
        ends = [head] * branches
        for number in range(tasks - 1):
            branch = number % branches
            ends[branch] = step(x=ends[branch].output)

    started = time.perf_counter()
    compiler.Compiler().compile(wide_and_long, str(path))
    return time.perf_counter() - started


def record_big_run(store: MetadataStore, spec: dict[str, Any]) -> tuple[int, float]:
    """A finished run of `spec` (BIG_RUN) with one execution per task, recorded through
    the store; its task count and the seconds it took."""
    run_id = BIG_RUN
    names = list(spec["root"]["dag"]["tasks"])
    started = time.perf_counter()
    with store.held_connection():
        store.create_run(run_id, BIG_PIPELINE, parameters={"x": 0}, spec=spec, lease="bench")
        for number, name in enumerate(names):
            execution = store.create_execution(run_id, name, parameters={"x": number})
            store.finish_execution(execution, "COMPLETE", outputs={"Output": number + 1})
        store.end_run(run_id, "bench", "SUCCEEDED", None)
    return len(names), time.perf_counter() - started


# Serving and measuring


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def conveyor_ui(folder: Path, log: Path) -> Iterator[str]:
    """`conveyor ui` over the home in `folder` on a free loopback port; its URL once it
    answers (the ready line it prints), until the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(CONVEYOR_HOME=str(folder), CONVEYOR_CONFIG="")
    port = free_port()
    conveyor = Path(sys.executable).with_name("conveyor")
    options = ["--port", str(port), "--log-level", "warning"]
    with log.open("w") as errors:
        process = subprocess.Popen(
            [str(conveyor), "ui", *options],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
        )
        try:
            if f"http://127.0.0.1:{port}" not in process.stdout.readline():
                raise SystemExit(f"conveyor ui did not start:\n{log.read_text()}")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def load(page: Any, url: str, api: str, ready: str, nodes: int | None = None) -> dict[str, Any]:
    """Load `url` in `page`, wait for `ready` (a selector) and for the observer's mark;
    the browser's timings."""
    page.goto(url, wait_until="commit")
    page.wait_for_selector(ready, state="attached")
    mark = "nodes" if nodes is not None else "rows"
    page.evaluate(SETTLED, mark)
    found = page.evaluate(READ_TIMINGS, api)
    missing = [name for name in ("fcp", "api", mark) if found[name] is None]
    if missing:
        raise SystemExit(f"{url}: the browser gave no {', '.join(missing)} timing")
    if mark == "nodes":
        found["render"] = found["nodes"] - found["api_end"]
    return found


def measure_page(
    browser: Any, url: str, api: str, ready: str, rounds: int, nodes: int | None = None
) -> dict[str, dict[str, float]]:
    """Cold and warm loads of one page: the median of each timing over the rounds."""
    found: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    for round_ in range(rounds + 1):  # the first, unmeasured, warms the server
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(
            OBSERVER if nodes is None else f"window.__benchNodes = {nodes};\n{OBSERVER}"
        )
        page = context.new_page()
        cold = load(page, url, api, ready, nodes)
        warm = load(page, url, api, ready, nodes)
        context.close()
        if round_:
            found["cold"].append(cold)
            found["warm"].append(warm)
    return {
        kind: {
            name: statistics.median(timings[name] for timings in loads)
            for name in loads[0]
            if loads[0][name] is not None
        }
        for kind, loads in found.items()
    }


def server_time(url: str, path: str, calls: int = SERVER_CALLS) -> float:
    """The median milliseconds of GET `path` as httpx sees it (after one warm-up call)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        client.get(path).raise_for_status()
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def profile_routes(folder: Path, run_id: str, out: Path) -> None:
    """A cProfile of the two routes' handlers (`conveyor.api.runs.list_runs`, `get_run`)
    and their JSON, called in this thread over the same home: in a server they run in a
    worker thread, which cProfile does not see."""
    from conveyor.api import runs

    with open_home(settings=Settings.from_env(folder, environ={})) as home:
        request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(home=home)))
        everything = dict.fromkeys(("pipeline", "status", "experiment", "label", "since"))

        def both() -> None:
            runs.list_runs(request, page_size=ROWS, page_token=None, **everything)
            runs.get_run(run_id, request, view="full").model_dump_json()

        both()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(SERVER_CALLS):
            both()
        profiler.disable()
    profiler.dump_stats(str(out))
    progress(f"a cProfile of {SERVER_CALLS} calls of each route written to {out}")


def trace_page(browser: Any, url: str, out: Path, nodes: int | None = None) -> None:
    """A Chromium performance trace of one cold load of `url` (open it in the DevTools
    Performance panel): where the browser's time goes, script, style, layout, paint."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(
        OBSERVER if nodes is None else f"window.__benchNodes = {nodes};\n{OBSERVER}"
    )
    page = context.new_page()
    browser.start_tracing(page=page, path=str(out), screenshots=True)
    try:
        load(page, url, "/api/v1/runs", "body", nodes)
    finally:
        browser.stop_tracing()
        context.close()
    progress(f"a Chromium trace of {url} written to {out}")


# The report


def verdict(value: float, limit: float) -> str:
    return "PASS" if value < limit else "MISS"


def table(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The report's rows: figure, cold, warm, target."""
    rows = []
    runs, graph = results["runs_page"], results["graph_page"]
    for label, page, name, limit in (
        ("(1) runs page: first contentful paint", runs, "fcp", PAGE_LIMIT_MS),
        ("(1) runs page: GET /api/v1/runs", runs, "api", PAGE_LIMIT_MS),
        (f"(1) runs page: {ROWS} rows in the DOM", runs, "rows", PAGE_LIMIT_MS),
        ("(2) run page: first contentful paint", graph, "fcp", None),
        ("(2) run page: GET /api/v1/runs/ID?view=full", graph, "api", None),
        ("(2) run page: layout and render (nodes - API end)", graph, "render", None),
        (f"(2) run page: {results['tasks']} nodes in the DOM", graph, "nodes", GRAPH_LIMIT_MS),
    ):
        cold, warm = page["cold"][name], page["warm"][name]
        target = "-"
        if limit is not None:
            target = f"< {limit:g} ms: {verdict(cold, limit)} cold, {verdict(warm, limit)} warm"
        rows.append((label, f"{cold:.0f} ms", f"{warm:.0f} ms", target))
    return rows


def print_report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    rows = [("figure (browser's timings, median)", "cold", "warm", "target"), *table(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print()
    for row in rows:
        print(
            f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2].rjust(widths[2])}"
            f"  {row[3]}"
        )
    print()
    print(
        f"server time as httpx sees it: GET /api/v1/runs {results['server_runs_ms']:.1f} ms, "
        f"GET /api/v1/runs/ID?view=full {results['server_run_ms']:.1f} ms (median of "
        f"{SERVER_CALLS})"
    )
    if "reused" in results:
        print(f"populating: none, the home in {results['reused']} was reused")
    else:
        print(
            f"populating: {results['runs']:,} runs in {results['populate_s']:.0f} s; the "
            f"{results['tasks']}-task pipeline compiled in {results['compile_s']:.1f} s, its "
            f"run recorded in {results['record_s']:.1f} s"
        )
    print(f"median of {args.rounds} round(s); {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store")
    parser.add_argument("--tasks", type=int, default=500, help="tasks of the big run")
    parser.add_argument("--branches", type=int, default=10, help="chains of the big run")
    parser.add_argument("--rounds", type=int, default=5, help="median of this many loads")
    parser.add_argument("--json", action="store_true", help="the results as JSON")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the runs routes here")
    parser.add_argument("--trace", type=Path, help="write Chromium traces of both pages here")
    parser.add_argument(
        "--keep", type=Path, help="build the home here and keep it (reused if built before)"
    )
    args = parser.parse_args()
    for name in ("runs", "rounds", "branches"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be 1 or more")
    if args.tasks < args.branches + 1:
        parser.error("--tasks must be more than --branches")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is not at {CHROMIUM} (`make system-deps` installs it)")
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-console-"))
    folder = args.keep or scratch / "home"
    try:
        results = run(args, scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        results.update(rounds=args.rounds, cpus=os.cpu_count())
        print(json.dumps(results, indent=2))
    else:
        print_report(args, results)


def build_home(args: argparse.Namespace, scratch: Path, folder: Path) -> dict[str, Any]:
    """Populate the home in `folder` (or reuse it, if a run of `--keep` built it); what
    that took."""
    found: dict[str, Any] = {"runs": args.runs}
    with open_home(settings=Settings.from_env(folder, environ={})) as home:
        try:
            run = home.store.get_run(BIG_RUN)
        except NotFound:
            run = None
        if run is not None:
            progress(f"reusing the home in {folder}")
            runs = len(home.store.list_runs()) - 1  # the big run aside
            return {"runs": runs, "tasks": len(run.executions), "reused": str(folder)}
        progress(f"(2) compiling a pipeline of {args.tasks} tasks")
        compiled = scratch / "big.yaml"
        found["compile_s"] = compile_big_pipeline(args.tasks, args.branches, compiled)
        progress(f"(1) recording {args.runs:,} runs")
        found["populate_s"] = populate_runs(home.store, args.runs)
        found["tasks"], found["record_s"] = record_big_run(home.store, dict(from_file(compiled)))
    return found


def run(args: argparse.Namespace, scratch: Path, folder: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results = build_home(args, scratch, folder)
    runs_path, run_path = "/api/v1/runs", f"/api/v1/runs/{BIG_RUN}?view=full"
    runs_url_path, run_url_path = "/ui/runs", f"/ui/runs/{BIG_RUN}"
    with conveyor_ui(folder, scratch / "ui.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            progress(f"(1) the runs page, {args.rounds} rounds")
            results["runs_page"] = measure_page(
                browser, url + runs_url_path, runs_path, "table.runs tbody tr", args.rounds
            )
            progress(f"(2) the run page of {results['tasks']} tasks, {args.rounds} rounds")
            results["graph_page"] = measure_page(
                browser,
                url + run_url_path,
                f"/api/v1/runs/{BIG_RUN}",
                ".graph .node",
                args.rounds,
                nodes=results["tasks"],
            )
            if args.trace:
                args.trace.mkdir(parents=True, exist_ok=True)
                trace_page(browser, url + runs_url_path, args.trace / "runs-page.json")
                trace_page(
                    browser, url + run_url_path, args.trace / "run-page.json", results["tasks"]
                )
        finally:
            browser.close()
        results["server_runs_ms"] = server_time(url, runs_path)
        results["server_run_ms"] = server_time(url, run_path)
    if args.profile:
        profile_routes(folder, BIG_RUN, args.profile)
    return results


if __name__ == "__main__":
    main()
