"""The end-to-end demo (`make demo`): continuous training of a churn model, served.

1. Make span 1 of the churn data (examples/make_data.py).
2. Run the continuous-training pipeline (examples/continuous_training.py): the first
   model is blessed on its own metrics, uploaded, given `production` and deployed to
   the endpoint `churn`, following that alias.
3. Start `conveyor serve` on a free loopback port and ask the endpoint, over HTTP, how
   likely a few customers are to leave.
4. Watch the model: a monitor of `churn@production` (its training data found through
   lineage); customers like span 1's, then customers of a moved market (span 2's), ask
   the endpoint; once the server has written its prediction log, a monitoring job
   finds which features drifted from the earlier traffic and from the training data,
   and writes alerts to the alert log.
5. Automate it (MLOps level 2): `conveyor ci --upload --tag prod` checks the pipeline
   and registers it; a new-data trigger on the span folders, a drift trigger on the
   monitor's alerts and a nightly schedule run it.
6. Span 2 lands (more customers; the market has moved), and no command is typed: the
   scheduler (`conveyor scheduler`, run for the seconds it takes) sees the new span and
   fires the registered pipeline with it. The baseline span's steps come from the cache,
   and the new candidate is blessed, or not, against the model in production. When it
   is, the pipeline starts a canary rollout of it on the endpoint: while customers ask
   the endpoint, the running server judges 25 % then 100 % of the traffic on the
   candidate (its error rate and p99 latency, a window every few seconds here) and
   moves `production` to it (the monitor follows). Stop the server and print a summary.

Everything goes under `.conveyor-demo/` (data, metadata, artifacts, logs), made afresh
on each run; delete it when done. `python examples/demo.py --home DIR` puts it elsewhere.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent
HIDDEN_TASKS = ("condition-",)
FINAL = {"SUCCEEDED", "CACHED", "FAILED", "SKIPPED", "CANCELLED"}
SHOWN_FEATURES = ("contract", "internet_service", "tenure_months", "monthly_charges")
STEPS = 6
MONITOR = "churn-drift"
PIPELINE = "churn-continuous-training"
"""The name the pipeline is registered under for its automation (step 5): its own name,
as `conveyor ci --upload` registers it."""
ROLLOUT_SECONDS = 3.0
"""The length of each analysis window of the demo's rollout (step 6)."""
TRAFFIC_ROWS = 2000
"""Customers of each kind that ask the endpoint in step 4."""
ALERT_THRESHOLDS = {"default_categorical_alert_threshold": 0.05,
                    "default_numeric_alert_threshold": 0.02}  # fmt: skip
"""The monitor's thresholds, tighter than Vertex AI's 0.3 on purpose. The pipeline's
data validation refuses to train on a span drifted past 0.3 (broken data); the monitor
is to say early that the market moves: a category's share moved by 5 points (L-infinity
0.05), a number's distribution by a Jensen-Shannon divergence of 0.02. A job alerts only
when a distance passes its threshold and what chance alone reaches at its sample sizes."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(".conveyor-demo"))
    args = parser.parse_args()
    home = args.home.resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["CONVEYOR_HOME"] = str(home)  # before Conveyor reads it
    sys.path.insert(0, str(EXAMPLES))

    from continuous_training import continuous_training
    from make_data import write_span

    from conveyor.client import Client

    client = Client(home)
    data = home / "data"
    pattern = str(data / "span-{SPAN}" / "*.csv")
    say(f"Conveyor demo: continuous training of a churn model (everything under {shown(home)})")

    step(1, "Span 1 of the customer data")
    show_span(write_span(data, 1))

    step(2, "Run 1 of the pipeline on span 1 (conveyor run examples/continuous_training.py)")
    first = run_pipeline(client, continuous_training, pattern)
    first_blessing = report_run(client, first)

    step(3, "conveyor serve, and predictions from the endpoint over HTTP")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(home, port)
    try:
        wait_ready(server, url, home)
        say(f"   serving on {url}; POST {url}/v1/endpoints/churn:predict")
        say(f"   the console, while the demo runs: {url}/ui")
        customers = sample_customers(seed=1)
        before = predict(client, url, customers)

        step(4, f"Model monitoring of churn@production (monitor {MONITOR})")
        job = watch_traffic(client, url, home)

        step(5, f"Automation: the pipeline checked and registered as {PIPELINE}@prod, triggers")
        automate(client, home, pattern)

        step(6, "Span 2 lands: 3,000 newer customers, more on fiber, paying more")
        show_span(write_span(data, 2))
        second = retrain_on_new_data(client, home)
        second_blessing = report_run(client, second)
        after = None
        if second_blessing and second_blessing["blessed"]:
            after = follow_rollout(client, url, customers)
    finally:
        stop_server(server)

    summary(client, first, first_blessing, second, second_blessing, before, after, job, home)
    succeeded = first.status == second.status == "SUCCEEDED"
    return 0 if succeeded and job.state == "JOB_STATE_SUCCEEDED" else 1


# Steps


def automate(client: Any, home: Path, pattern: str) -> None:
    """Register the pipeline, and what fires it without a person: new spans, drift, nightly."""
    from conveyor.automation.requests import pipeline_job

    source = EXAMPLES / "continuous_training.py"
    say(f"   $ conveyor ci {shown(source)} --upload --tag prod")
    checked = subprocess.run(
        [sys.executable, "-m", "conveyor", "ci", str(source), "--upload", "--tag", "prod"],
        env={**os.environ, "CONVEYOR_HOME": str(home), "COLUMNS": "120"},
        capture_output=True,
        text=True,
    )
    for line in checked.stdout.splitlines()[-2:]:
        say(f"     {line}")
    if checked.returncode != 0:
        raise RuntimeError(f"conveyor ci failed:\n{checked.stdout}{checked.stderr}")
    parts = client.home
    # Windows of seconds for the demo's rollout; the pipeline's default is five minutes.
    request = pipeline_job(
        f"{PIPELINE}@prod", {"data": pattern, "rollout_interval_seconds": ROLLOUT_SECONDS}
    )
    parts.triggers.create(
        "new-spans",
        "new_data",
        {"pattern": pattern, "span_parameter": "span"},
        request,
    )
    say("   $ conveyor triggers create new-spans --on new-data --pattern 'data/span-{SPAN}/*.csv' "
        f"--span-parameter span --pipeline {PIPELINE}@prod -p data=...   (span 1 is there: not fired)")  # fmt: skip
    parts.triggers.create(
        "drift", "monitoring_alert", {"monitor": MONITOR, "cooldown": "1d"}, request
    )
    say(f"   $ conveyor triggers create drift --on monitoring-alert --monitor {MONITOR} "
        f"--cooldown 1d --pipeline {PIPELINE}@prod")  # fmt: skip
    nightly = parts.schedules.create("nightly", "0 3 * * *", request)
    say(f"   $ conveyor schedules create nightly '0 3 * * *' --pipeline {PIPELINE}@prod   "
        f"(next: {nightly.next_run_time:%Y-%m-%d %H:%M} UTC)")  # fmt: skip


def retrain_on_new_data(client: Any, home: Path) -> Any:
    """Run the scheduler until the run the new span fires has ended; that run's record."""
    from conveyor.store.metadata import RunStatus

    scheduler = start_conveyor(home, "scheduler.log", "scheduler", "--poll", "1")
    say(f"   $ conveyor scheduler   (log: {shown(home / 'scheduler.log')})")
    try:
        run_id = wait_for_fire(client)
        say(f"   trigger new-spans fired run {run_id} of {PIPELINE}@prod with span=2:")
        started, seen = time.monotonic(), set()
        while True:
            run = client.home.store.get_run(run_id)
            for key, state in task_states(run):
                if state in ("SUCCEEDED", "CACHED") and not hidden(key) and key not in seen:
                    seen.add(key)
                    say(f"   {task_name(key):<32} {state}")
            if run.status != RunStatus.RUNNING:
                break
            time.sleep(0.3)
        say(f"   run {run_id}: {run.status} in {time.monotonic() - started:.0f}s, "
            "with nobody typing a command")  # fmt: skip
        return run
    finally:
        stop_process(scheduler, "conveyor scheduler")


def wait_for_fire(client: Any) -> str:
    """The run id of the trigger's first fire, once its run is recorded."""
    from conveyor.store.metadata import NotFound

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fired = [f for f in client.home.triggers.fires("new-spans") if f.run_id]
        if fired:
            try:
                client.home.store.get_run(fired[0].run_id)
                return fired[0].run_id
            except NotFound:
                pass
        time.sleep(0.2)
    raise RuntimeError("the scheduler did not fire the new span within 2 minutes")


def run_pipeline(client: Any, pipeline: Any, pattern: str) -> Any:
    started = time.monotonic()

    def finished(node: Any) -> None:
        if node.status in FINAL and not node.name.startswith(HIDDEN_TASKS):
            took = ""
            if node.started and node.finished and node.status != "CACHED":
                took = f"{(node.finished - node.started).total_seconds():5.1f}s"
            say(f"   {task_name(node.key):<32} {node.status:<9} {took}")

    run = client.run(pipeline, {"data": pattern}, listener=finished)
    say(f"   run {run.run_id}: {run.status} in {time.monotonic() - started:.0f}s")
    if run.status != "SUCCEEDED":
        say(run.error or "")
    return run


def report_run(client: Any, run: Any) -> dict[str, Any] | None:
    """Print the data validation, the blessing and the hand-over of a run; the blessing."""
    executions = {e.task_key: e for e in client.get_run(run.run_id).executions}
    anomalies = document(executions.get("validate-data"), "anomalies")
    if anomalies:
        drift = sorted(
            ((d["value"], name, d) for name, d in anomalies["distances"].items()),
            key=lambda item: item[0],
            reverse=True,
        )[:3]
        measures = {"jensen_shannon_divergence": "JS", "l_infinity": "L-inf"}
        largest = ", ".join(
            f"{name} {value:.3f} ({measures.get(d['measure'], d['measure'])}, "
            f"threshold {d['threshold']:g})"
            for value, name, d in drift
        )
        verdict = "valid" if anomalies["valid"] else "NOT valid: training skipped"
        if not any(d["value"] for d in anomalies["distances"].values()):
            largest = "none (the newest span is the baseline span)"
        say(f"   data: {verdict}; largest drift from the baseline span: {largest}")
        for anomaly in anomalies["anomalies"]:
            say(f"     anomaly: {anomaly['feature']}: {anomaly['description']}")
    blessing = document(executions.get("condition-1/validate-model"), "blessing")
    if blessing is None:
        return None
    word = "BLESSED" if blessing["blessed"] else "NOT BLESSED"
    baseline = blessing.get("baseline")
    against = "on its own metrics (no model in production yet)"
    if baseline:
        production = executions["condition-1/get-production-model"].output_parameters
        against = f"against {production.get('model_version')} in production, on the same rows"
    say(f"   blessing {against}: {word}: {blessing['reason']}")
    for check in blessing["checks"]:
        if check["passed"] is None:
            continue
        base = f" vs {check['baseline']:.4f}" if check["baseline"] is not None else ""
        mark = "ok" if check["passed"] else "FAILED"
        say(
            f"     {check['metric']:<9} {check['candidate']:.4f}{base}  "
            f"{json.dumps(check['threshold'])}  {mark}"
        )
    upload = executions.get("condition-1/condition-2/upload-model")
    deploy = executions.get("condition-1/condition-2/deploy-model")
    if upload and upload.output_parameters.get("uploaded"):
        say(f"   registry: {upload.output_parameters['model_version']} uploaded (`candidate`)")
    if deploy and deploy.output_parameters.get("deployed_model_id"):
        rollout = client.current_rollout("churn")
        if rollout is not None and rollout.candidate == deploy.output_parameters["model_version"]:
            say(
                f"   endpoint churn: rollout {rollout.id} of {rollout.candidate} started, a "
                f"canary at {rollout.weight}% of the traffic beside the model in production"
            )
        else:
            say(
                f"   endpoint churn: deployed model "
                f"{deploy.output_parameters['deployed_model_id']} follows churn@production, "
                f"serving {deploy.output_parameters['model_version']}"
            )
    return blessing


def predict(client: Any, url: str, customers: list[dict[str, Any]]) -> dict[str, Any]:
    """Ask the endpoint for churn probabilities of `customers` over HTTP; print them."""
    features = [{k: v for k, v in c.items() if k not in ("customer_id", "churned")}
                for c in customers]  # fmt: skip
    labels = client.predict("churn", features, url=url)
    scores = client.predict("churn", features, {"method": "predict_proba"}, url=url)
    say(
        f"   answered by churn@{labels['modelVersionId']} (deployed model "
        f"{labels['deployedModelId']}):"
    )
    for customer, label, score in zip(
        customers, labels["predictions"], scores["predictions"], strict=True
    ):
        described = ", ".join(str(customer[f]) for f in SHOWN_FEATURES)
        say(
            f"     {customer['customer_id']} ({described}): churn {label}, "
            f"probability {score[1]:.2f}"
        )
    return labels


def follow_rollout(client: Any, url: str, customers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Send customers to the endpoint, one request each, while the server judges the
    rollout the run started; print each verdict. The predictions once it is promoted."""
    rollout = client.current_rollout("churn")
    if rollout is None:
        say("   no rollout on the endpoint: nothing to follow")
        return None
    say(
        f"   the server judges {rollout.candidate} at {', then '.join(map(str, rollout.steps))}% "
        f"of the traffic, a window of {rollout.interval_seconds:g}s each; customers ask:"
    )
    features = [{k: v for k, v in c.items() if k not in ("customer_id", "churned")}
                for c in customers]  # fmt: skip
    shown, deadline = 0, time.monotonic() + 120
    while rollout.active and time.monotonic() < deadline:
        for row in features:
            client.predict("churn", [row], url=url)
        rollout = client.get_rollout("churn", rollout.id)
        for analysis in rollout.analyses[shown:]:
            say(f"   step {analysis['step'] + 1} at {analysis['weight']}%: {analysis['message']}")
        shown = len(rollout.analyses)
    say(f"   rollout {rollout.id}: {rollout.state.value}: {rollout.message}")
    if rollout.state.value != "promoted":
        return None
    return predict(client, url, customers)


def summary(
    client: Any,
    first: Any,
    first_blessing: dict[str, Any] | None,
    second: Any,
    second_blessing: dict[str, Any] | None,
    before: dict[str, Any],
    after: dict[str, Any] | None,
    job: Any,
    home: Path,
) -> None:
    say("\nSummary")
    for number, run, blessing in ((1, first, first_blessing), (2, second, second_blessing)):
        tasks = task_states(run)
        cached = [key.rsplit("/", 1)[-1] for key, status in tasks if status == "CACHED"]
        ran = [key for key, status in tasks if status == "SUCCEEDED" and not hidden(key)]
        decision = "no blessing (training skipped)"
        if blessing is not None:
            decision = ("BLESSED" if blessing["blessed"] else "NOT BLESSED") + (
                f": {blessing['reason']}"
            )
            compared = [
                f"{c['metric']} {c['candidate']:.4f} vs production's {c['baseline']:.4f}"
                for c in blessing["checks"]
                if c["kind"] == "change" and c["baseline"] is not None
            ]
            if compared:
                decision += " (" + ", ".join(dict.fromkeys(compared)) + ")"
        say(
            f"  run {number} ({run.status}): {len(ran)} tasks ran, {len(cached)} CACHED"
            + (f" ({', '.join(cached)})" if cached else "")
        )
        say(f"    {decision}")
    served = after or before
    say(f"  endpoint churn serves churn@{served['modelVersionId']} (following production)")
    alerts = (job.summary or {}).get("alerts", {}).get("anomaly", 0)
    say(
        f"  monitor {MONITOR}: job {job.id} over churn@{job.model_version_id}'s traffic "
        f"{job.state.removeprefix('JOB_STATE_')}, {alerts} drift alerts; it now watches "
        f"churn@{client.get_monitor(MONITOR).model_version_id} (following production)"
    )
    say(
        f"  files: {shown(home)} (metadata.db, artifacts/, runs/, monitoring/); delete it to start again"
    )
    say(
        f"  browse it all: CONVEYOR_HOME={shown(home)} conveyor ui, then open "
        "http://127.0.0.1:8080/ui"
    )


# Monitoring


def watch_traffic(client: Any, url: str, home: Path, rows: int = TRAFFIC_ROWS) -> Any:
    """Create the monitor, send span-1-like then span-2 traffic to the endpoint, wait for
    the prediction log, run a job over the span-2 traffic; print what it found. The job."""
    monitor = client.create_monitor(
        MONITOR,
        "churn@production",
        tabular_objective={
            "feature_skew_spec": ALERT_THRESHOLDS,
            "feature_drift_spec": ALERT_THRESHOLDS,
            "prediction_output_drift_spec": ALERT_THRESHOLDS,
        },
    )
    version = monitor.model_version_id
    say(
        f"   monitor {MONITOR} watches churn@production (now churn@{version}): skew against "
        "its training data (found through lineage: the train_data split that trained it), "
        "drift against the traffic before, and drift of its predictions"
    )
    started = datetime.now(UTC)
    send_traffic(client, url, span=1, rows=rows, first_id=700_001)
    say(f"   {rows} customers like span 1's asked the endpoint")
    middle = datetime.now(UTC)
    last = send_traffic(client, url, span=2, rows=rows, first_id=800_001)
    ended = datetime.now(UTC)
    say(f"   then {rows} customers of a moved market (span 2's: more on fiber, paying more)")
    wait_for_log(client, "churn", version, last)
    # The target window holds the span-2 traffic; feature drift compares it with the
    # window of the same length just before it, which holds the span-1-like traffic.
    length = max(middle - started, ended - middle) + timedelta(seconds=1)
    job = client.run_monitor(MONITOR, start_time=middle, end_time=middle + length)
    report_job(client, job)
    show_alerts(client, job)
    say(f"   afterwards, with CONVEYOR_HOME={shown(home)}:")
    for command in (
        f"conveyor monitors jobs {MONITOR}",
        f"conveyor monitors metrics {MONITOR} --anomalies",
        f"conveyor monitors alerts {MONITOR}",
        f"conveyor monitors report {job.id} --html report.html",
    ):
        say(f"     $ {command}")
    return job


def send_traffic(client: Any, url: str, span: int, rows: int, first_id: int) -> datetime:
    """`rows` new customers of span `span`'s kind ask the endpoint, 100 a request, as
    Vertex AI clients do; the time the last request was sent (UTC)."""
    from make_data import customers

    # The endpoint refuses a missing feature (its schema says float): send those recorded.
    frame = customers(span=span, rows=rows * 2, seed=7, first_id=first_id).dropna()[:rows]
    instances = json.loads(frame.drop(columns=["customer_id", "churned"]).to_json(orient="records"))
    sent = datetime.now(UTC)
    for start in range(0, len(instances), 100):
        sent = datetime.now(UTC)
        client.predict("churn", instances[start : start + 100], url=url)
    return sent


def wait_for_log(client: Any, model: str, version: int, last: datetime) -> None:
    """Wait until the server has written its prediction log up to the request sent at
    `last`: it writes a Parquet file every 10 s (or 50,000 rows, or when it stops)."""
    from conveyor.store.prediction_logs import prediction_logs, span

    say("   waiting for the server to write its prediction log (a file every 10 s) ...")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = prediction_logs(client.home.store, model=model, version=version)
        ends = [end for end in (span(f)[1] for f in files) if end is not None]
        if ends and max(ends) >= last:
            say(f"   the log holds the traffic: {len(files)} Parquet files")
            return
        time.sleep(0.5)
    raise RuntimeError(f"the server wrote no prediction log of {model}@{version} in 60 s")


def report_job(client: Any, job: Any) -> None:
    """Print the job's window and the fields over their thresholds, per objective."""
    window = f"{job.window_start:%H:%M:%S} to {job.window_end:%H:%M:%S} UTC"
    say(f"   a monitoring job over the span-2 traffic, {window} (conveyor monitors run):")
    if job.state != "JOB_STATE_SUCCEEDED":
        say(f"   job {job.id}: {job.state}: {job.error}")
        return
    metrics = client.home.monitors.job_metrics(job.id)
    found = [m for m in metrics if m.anomaly]
    summary = job.summary or {}
    say(
        f"   job {job.id} of churn@{job.model_version_id}: {summary.get('rows_read')} rows "
        f"read; {len(found)} of {len(metrics)} measures over their threshold and chance:"
    )
    say(f"     {'OBJECTIVE':<24}{'FEATURE':<18}{'DISTANCE':>9}{'THRESHOLD':>10}{'CHANCE':>8}")
    for metric in sorted(found, key=lambda m: (m.objective, -(m.value or 0))):
        say(
            f"     {metric.objective:<24}{metric.feature:<18}{metric.value:>9.4f}"
            f"{metric.threshold:>10g}{metric.chance_level:>8.4f}"
        )
    calm = sorted(
        {m.feature for m in metrics if m.objective != "prediction_output_drift"}
        - {m.feature for m in found}
    )
    if calm:
        say(f"     no drift or skew on {', '.join(calm)}")


def show_alerts(client: Any, job: Any) -> None:
    """Print the lines the job's alerts wrote to the home's alert log."""
    path = client.home.monitors.deliverer().alert_log
    lines = path.read_text().splitlines() if path.exists() else []
    written = [entry for entry in map(json.loads, lines) if entry.get("job") == job.id]
    say(f"   the alert log {shown(path)} (a JSON object a line): {len(written)} alerts")
    for entry in written:
        say(
            f"     {entry['time'][11:19]} {entry['kind']} {entry['objective']} "
            f"{entry['feature']} {entry['value']:.4f} > {entry['threshold']:g}"
        )


# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    say(f"   $ conveyor serve --port {port}   (log: {shown(home / 'serve.log')})")
    return start_conveyor(
        home,
        "serve.log",
        "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    )  # fmt: skip


def start_conveyor(home: Path, log_name: str, *args: str) -> subprocess.Popen[bytes]:
    """`conveyor ARGS...` in the demo's home, its output to `log_name` there."""
    log = (home / log_name).open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "conveyor", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CONVEYOR_HOME": str(home)},
    )


def wait_ready(server: subprocess.Popen[bytes], url: str, home: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"conveyor serve did not start:\n{(home / 'serve.log').read_text()}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    stop_process(server, "conveyor serve")


def stop_process(process: subprocess.Popen[bytes], name: str) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    say(f"   stopped {name}")


# Helpers


def sample_customers(seed: int) -> list[dict[str, Any]]:
    """Three new customers the model has not seen, with every feature recorded."""
    import pandas as pd
    from make_data import customers

    frame = customers(span=2, rows=200, seed=seed, first_id=900_001).dropna()
    picked = frame.sample(3, random_state=seed)
    return json.loads(pd.DataFrame(picked).to_json(orient="records"))


def task_states(run: Any) -> list[tuple[str, str]]:
    """(task key, status) of a run this demo ran (its tasks) or the scheduler fired (its
    recorded executions)."""
    if hasattr(run, "tasks"):
        return [(t.name, t.status) for t in run.tasks]
    named = {"COMPLETE": "SUCCEEDED"}
    return [(e.task_key, named.get(e.state, e.state)) for e in run.executions]


def document(execution: Any, output: str) -> dict[str, Any] | None:
    if execution is None or output not in execution.outputs:
        return None
    path = Path(execution.outputs[output][0].uri)
    return json.loads(path.read_text()) if path.is_file() and path.stat().st_size else None


def show_span(written: list[Path]) -> None:
    import pandas as pd

    frame = pd.concat([pd.read_csv(p) for p in written])
    say(
        f"   {len(frame)} customers in {len(written)} files under {shown(written[0].parent)}; "
        f"churn rate {frame['churned'].mean():.1%}, fiber {frame['internet_service'].eq('fiber').mean():.0%}, "
        f"mean monthly charges {frame['monthly_charges'].mean():.2f}"
    )


def task_name(key: str) -> str:
    parts = [p for p in key.split("/") if not p.startswith(HIDDEN_TASKS)]
    return ("  " * (len(key.split("/")) - 1)) + (parts[-1] if parts else key)


def hidden(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith(HIDDEN_TASKS)


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) + ("/" if path.is_dir() else "")
    except ValueError:
        return str(path)


def step(number: int, title: str) -> None:
    say(f"\n[{number}/{STEPS}] {title}")


def say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
