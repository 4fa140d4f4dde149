"""`conveyor monitors`: model monitors from the command line; thin calls to `Monitors`.

The flags build the monitor's fields (Vertex AI's `tabular_objective` and
`notification_spec`) and the library checks them; a threshold given per feature goes to
every objective that watches that field.

`--cron` is a convenience of the command line: it keeps a schedule of the monitor's jobs
named after the monitor (`conveyor schedules`), made, changed or deleted with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from conveyor.cli._output import (
    JsonOption,
    out,
    print_json,
    print_table,
    rounded,
    seconds_text,
    state_text,
    when,
)
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.automation.schedule_records import ScheduleRecord
    from conveyor.home import Home
    from conveyor.monitoring import ModelMonitor, ModelMonitoringSchema, Monitors

app = typer.Typer(
    name="monitors",
    help="Model monitors: watch a model's traffic for drift and training-serving skew.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

PERFORMANCE = "model_performance_spec"
"""The live performance objective's spec (`--performance-threshold`)."""
OBJECTIVES = {
    "feature_drift": "feature_drift_spec",
    "skew": "feature_skew_spec",
    "output_drift": "prediction_output_drift_spec",
}
"""Each objective's flag (`--feature-drift`, `--skew`, `--output-drift`) and its spec."""


class CategoricalMetric(StrEnum):
    l_infinity = "l_infinity"
    jensen_shannon_divergence = "jensen_shannon_divergence"


# Options shared by create and update


def _options(kind: Any, *decls: str, help: str, default: str | None = None) -> tuple[Any, Any]:
    """An option as `create` takes it (its default told) and as `update` does (left out:
    unchanged)."""
    extra: dict[str, Any] = {"show_default": False} if any("/" in d for d in decls) else {}
    told = f"{help} [default: {default}]" if default else help
    return (
        Annotated[kind, typer.Option(*decls, help=told, **extra)],
        Annotated[kind, typer.Option(*decls, help=help, **extra)],
    )


DisplayName, UpdateDisplayName = _options(str | None, help="A name for people.", default="NAME")
Baseline, UpdateBaseline = _options(
    str | None,
    help="The training data to compare with: a path or URL (CSV, Parquet, JSON Lines), an "
    "artifact id, or 'lineage'.",
    default="lineage, the dataset that trained the version",
)
SchemaFile, UpdateSchemaFile = _options(
    Path | None,
    "--schema",
    help='A JSON file: the fields to watch ({"feature_fields": [...], "prediction_fields": '
    "[...]}, or a list of features).",
    default="the version's input schema, and its output as the prediction",
)
FeatureDrift, UpdateFeatureDrift = _options(
    bool | None,
    "--feature-drift/--no-feature-drift",
    help="Compare each window's features with the window before it.",
    default="on",
)
Skew, UpdateSkew = _options(
    bool | None,
    "--skew/--no-skew",
    help="Compare each window's features with the training data.",
    default="on",
)
OutputDrift, UpdateOutputDrift = _options(
    bool | None,
    "--output-drift/--no-output-drift",
    help="Compare each window's predictions with the window before it.",
    default="on",
)
Features, UpdateFeatures = _options(
    list[str],
    "--feature",
    help="Watch only this feature for drift and skew (repeat it).",
    default="every feature",
)
NumericThreshold, UpdateNumericThreshold = _options(
    float | None, help="Alert above this distance for numbers, 0 to 1.", default="0.3"
)
CategoricalThreshold, UpdateCategoricalThreshold = _options(
    float | None, help="Alert above this distance for categories, 0 to 1.", default="0.3"
)
Thresholds = Annotated[
    list[str],
    typer.Option(
        "--threshold",
        help="One field's threshold, as FEATURE=VALUE (repeat it); for every objective "
        "watching that field.",
    ),
]
CategoricalMetricOption, UpdateCategoricalMetric = _options(
    CategoricalMetric | None, help="How categories are compared.", default="l_infinity"
)
Window, UpdateWindow = _options(
    str | None, help="A job's target window: 30m, 1h, 1d, 1w.", default="1d"
)
Offset = Annotated[str | None, typer.Option(help="How far before now the target window ends (1h).")]
SamplingRate, UpdateSamplingRate = _options(
    float | None, help="The share of a window's rows a job reads, above 0 to 1.", default="1"
)
MinSamples, UpdateMinSamples = _options(
    int | None, help="Fewer rows in a window: insufficient data, and no alert.", default="100"
)
Cron = Annotated[
    str | None,
    typer.Option(
        help="Run jobs on this cron, in UTC unless it starts with TZ=Zone: '0 * * * *' is "
        "hourly. Kept as a schedule named after the monitor (conveyor schedules)."
    ),
]
PerformanceThresholds = Annotated[
    list[str],
    typer.Option(
        "--performance-threshold",
        help="Watch the model's live metrics once labels arrive (conveyor monitors feedback): "
        "METRIC=VALUE (repeat it). A floor for accuracy, balanced_accuracy, precision, recall, "
        "f1 and r2; a ceiling for mae, mse, rmse, max_error and mape.",
    ),
]
Webhook = Annotated[str | None, typer.Option(help="POST each alert as JSON to this http(s) URL.")]
WebhookSecret = Annotated[
    str | None,
    typer.Option(
        "--webhook-secret-setting",
        help="The environment variable holding the key that signs webhook calls (HMAC).",
    ),
]
Emails, UpdateEmails = _options(
    list[str], "--email", help="Email alerts to this address (repeat it)."
)
AlertLog, UpdateAlertLog = _options(
    bool | None, "--alert-log/--no-alert-log", help="Write alerts to the alert log.", default="on"
)
Cooldown, UpdateCooldown = _options(
    str | None, help="How long an alert on a feature silences the next (1h).", default="1d"
)


@contextmanager
def _home() -> Iterator[Home]:
    """The environment's home (imported when used: `conveyor --help` stays quick)."""
    from conveyor.home import open_home

    with open_home() as home:
        yield home


@contextmanager
def _monitors() -> Iterator[Monitors]:
    """The monitors of the environment's home."""
    with _home() as home:
        yield home.monitors


@app.command()
def create(
    name: Annotated[
        str, typer.Argument(help="The monitor's name: a letter, letters, digits, '-', '_'.")
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="MODEL@ALIAS (followed: each job watches the version it names then), "
            "MODEL@VERSION (pinned) or MODEL (its default).",
        ),
    ],
    display_name: DisplayName = None,
    baseline: Baseline = None,
    schema: SchemaFile = None,
    feature_drift: FeatureDrift = None,
    skew: Skew = None,
    output_drift: OutputDrift = None,
    feature: Features = [],  # noqa: B006 (typer reads the default)
    numeric_threshold: NumericThreshold = None,
    categorical_threshold: CategoricalThreshold = None,
    threshold: Thresholds = [],  # noqa: B006
    categorical_metric: CategoricalMetricOption = None,
    window: Window = None,
    offset: Offset = None,
    sampling_rate: SamplingRate = None,
    min_samples: MinSamples = None,
    cron: Cron = None,
    webhook: Webhook = None,
    webhook_secret_setting: WebhookSecret = None,
    email: Emails = [],  # noqa: B006
    alert_log: AlertLog = None,
    cooldown: Cooldown = None,
    performance_threshold: PerformanceThresholds = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Create a model monitor: feature drift, training-serving skew and prediction output
    drift, each alerting above 0.3 unless told otherwise.

    The schema comes from the registered version (its input schema; its output as the
    prediction); a version without one needs --schema.

    Example: conveyor monitors create churn-drift --model churn@production --threshold plan=0.1 --webhook https://hooks.example.com/ml --cron "0 * * * *"
    """
    cron = cron or None  # --cron "": no schedule
    schema_given = _read_json(schema, "--schema")
    flags = _ObjectiveFlags.of(
        feature_drift,
        skew,
        output_drift,
        feature,
        numeric_threshold,
        categorical_threshold,
        threshold,
        categorical_metric,
    )
    from conveyor.automation import monitor_schedules

    with _home() as home:
        monitors = home.monitors
        if cron is not None:
            monitor_schedules.check_cron(home.schedules, name, cron)
        objective = None
        if flags.given or performance_threshold:
            fields = monitors.schema_for(model, schema_given)
            base: dict[str, Any] = {spec: {} for spec in OBJECTIVES.values()}
            if not fields.prediction_fields:
                base["prediction_output_drift_spec"] = None
            objective = flags.applied(base, fields) if flags.given else base
            if performance_threshold:
                objective[PERFORMANCE] = {"thresholds": _metric_bounds(performance_threshold)}
        notification = _notification(
            None, webhook, webhook_secret_setting, email, alert_log, cooldown, clear=False
        )
        made = monitors.create(
            name,
            model,
            display_name=display_name,
            training_dataset=baseline,
            model_monitoring_schema=schema_given,
            tabular_objective=objective,
            notification_spec=notification,
            window=window,
            offset=offset,
            sampling_rate=sampling_rate,
            min_samples=min_samples,
        )
        schedule = monitor_schedules.keep(home.schedules, name, cron) if cron is not None else None
    if as_json:
        print_json(_json(made, schedule))
        return
    out.print(
        f"Created monitor {made.name} of {_target(made)}: {_objectives_text(made)}"
        + _schedule_text(schedule),
        markup=False,
    )


@app.command("list")
def list_monitors(as_json: JsonOption = False) -> None:
    """List the monitors, the version each watches now, and their schedules.

    Example: conveyor monitors list --json
    """
    from conveyor.automation import monitor_schedules

    with _home() as home:
        found = home.monitors.list()
        schedules = monitor_schedules.by_monitor(home.schedules)
    if as_json:
        print_json([_json(m, schedules.get(m.name)) for m in found])
        return
    if not found:
        out.print("No monitors yet: `conveyor monitors create NAME --model MODEL@ALIAS` makes one.")
        return
    table = Table("NAME", "WATCHES", "OBJECTIVES", "WINDOW", "CRON", "UPDATED (UTC)", box=None)
    for m in found:
        schedule = schedules.get(m.name)
        table.add_row(
            m.name,
            _target(m),
            _objectives_text(m),
            m.window,
            schedule.cron if schedule else "-",
            when(m.updated_at),
        )
    print_table(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    as_json: JsonOption = False,
) -> None:
    """Show a monitor: what it watches (resolved now), its schema, objectives, thresholds
    and where its alerts go.

    Example: conveyor monitors show churn-drift
    """
    from conveyor.automation import monitor_schedules

    with _home() as home:
        monitor = home.monitors.get(name)
        schedule = monitor_schedules.schedule_of(home.schedules, name)
    if as_json:
        print_json(_json(monitor, schedule))
    else:
        _show(monitor, schedule)


@app.command()
def update(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Watch another reference: MODEL@ALIAS, MODEL@VERSION."),
    ] = None,
    display_name: UpdateDisplayName = None,
    baseline: UpdateBaseline = None,
    schema: UpdateSchemaFile = None,
    schema_from_model: Annotated[
        bool,
        typer.Option(
            "--schema-from-model",
            help="Take the schema of the version the target names now again.",
        ),
    ] = False,
    feature_drift: UpdateFeatureDrift = None,
    skew: UpdateSkew = None,
    output_drift: UpdateOutputDrift = None,
    feature: UpdateFeatures = [],  # noqa: B006 (typer reads the default)
    numeric_threshold: UpdateNumericThreshold = None,
    categorical_threshold: UpdateCategoricalThreshold = None,
    threshold: Thresholds = [],  # noqa: B006
    categorical_metric: UpdateCategoricalMetric = None,
    window: UpdateWindow = None,
    offset: Offset = None,
    sampling_rate: UpdateSamplingRate = None,
    min_samples: UpdateMinSamples = None,
    cron: Cron = None,
    no_cron: Annotated[
        bool, typer.Option("--no-cron", help="Delete the schedule --cron made (as --cron '').")
    ] = False,
    webhook: Webhook = None,
    webhook_secret_setting: WebhookSecret = None,
    no_webhook: Annotated[
        bool, typer.Option("--no-webhook", help="Stop calling the webhook.")
    ] = False,
    email: UpdateEmails = [],  # noqa: B006
    no_email: Annotated[bool, typer.Option("--no-email", help="Stop emailing alerts.")] = False,
    alert_log: UpdateAlertLog = None,
    cooldown: UpdateCooldown = None,
    performance_threshold: PerformanceThresholds = [],  # noqa: B006
    no_performance: Annotated[
        bool, typer.Option("--no-performance", help="Stop watching the live metrics.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Change a monitor; what no option names stays as it is.

    Objective flags change the objectives in place: --threshold adds or changes one field's
    threshold, --no-skew turns skew off. --email replaces the addresses.

    Example: conveyor monitors update churn-drift --model churn@champion --threshold tenure=0.2 --no-skew
    """
    if schema is not None and schema_from_model:
        raise UsageError("give --schema or --schema-from-model, not both")
    if cron is not None and no_cron:
        raise UsageError("give --cron or --no-cron, not both")
    if cron == "":  # --cron "": as --no-cron
        cron, no_cron = None, True
    if (webhook is not None or webhook_secret_setting is not None) and no_webhook:
        raise UsageError("give --webhook or --no-webhook, not both")
    if email and no_email:
        raise UsageError("give --email or --no-email, not both")
    changes: dict[str, Any] = {}
    named = {
        "target": model,
        "display_name": display_name,
        "training_dataset": baseline,
        "window": window,
        "offset": offset,
        "sampling_rate": sampling_rate,
        "min_samples": min_samples,
    }
    changes.update({k: v for k, v in named.items() if v is not None})
    if schema is not None:
        changes["model_monitoring_schema"] = _read_json(schema, "--schema")
    elif schema_from_model:
        changes["model_monitoring_schema"] = None
    flags = _ObjectiveFlags.of(
        feature_drift,
        skew,
        output_drift,
        feature,
        numeric_threshold,
        categorical_threshold,
        threshold,
        categorical_metric,
    )
    from conveyor.automation import monitor_schedules

    with _home() as home:
        monitors = home.monitors
        current = monitors.get(name)
        if cron is not None:
            monitor_schedules.check_cron(home.schedules, name, cron)
        if flags.given:
            fields = current.model_monitoring_schema
            if "model_monitoring_schema" in changes:  # the objectives go with the new schema
                fields = monitors.schema_for(
                    changes.get("target", current.target), changes["model_monitoring_schema"]
                )
            changes["tabular_objective"] = flags.applied(
                current.tabular_objective.to_json(), fields
            )
        if performance_threshold or no_performance:
            if performance_threshold and no_performance:
                raise UsageError("give --performance-threshold or --no-performance, not both")
            objective = changes.get("tabular_objective") or current.tabular_objective.to_json()
            spec = objective.get(PERFORMANCE) or {}
            bounds = _metric_bounds(performance_threshold)
            objective[PERFORMANCE] = (
                None
                if no_performance
                else {**spec, "thresholds": {**spec.get("thresholds", {}), **bounds}}
            )
            changes["tabular_objective"] = objective
        notification = _notification(
            current.notification_spec.to_json(),
            webhook,
            webhook_secret_setting,
            email,
            alert_log,
            cooldown,
            clear=no_webhook,
            no_email=no_email,
        )
        if notification != current.notification_spec.to_json():
            changes["notification_spec"] = notification
        changed = monitors.update(name, **changes) if changes else current
        if cron is not None:
            monitor_schedules.keep(home.schedules, name, cron)
        elif no_cron:
            monitor_schedules.drop(home.schedules, name)
        schedule = monitor_schedules.schedule_of(home.schedules, name)
    if as_json:
        print_json(_json(changed, schedule))
        return
    out.print(
        f"Updated monitor {changed.name} of {_target(changed)}: {_objectives_text(changed)}"
        + _schedule_text(schedule),
        markup=False,
    )


@app.command()
def delete(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    as_json: JsonOption = False,
) -> None:
    """Delete a monitor with its jobs' records (metrics, alerts), and the schedule its
    --cron made; the executions that recorded its jobs stay in the metadata store. Refused
    while another schedule runs its jobs.

    Example: conveyor monitors delete churn-drift
    """
    from conveyor.automation import monitor_schedules

    with _home() as home:
        home.monitors.get(name)  # an unknown monitor: said before anything goes
        monitor_schedules.check_deletable(home.schedules, name)
        schedule = monitor_schedules.drop(home.schedules, name)
        jobs = home.monitors.delete(name)
    if as_json:
        print_json({"deleted": name, "jobs_deleted": jobs, "schedule_deleted": schedule})
    else:
        out.print(
            f"Deleted monitor {name}{', its schedule' if schedule else ''} and the records of "
            f"{jobs} job{'s' if jobs != 1 else ''}",
            markup=False,
        )


@app.command()
def alerts(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    feature: Annotated[str | None, typer.Option(help="Only the alerts of this field.")] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            help="Only this objective's: feature_drift, feature_skew, "
            "prediction_output_drift, model_performance."
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only anomaly or recovery alerts.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only alerts raised since: a duration back (30m, 12h, 7d) or a date."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Only alerts raised before: a duration back (1h) or a date."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many alerts, the newest.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List a monitor's alerts, newest first, with the state of each delivery (the alert
    log, the webhook, each email address).

    Example: conveyor monitors alerts churn-drift --kind anomaly --since 7d
    """
    from conveyor.client import parse_since

    start = None if since is None else parse_since(since)
    end = None if until is None else parse_since(until)
    with _monitors() as monitors:
        found = monitors.search_alerts(
            name,
            feature=feature,
            objective=objective,
            kind=kind,
            start_time=start,
            end_time=end,
            limit=limit,
        )
        sent = monitors.deliveries(*[a.id for a in found])
    by_alert: dict[int, list[Any]] = {}
    for delivery in sent:
        by_alert.setdefault(delivery.alert_id, []).append(delivery)
    if as_json:
        print_json(
            [
                {**a.to_json(), "deliveries": [d.to_json() for d in by_alert.get(a.id, [])]}
                for a in found
            ]
        )
        return
    if not found:
        out.print(f"No alerts of {name} match.", markup=False)
        return
    table = Table(
        "RAISED (UTC)", "ID", "OBJECTIVE", "FEATURE", "KIND", "VALUE", "THRESHOLD",
        "DELIVERIES", box=None,
    )  # fmt: skip
    for a in found:
        table.add_row(
            when(a.created_at),
            str(a.id),
            a.objective.value,
            a.feature,
            a.kind.value,
            "-" if a.value is None else rounded(a.value),
            "-" if a.threshold is None else rounded(a.threshold),
            ", ".join(_delivery_text(d) for d in by_alert.get(a.id, [])) or "-",
        )
    print_table(table)


@app.command()
def deliver(as_json: JsonOption = False) -> None:
    """Send the alerts waiting to be delivered now (the alert log, webhooks, email), each
    once however many processes deliver; exit 1 when an attempt failed.

    A failed delivery is retried later with a growing wait (30s, 1m, 2m, ... at most 1h)
    and given up after 10 attempts, or at once when the receiver refused it (a 4xx).

    Example: conveyor monitors deliver
    """
    with _monitors() as monitors:
        attempted = monitors.deliver_alerts()
    failed = [d for d in attempted if d.state.value != "DELIVERED"]
    if as_json:
        print_json([d.to_json() for d in attempted])
    elif not attempted:
        out.print("No alert deliveries are due.")
    else:
        for d in attempted:
            line = f"alert {d.alert_id}: {d.channel.value} {d.destination}".rstrip()
            if d.state.value == "DELIVERED":
                out.print(f"Sent {line}", markup=False)
            elif d.state.value == "FAILED":
                out.print(f"Failed for good {line}: {d.last_error}", markup=False)
            else:
                out.print(
                    f"Failed {line}: {d.last_error}; retried after {when(d.next_attempt_at)} UTC",
                    markup=False,
                )
        out.print(f"{len(attempted) - len(failed)} sent, {len(failed)} failed", markup=False)
    if failed:
        raise typer.Exit(1)


def _delivery_text(d: Any) -> str:
    """`webhook DELIVERED`, `email ops@example.com PENDING (2 attempts)`."""
    where = d.channel.value if d.channel.value != "email" else f"email {d.destination}"
    tried = f" ({d.attempts} attempts)" if d.state.value != "DELIVERED" and d.attempts else ""
    return f"{where} {d.state.value}{tried}"


@app.command()
def run(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    window: Annotated[
        str | None,
        typer.Option(help="The target window's length (1h, 1d, 1w) [default: the monitor's]."),
    ] = None,
    offset: Annotated[
        str | None,
        typer.Option(help="End the window this long before now [default: the monitor's]."),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="The window's start: an ISO time, or a duration back (2d).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="The window's end: an ISO time, or a duration back (1d).")
    ] = None,
    sampling_rate: Annotated[
        float | None,
        typer.Option(
            help="The share of the window's rows read, above 0 to 1 [default: the monitor's]."
        ),
    ] = None,
    fail_on_anomaly: Annotated[
        bool, typer.Option(help="Exit 1 when a field is an anomaly (for CI).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run one monitoring job now: compare the target window of the prediction log with the
    window before it (drift, output drift) and with the training data (skew), and send the
    alerts it raised. Prints each field's distance, threshold, chance level and status.
    Exit 0 even with anomalies (unless --fail-on-anomaly), 1 when the job failed.

    Example: conveyor monitors run churn-drift --window 1h
    """
    from conveyor.client import parse_since

    start_time = None if start is None else parse_since(start)
    end_time = None if end is None else parse_since(end)
    with _monitors() as monitors:
        job = monitors.run(
            name,
            window=window,
            offset=offset,
            start_time=start_time,
            end_time=end_time,
            sampling_rate=sampling_rate,
        )
        metrics = monitors.job_metrics(job.id)
    if as_json:
        print_json({**job.to_json(), "metrics": [m.to_json() for m in metrics]})
    else:
        _print_job(job, metrics)
    if job.state.value == "JOB_STATE_FAILED":
        raise typer.Exit(1)
    if fail_on_anomaly and any(m.anomaly for m in metrics):
        raise typer.Exit(1)


@app.command()
def jobs(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    limit: Annotated[int, typer.Option(help="At most this many jobs, the newest.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List a monitor's jobs, newest first: state, window, version watched, anomalies.

    Example: conveyor monitors jobs churn-drift
    """
    with _monitors() as monitors:
        found = monitors.jobs(name, limit=limit)
    if as_json:
        print_json([j.to_json() for j in found])
        return
    if not found:
        out.print(f"No jobs of {name} yet: `conveyor monitors run {name}` runs one.", markup=False)
        return
    table = Table("ID", "STATE", "WINDOW (UTC)", "VERSION", "ANOMALIES", "ROWS", "TOOK", box=None)
    for j in found:
        summary = j.summary or {}
        anomalies = sum(c.get("anomaly", 0) for c in summary.get("objectives", {}).values())
        table.add_row(
            str(j.id),
            state_text(_state(j)),
            f"{when(j.window_start)} to {when(j.window_end)}",
            "-" if j.model_version_id is None else f"{j.model}@{j.model_version_id}",
            "-" if j.error else str(anomalies),
            str(summary.get("rows_read", "-")),
            seconds_text(summary.get("duration_seconds", 0.0)),
        )
    print_table(table)


@app.command()
def metrics(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    feature: Annotated[str | None, typer.Option(help="Only this field's metrics.")] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            help="Only this objective's: feature_drift, feature_skew, prediction_output_drift."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only windows ending after: a duration back (7d) or a date.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only windows ending by: a duration back (1d) or a date.")
    ] = None,
    anomalies: Annotated[bool, typer.Option("--anomalies", help="Only anomalies.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many metrics, the latest.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List a monitor's metrics, oldest window first: per job, objective and field the
    distance, threshold, chance level and status.

    Example: conveyor monitors metrics churn-drift --feature plan --since 7d
    """
    from conveyor.client import parse_since

    with _monitors() as monitors:
        found = monitors.search_metrics(
            name,
            feature=feature,
            objective=objective,
            start_time=None if since is None else parse_since(since),
            end_time=None if until is None else parse_since(until),
            anomalies_only=anomalies,
            limit=limit,
        )
    if as_json:
        print_json([m.to_json() for m in found])
        return
    if not found:
        out.print(f"No metrics of {name} match.", markup=False)
        return
    print_table(_metrics_table(found, with_window=True))


def _state(job: Any) -> str:
    return job.state.value.removeprefix("JOB_STATE_")


def _status(m: Any) -> str:
    return "anomaly" if m.anomaly else "insufficient data" if m.insufficient_data else "normal"


def _metrics_table(found: list[Any], *, with_window: bool = False) -> Table:
    heads = ["WINDOW END (UTC)", "JOB"] if with_window else []
    table = Table(*heads, "OBJECTIVE", "FEATURE", "DISTANCE", "THRESHOLD", "CHANCE", "N",
                  "STATUS", box=None)  # fmt: skip
    for m in found:
        cells = [when(m.window_end), str(m.job_id)] if with_window else []
        table.add_row(
            *cells,
            m.objective.value,
            m.feature,
            "-" if m.value is None else rounded(m.value),
            "-" if m.threshold is None else rounded(m.threshold),
            "-" if m.chance_level is None else rounded(m.chance_level),
            str(m.target_count),
            Text(
                _status(m), style="bold red" if m.anomaly else "dim" if m.insufficient_data else ""
            ),
        )
    return table


def _print_job(job: Any, found: list[Any]) -> None:
    window = f"{when(job.window_start)} to {when(job.window_end)} UTC"
    version = "" if job.model_version_id is None else f" of {job.model}@{job.model_version_id}"
    out.print(Text.assemble(f"Job {job.id}{version}, window {window}: ", state_text(_state(job))))
    if job.error:
        out.print(f"Error: {job.error}", markup=False)
        return
    if found:
        print_table(_metrics_table(found))
    summary = job.summary or {}
    counts = {"anomaly": 0, "normal": 0, "insufficient_data": 0}
    for per in summary.get("objectives", {}).values():
        for key in counts:
            counts[key] += per.get(key, 0)
    raised = summary.get("alerts", {})
    out.print(
        f"{counts['anomaly']} anomalies, {counts['normal']} normal, "
        f"{counts['insufficient_data']} insufficient data; {summary.get('rows_read', 0)} rows "
        f"from {summary.get('files_read', 0)} files in "
        f"{seconds_text(summary.get('duration_seconds', 0.0))}; alerts raised: "
        f"{raised.get('anomaly', 0)} anomaly, {raised.get('recovery', 0)} recovery",
        markup=False,
    )


# Building the fields from the flags


@dataclass(frozen=True)
class _ObjectiveFlags:
    """What the objective options of `create` and `update` ask for."""

    toggles: dict[str, bool | None]
    features: list[str]
    numeric_threshold: float | None
    categorical_threshold: float | None
    thresholds: dict[str, float]
    categorical_metric: CategoricalMetric | None

    @classmethod
    def of(
        cls,
        feature_drift: bool | None,
        skew: bool | None,
        output_drift: bool | None,
        features: list[str],
        numeric_threshold: float | None,
        categorical_threshold: float | None,
        thresholds: list[str],
        categorical_metric: CategoricalMetric | None,
    ) -> _ObjectiveFlags:
        toggles = {"feature_drift": feature_drift, "skew": skew, "output_drift": output_drift}
        by_field = _thresholds(thresholds)
        _check_threshold(numeric_threshold, "--numeric-threshold")
        _check_threshold(categorical_threshold, "--categorical-threshold")
        return cls(
            toggles,
            features,
            numeric_threshold,
            categorical_threshold,
            by_field,
            categorical_metric,
        )

    @property
    def given(self) -> bool:
        """Whether any objective option was given (else the objectives stay as they are)."""
        values = (
            self.features,
            self.numeric_threshold,
            self.categorical_threshold,
            self.thresholds,
            self.categorical_metric,
        )
        return any(v is not None for v in self.toggles.values()) or any(
            v not in (None, [], {}) for v in values
        )

    def applied(self, base: dict[str, Any], schema: ModelMonitoringSchema) -> dict[str, Any]:
        """The tabular objective `base` with the flags applied: turned on or off,
        thresholds set on every objective on, a field's threshold on each objective that
        watches it."""
        objective = {key: None if spec is None else dict(spec) for key, spec in base.items()}
        for flag, key in OBJECTIVES.items():
            wanted = self.toggles[flag]
            if wanted is False:
                objective[key] = None
            elif wanted and objective.get(key) is None:
                objective[key] = {}
        feature_names = {f.name for f in schema.feature_fields}
        prediction_names = {f.name for f in schema.prediction_fields}
        for name in self.thresholds:
            if name not in feature_names | prediction_names:
                known = ", ".join(sorted(feature_names | prediction_names)) or "none"
                raise UsageError(
                    f"--threshold {name}=...: {name!r} is not a field of the monitor's schema "
                    f"(fields: {known})"
                )
        for key, spec in objective.items():
            if spec is None or key not in OBJECTIVES.values():  # the performance spec: apart
                continue
            on_predictions = key == OBJECTIVES["output_drift"]
            if self.features and not on_predictions:
                spec["features"] = list(self.features)
            if self.numeric_threshold is not None:
                spec["default_numeric_alert_threshold"] = self.numeric_threshold
            if self.categorical_threshold is not None:
                spec["default_categorical_alert_threshold"] = self.categorical_threshold
            if self.categorical_metric is not None:
                spec["categorical_metric_type"] = self.categorical_metric.value
            names = prediction_names if on_predictions else feature_names
            watched = set(spec.get("features") or names)
            mine = {k: v for k, v in self.thresholds.items() if k in names and k in watched}
            if mine:
                known_thresholds = spec.get("feature_alert_thresholds", {})
                spec["feature_alert_thresholds"] = {**known_thresholds, **mine}
        return objective


def _notification(
    base: dict[str, Any] | None,
    webhook: str | None,
    secret: str | None,
    emails: list[str],
    alert_log: bool | None,
    cooldown: str | None,
    *,
    clear: bool,
    no_email: bool = False,
) -> dict[str, Any] | None:
    if base is None and not (webhook or secret or emails or alert_log is not None or cooldown):
        return None  # the defaults
    spec = dict(base or {})
    if clear:
        spec["webhook"] = None
    elif webhook is not None or secret is not None:
        current = spec.get("webhook") or {}
        url = webhook or current.get("url")
        if url is None:
            raise UsageError("--webhook-secret-setting needs a webhook: give --webhook URL too")
        spec["webhook"] = {
            "url": url,
            "secret_setting": secret if secret is not None else current.get("secret_setting"),
        }
    if emails:
        spec["user_emails"] = list(emails)
    elif no_email:
        spec["user_emails"] = []
    if alert_log is not None:
        spec["enable_alert_log"] = alert_log
    if cooldown is not None:
        spec["cooldown"] = cooldown
    return spec


def _thresholds(values: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in values:
        name, sep, value = item.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name or number is None or not 0 <= number <= 1:
            raise UsageError(
                f"--threshold takes FEATURE=VALUE with a number from 0 to 1, got {item!r}"
            )
        found[name] = number
    return found


def _metric_bounds(values: list[str]) -> dict[str, float]:
    """`--performance-threshold METRIC=VALUE`s; the library checks the metric and bound."""
    found: dict[str, float] = {}
    for item in values:
        name, sep, value = item.rpartition("=")
        try:
            found[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise UsageError(
                f"--performance-threshold takes METRIC=VALUE (accuracy=0.8, rmse=3), got {item!r}"
            )
    return found


def _check_threshold(value: float | None, option: str) -> None:
    if value is not None and not 0 <= value <= 1:
        raise UsageError(f"{option} {value:g} is not a threshold: give a number from 0 to 1")


def _read_json(path: Path | None, option: str) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise UsageError(f"{option} {path} is not valid JSON: {exc}") from None


def _json(m: ModelMonitor, schedule: ScheduleRecord | None) -> dict[str, Any]:
    """The monitor as JSON, with the cron of its schedule (None: jobs on demand)."""
    return {**m.to_json(), "cron": schedule.cron if schedule else None}


def _schedule_text(schedule: ScheduleRecord | None) -> str:
    return f"; jobs at '{schedule.cron}' (schedule {schedule.name})" if schedule else ""


def _schedule_line(schedule: ScheduleRecord | None) -> str:
    if schedule is None:
        return "none (jobs on demand; --cron makes a schedule)"
    zone = "" if "TZ=" in schedule.cron else " (UTC)"
    return f"{schedule.cron}{zone}, schedule {schedule.name} ({schedule.state.value})"


# Printing


def _target(m: ModelMonitor) -> str:
    if m.model_version_id is None:
        return f"{m.target} (names no version now)"
    if m.alias is None:
        return m.target
    return f"{m.target} (version {m.model_version_id})"


NAMES = {
    "feature_drift": "feature drift",
    "prediction_output_drift": "output drift",
    "feature_skew": "skew",
    "model_performance": "performance",
}
"""Each objective as the command line says it."""


def _objectives_text(m: ModelMonitor) -> str:
    names = [NAMES[o.value] for o in m.tabular_objective.specs()]
    if m.tabular_objective.model_performance_spec is not None:
        names.append(NAMES["model_performance"])
    return ", ".join(names) or "none"


def _show(m: ModelMonitor, schedule: ScheduleRecord | None) -> None:
    out.print(f"Monitor {m.name}", style="bold", markup=False)
    baseline = m.training_dataset
    if "uri" in baseline:
        baseline_text = baseline["uri"]
    elif "artifact_id" in baseline:
        baseline_text = f"artifact {baseline['artifact_id']}"
    else:
        baseline_text = "the dataset that trained the version (through lineage)"
    n = m.notification_spec
    channels = [
        *(["alert log"] if n.enable_alert_log else []),
        *([f"webhook {n.webhook.url}"] if n.webhook else []),
        *(f"email {address}" for address in n.user_emails),
    ]
    window = m.window + (f", ending {m.offset} before now" if m.offset else "")
    rows_read = "every row" if m.sampling_rate == 1 else f"{rounded(m.sampling_rate)} of rows"
    rows = [
        ("display name", m.display_name if m.display_name != m.name else ""),
        ("watches", _target(m) + (f", following {m.alias}" if m.alias else ", pinned")),
        ("baseline", baseline_text),
        ("window", f"{window}; {rows_read}, at least {m.min_samples}"),
        ("schedule", _schedule_line(schedule)),
        ("alerts to", ", ".join(channels) or "nowhere (recorded only)"),
        ("cooldown", n.cooldown),
        ("performance", _performance_text(m)),
        ("created", f"{when(m.created_at)} UTC by {m.created_by}"),
        ("updated", f"{when(m.updated_at)} UTC"),
    ]
    for key, value in rows:
        if value:
            out.print(f"  {key + ':':<14} {value}", markup=False)
    schema = m.model_monitoring_schema
    headers = (NAMES[o.value].upper() for o in _objective_order())
    table = Table("FIELD", "KIND", "TYPE", *headers, box=None)
    specs = m.tabular_objective.specs()
    for kind, fields in (
        ("feature", schema.feature_fields),
        ("prediction", schema.prediction_fields),
        ("ground truth", schema.ground_truth_fields),
    ):
        for field in fields:
            cells = []
            for objective in _objective_order():
                spec = specs.get(objective)
                part = schema.fields_of(objective)
                if spec is None or field not in spec.watched(part):
                    cells.append("-")
                else:
                    cells.append(
                        f"{spec.metric_type(field).value} > {rounded(spec.threshold(field))}"
                    )
            table.add_row(field.name, kind, field.data_type.value, *cells)
    print_table(table)


def _objective_order() -> list[Any]:
    """The drift objectives, each a column of `show`'s table (performance is a line)."""
    from conveyor.monitoring.records import DRIFT_OBJECTIVES

    return list(DRIFT_OBJECTIVES)


def _performance_text(m: ModelMonitor) -> str:
    spec = m.tabular_objective.model_performance_spec
    if spec is None:
        return ""
    from conveyor.monitoring import PerformanceMetric

    bounds = [
        f"{name} {'<' if PerformanceMetric(name).higher_is_better else '>'} {rounded(bound)}"
        for name, bound in spec.thresholds.items()
    ]
    least = spec.min_samples or m.min_samples
    alerts = f"alerts when {', '.join(bounds)}" if bounds else "no thresholds"
    return f"live metrics of labelled predictions ({alerts}; at least {least} labels)"


# Ground truth and the report


@app.command()
def feedback(
    name: Annotated[str, typer.Argument(help="The monitor (its model gets the labels).")],
    labels: Annotated[
        Path,
        typer.Option(
            "--labels", help="A .parquet or .csv file: request_id, instance_index, label."
        ),
    ],
    request_id_column: Annotated[
        str, typer.Option(help="The column of the requests' ids (X-Request-Id, OIP id).")
    ] = "request_id",
    index_column: Annotated[
        str, typer.Option(help="The column of the instances' positions in their requests.")
    ] = "instance_index",
    label_column: Annotated[str, typer.Option(help="The column of the true values.")] = "label",
    as_json: JsonOption = False,
) -> None:
    """Send ground truth labels for logged predictions: each row names an instance by its
    request's id and its position in the request (0 when the file has no such column).

    Jobs then report the model's live metrics (--performance-threshold on create or update).

    Example: conveyor monitors feedback churn-live --labels labels.csv --label-column churned
    """
    with _monitors() as monitors:
        summary = monitors.feedback(
            name,
            labels,
            request_id_column=request_id_column,
            index_column=index_column,
            label_column=label_column,
        )
    if as_json:
        print_json(summary.to_json())
        return
    out.print(
        f"Took {summary.rows} label{'s' if summary.rows != 1 else ''} for {summary.model} "
        f"(artifact {summary.artifact_id}): {summary.matched} match a logged prediction",
        markup=False,
    )
    if summary.unmatched:
        shown = ", ".join(f"{e['request_id']}#{e['instance_index']}" for e in summary.examples)
        out.print(
            f"{summary.unmatched} match none yet ({shown}): their predictions are not logged "
            "(yet), or the ids are in another column (--request-id-column, --index-column)",
            markup=False,
        )


@app.command()
def report(
    job_id: Annotated[int, typer.Argument(help="The job (conveyor monitors jobs MONITOR).")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the page here (else to stdout).")
    ] = None,
    history: Annotated[
        int, typer.Option(help="Show the distances over this many jobs, this one the last.")
    ] = 20,
) -> None:
    """Write a job's report: one self-contained HTML page with, per field, the baseline and
    target distributions, the distance over the last jobs, and the alerts.

    Example: conveyor monitors report 42 --html report.html
    """
    import sys

    with _monitors() as monitors:
        page = monitors.report(job_id, history=history)
    if html is None:
        sys.stdout.write(page + "\n")
        return
    _write_atomically(html, page)
    out.print(f"Wrote the report of job {job_id} to {html} ({len(page) // 1024} KB)", markup=False)


def _write_atomically(path: Path, text: str) -> None:
    """`text` at `path`, whole or not at all: written beside it, then renamed over it."""
    import os
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--html {path}: the folder {folder} does not exist")
    try:
        handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(staging, path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"--html {path}: cannot write it ({exc.strerror})") from None
