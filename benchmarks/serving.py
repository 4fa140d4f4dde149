"""Serving benchmark: Conveyor's prediction server against `mlflow models serve`, one model.

The same fitted scikit-learn pipeline (StandardScaler + LogisticRegression on 8 named
features) is served twice, on loopback:

- Conveyor: registered with `conveyor models upload` (skops), put on an endpoint with
  `conveyor endpoints create` / `deploy`, served by `conveyor serve`; requests go to the
  Vertex AI route, `POST /v1/endpoints/bench:predict {"instances": [{...}]}`.
- MLflow: saved with `mlflow.sklearn.save_model`, served by
  `mlflow models serve --env-manager local`; requests go to
  `POST /invocations {"dataframe_records": [{...}]}`.

Both get one row per request, as an object of feature name to value, and the same
number of worker processes (`--workers`, default 1). A separate load-generator process
(asyncio, one keep-alive HTTP/1.1 connection per concurrent client, requests written
and answers read with asyncio streams so that the client's own cost stays small next to
the servers') sends requests at concurrency 1 and 16, each run bounded by a request
count and a time. On Linux with room for it, servers and load generator are pinned to
different CPUs, so both servers get the same CPU budget. Before timing, each server's
answer is checked against the model's own prediction.

It prints throughput and p50 / p99 latency (the median of `--rounds` rounds, the two
servers taking turns) and the ratios, with the targets:

- Conveyor's throughput at concurrency 16 at least 2 times MLflow's;
- Conveyor's p99 latency at concurrency 1 under 10 ms.

It exits 0 either way: it is a report, not a test. Conveyor logs predictions as it
serves them (every request, its default); `--log-sample-rate 0` measures without.

    python benchmarks/serving.py [--duration 5] [--requests 20000] [--rounds 3]
                                 [--workers 1] [--log-sample-rate R] [--no-pin] [--skip-mlflow]
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FEATURES = [f"f{i}" for i in range(8)]
ENDPOINT = "bench"
CONCURRENCY = (1, 16)
THROUGHPUT_TARGET = 2.0  # Conveyor at least this many times MLflow's requests per second
P99_TARGET_MS = 10.0  # Conveyor's p99 at concurrency 1 under this
BIN = Path(sys.executable).parent


# The load generator: a process of its own, `serving.py drive ...`, printing JSON.


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response; its status."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _drive(args: argparse.Namespace) -> dict:
    body = Path(args.body).read_bytes()
    request = (
        f"POST {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    state = {"left": args.requests, "errors": 0, "measuring": False}

    async def client(stop_at: float) -> None:
        reader, writer = await asyncio.open_connection(args.host, args.port)
        try:
            while time.perf_counter() < stop_at and (not state["measuring"] or state["left"] > 0):
                if state["measuring"]:
                    state["left"] -= 1
                started = time.perf_counter()
                writer.write(request)
                status = await _read_answer(reader)
                if state["measuring"]:
                    latencies.append(time.perf_counter() - started)
                    state["errors"] += status != 200
        finally:
            writer.close()

    warm_until = time.perf_counter() + args.warmup
    await asyncio.gather(*(client(warm_until) for _ in range(args.concurrency)))
    state["measuring"] = True
    began = time.perf_counter()
    stop_at = began + args.duration
    await asyncio.gather(*(client(stop_at) for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": state["errors"],
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "p50_ms": _quantile(latencies, 0.50) * 1000,
        "p99_ms": _quantile(latencies, 0.99) * 1000,
    }


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def drive_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="serving.py drive")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_drive(args))))


# The servers


class Server:
    """A server process (and its children, in a session of their own) and its log."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path, cpus: set | None):
        self.name = name
        self.log = log
        stream = log.open("w")
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        stream.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").strip().splitlines()
        return "\n".join(f"    {line}" for line in text[-lines:])

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)  # the session this script started
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, path: str, body: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def wait_until_answers(server: Server, port: int, path: str, body: bytes, seconds: float) -> dict:
    """Poll with a real prediction until the server answers 200; its answer."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited while starting:\n{server.tail()}")
        try:
            status, data = post(port, path, body)
            if status == 200:
                return json.loads(data)
            last = f"HTTP {status}: {data[:300]!r}"
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise RuntimeError(
        f"{server.name} did not answer in {seconds:.0f} s ({last}):\n{server.tail()}"
    )


def cli(env: dict, *args: str) -> None:
    found = subprocess.run(
        [str(BIN / "conveyor"), *args], env=env, capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        raise RuntimeError(f"conveyor {' '.join(args)} failed:\n{found.stderr or found.stdout}")


def prepare(root: Path):
    """Train the model, save it both ways; (row, expected prediction)."""
    import numpy as np
    import pandas as pd
    import sklearn
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(5000, len(FEATURES))), columns=FEATURES)
    y = (x["f0"] + 0.5 * x["f3"] - x["f6"] + rng.normal(0, 0.5, len(x)) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    (root / "conveyor").mkdir()
    skops.io.dump(model, root / "conveyor" / "model.skops")
    trusted = bool(skops.io.get_untrusted_types(file=root / "conveyor" / "model.skops"))

    import mlflow.sklearn
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(
        model,
        str(root / "mlflow"),
        signature=infer_signature(x, model.predict(x)),
        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
    )
    row = {name: round(float(v), 6) for name, v in x.iloc[7].items()}
    expected = model.predict(pd.DataFrame([row]))[0].item()
    return row, expected, trusted


def start_conveyor(root: Path, env: dict, args, cpus) -> tuple[Server, int]:
    trusted = ["--trusted"] if args.trusted else []
    cli(
        env,
        "models",
        "upload",
        ENDPOINT,
        str(root / "conveyor"),
        "--framework",
        "sklearn",
        *trusted,
    )
    cli(env, "endpoints", "create", ENDPOINT)
    cli(env, "endpoints", "deploy", ENDPOINT, f"{ENDPOINT}@1")
    port = free_port()
    command = [str(BIN / "conveyor"), "serve", "--port", str(port), "--workers", str(args.workers)]
    command += ["--log-level", "warning"]
    if args.log_sample_rate is not None:
        command += ["--log-sample-rate", str(args.log_sample_rate)]
    return Server("conveyor serve", command, env, root / "conveyor.log", cpus), port


def start_mlflow(root: Path, env: dict, args, cpus) -> tuple[Server, int]:
    port = free_port()
    command = [str(BIN / "mlflow"), "models", "serve", "-m", str(root / "mlflow")]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    command += ["-w", str(args.workers)]
    return Server("mlflow models serve", command, env, root / "mlflow.log", cpus), port


def measure(port: int, path: str, body: Path, concurrency: int, args, cpus) -> dict:
    command = [sys.executable, __file__, "drive", "--port", str(port), "--path", path]
    command += ["--body", str(body), "--concurrency", str(concurrency)]
    command += ["--requests", str(args.requests), "--duration", str(args.duration)]
    command += ["--warmup", str(args.warmup)]
    found = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    if found.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{found.stderr}")
    return json.loads(found.stdout)


def cpu_plan(workers: int, pin: bool) -> tuple[set | None, set | None, str]:
    """CPUs for the servers and for the load generator, and a line saying so."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None, None, "not pinned"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < workers + 1:
        return None, None, f"not pinned ({len(cpus)} CPUs for {workers} worker(s) and a client)"
    servers, client = set(cpus[:workers]), {cpus[workers]}
    return (
        servers,
        client,
        f"servers on CPU {sorted(servers)}, load generator on CPU {sorted(client)}",
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "drive":
        drive_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--requests", type=int, default=20000, help="requests per run, at most")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and concurrency")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per server")
    parser.add_argument("--log-sample-rate", type=float, default=None, help="Conveyor's logging")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure Conveyor alone")
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    args = parser.parse_args()
    server_cpus, client_cpus, pinning = cpu_plan(args.workers, not args.no_pin)

    with tempfile.TemporaryDirectory(prefix="conveyor-serving-bench-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(root / "home"),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONWARNINGS": "ignore",
            # mlflow starts `uvicorn` by name: the environment's own, as `conveyor` is
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        for name in ("CONVEYOR_METADATA_URL", "CONVEYOR_ARTIFACT_ROOT", "CONVEYOR_API_TOKENS"):
            env.pop(name, None)
        row, expected, args.trusted = prepare(root)
        targets = {
            "Conveyor": ("/v1/endpoints/bench:predict", {"instances": [row]}, start_conveyor),
            "MLflow": ("/invocations", {"dataframe_records": [row]}, start_mlflow),
        }
        if args.skip_mlflow:
            del targets["MLflow"]
        servers: dict[str, tuple[Server, int, str, Path]] = {}
        missing: dict[str, str] = {}
        try:
            for name, (path, payload, start) in targets.items():
                body = root / f"{name}.json"
                body.write_text(json.dumps(payload))
                try:
                    server, port = start(root, env, args, server_cpus)
                    servers[name] = (server, port, path, body)
                    answer = wait_until_answers(
                        server, port, path, body.read_bytes(), args.startup_timeout
                    )
                    if answer.get("predictions") != [expected]:
                        raise RuntimeError(
                            f"answered {answer!r}; the model predicts [{expected!r}]"
                        )
                except RuntimeError as exc:
                    missing[name] = str(exc)
                    servers.pop(name, None)
            results: dict[tuple[str, int], list[dict]] = {}
            for _ in range(args.rounds):
                for concurrency in CONCURRENCY:
                    for name, (_server, port, path, body) in servers.items():
                        run = measure(port, path, body, concurrency, args, client_cpus)
                        results.setdefault((name, concurrency), []).append(run)
        finally:
            for server, *_ in servers.values():
                server.stop()
    report(results, missing, args, pinning)


def report(results: dict, missing: dict, args, pinning: str) -> None:
    import mlflow
    import sklearn

    def figure(name: str, concurrency: int, key: str) -> float:
        runs = results.get((name, concurrency))
        return statistics.median(r[key] for r in runs) if runs else float("nan")

    print(
        "Serving benchmark: one scikit-learn pipeline (StandardScaler + LogisticRegression, "
        f"{len(FEATURES)} features), one row per request, loopback"
    )
    print(
        f"  Conveyor: conveyor serve --workers {args.workers}, Vertex AI :predict route"
        + (
            f", prediction log rate {args.log_sample_rate}"
            if args.log_sample_rate is not None
            else ", prediction log on (default)"
        )
    )
    print(
        f"  MLflow {mlflow.__version__}: mlflow models serve --env-manager local -w {args.workers}"
        f", /invocations; scikit-learn {sklearn.__version__}, Python {platform.python_version()}"
    )
    print(
        f"  {os.cpu_count()} CPUs, {pinning}; median of {args.rounds} rounds, each "
        f"{args.duration:g} s or {args.requests} requests after {args.warmup:g} s of warm-up\n"
    )
    header = (
        f"{'concurrency':>11}  {'server':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for concurrency in CONCURRENCY:
        for name in ("Conveyor", "MLflow"):
            if (name, concurrency) not in results:
                continue
            errors = sum(r["errors"] for r in results[(name, concurrency)])
            print(
                f"{concurrency:>11}  {name:<9}{figure(name, concurrency, 'per_second'):>9.0f}"
                f"{figure(name, concurrency, 'p50_ms'):>9.2f}"
                f"{figure(name, concurrency, 'p99_ms'):>9.2f}{errors:>8}"
            )
    for name, reason in missing.items():
        print(f"\n{name}: not measured.\n{reason}")
    print()
    if ("Conveyor", 1) in results and ("MLflow", 1) in results:
        for concurrency in CONCURRENCY:
            speed = figure("Conveyor", concurrency, "per_second") / figure(
                "MLflow", concurrency, "per_second"
            )
            p50 = figure("MLflow", concurrency, "p50_ms") / figure(
                "Conveyor", concurrency, "p50_ms"
            )
            p99 = figure("MLflow", concurrency, "p99_ms") / figure(
                "Conveyor", concurrency, "p99_ms"
            )
            print(
                f"concurrency {concurrency:>2}: Conveyor serves {speed:.2f}x MLflow's requests per "
                f"second; MLflow's p50 is {p50:.2f}x Conveyor's, its p99 {p99:.2f}x"
            )
        speed16 = figure("Conveyor", 16, "per_second") / figure("MLflow", 16, "per_second")
        verdict = "PASS" if speed16 >= THROUGHPUT_TARGET else "MISS"
        print(
            f"\ntarget: throughput at concurrency 16 >= {THROUGHPUT_TARGET:g}x MLflow's: "
            f"{verdict} ({speed16:.2f}x)"
        )
    if ("Conveyor", 1) in results:
        p99 = figure("Conveyor", 1, "p99_ms")
        verdict = "PASS" if p99 < P99_TARGET_MS else "MISS"
        print(
            f"target: Conveyor p99 at concurrency 1 < {P99_TARGET_MS:g} ms: {verdict} ({p99:.2f} ms)"
        )


if __name__ == "__main__":
    main()
