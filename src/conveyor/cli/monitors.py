"""`conveyor monitors`: model monitors from the command line; thin calls to `Monitors`.

The flags build the monitor's fields (Vertex AI's `tabular_objective` and
`notification_spec`) and the library checks them; a threshold given per feature goes to
every objective that watches that field.
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

from conveyor.cli._output import JsonOption, out, print_json, print_table, rounded, when
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.monitoring import ModelMonitor, ModelMonitoringSchema, Monitors

app = typer.Typer(
    name="monitors",
    help="Model monitors: watch a model's traffic for drift and training-serving skew.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

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
    str | None, typer.Option(help="Run jobs on this schedule, in UTC: '0 * * * *' is hourly.")
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
def _monitors() -> Iterator[Monitors]:
    """The monitors of the environment's home (imported when used: `conveyor --help` stays
    quick)."""
    from conveyor.home import open_home

    with open_home() as home:
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
    as_json: JsonOption = False,
) -> None:
    """Create a model monitor: feature drift, training-serving skew and prediction output
    drift, each alerting above 0.3 unless told otherwise.

    The schema comes from the registered version (its input schema; its output as the
    prediction); a version without one needs --schema.

    Example: conveyor monitors create churn-drift --model churn@production --threshold plan=0.1 --webhook https://hooks.example.com/ml --cron "0 * * * *"
    """
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
    with _monitors() as monitors:
        objective = None
        if flags.given:
            fields = monitors.schema_for(model, schema_given)
            base = {spec: {} for spec in OBJECTIVES.values()}
            if not fields.prediction_fields:
                base["prediction_output_drift_spec"] = None
            objective = flags.applied(base, fields)
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
            cron=cron,
        )
    if as_json:
        print_json(made.to_json())
        return
    out.print(
        f"Created monitor {made.name} of {_target(made)}: {_objectives_text(made)}",
        markup=False,
    )


@app.command("list")
def list_monitors(as_json: JsonOption = False) -> None:
    """List the monitors, the version each watches now, and their schedules.

    Example: conveyor monitors list --json
    """
    with _monitors() as monitors:
        found = monitors.list()
    if as_json:
        print_json([m.to_json() for m in found])
        return
    if not found:
        out.print("No monitors yet: `conveyor monitors create NAME --model MODEL@ALIAS` makes one.")
        return
    table = Table(
        "NAME", "WATCHES", "OBJECTIVES", "WINDOW", "SCHEDULE (UTC)", "UPDATED (UTC)", box=None
    )
    for m in found:
        table.add_row(
            m.name, _target(m), _objectives_text(m), m.window, m.cron or "-", when(m.updated_at)
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
    with _monitors() as monitors:
        monitor = monitors.get(name)
    if as_json:
        print_json(monitor.to_json())
    else:
        _show(monitor)


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
        bool, typer.Option("--no-cron", help="Stop running jobs on a schedule.")
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
        "cron": cron,
    }
    changes.update({k: v for k, v in named.items() if v is not None})
    if no_cron:
        changes["cron"] = None
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
    with _monitors() as monitors:
        current = monitors.get(name)
        if flags.given:
            fields = current.model_monitoring_schema
            if "model_monitoring_schema" in changes:  # the objectives go with the new schema
                fields = monitors.schema_for(
                    changes.get("target", current.target), changes["model_monitoring_schema"]
                )
            changes["tabular_objective"] = flags.applied(
                current.tabular_objective.to_json(), fields
            )
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
        changed = monitors.update(name, **changes)
    if as_json:
        print_json(changed.to_json())
        return
    out.print(
        f"Updated monitor {changed.name} of {_target(changed)}: {_objectives_text(changed)}",
        markup=False,
    )


@app.command()
def delete(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    as_json: JsonOption = False,
) -> None:
    """Delete a monitor with its jobs' records (metrics, alerts); the executions that
    recorded its jobs stay in the metadata store.

    Example: conveyor monitors delete churn-drift
    """
    with _monitors() as monitors:
        jobs = monitors.delete(name)
    if as_json:
        print_json({"deleted": name, "jobs_deleted": jobs})
    else:
        out.print(
            f"Deleted monitor {name} and the records of {jobs} job{'s' if jobs != 1 else ''}",
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
            if spec is None:
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
}
"""Each objective as the command line says it."""


def _objectives_text(m: ModelMonitor) -> str:
    return ", ".join(NAMES[o.value] for o in m.tabular_objective.specs()) or "none"


def _show(m: ModelMonitor) -> None:
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
        ("schedule", f"{m.cron} (UTC)" if m.cron else "none (jobs on demand)"),
        ("alerts to", ", ".join(channels) or "nowhere (recorded only)"),
        ("cooldown", n.cooldown),
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
    from conveyor.monitoring import Objective

    return list(Objective)
