"""What a monitor may hold, checked when it is created or changed: every refusal is a
`MonitorUsageError` whose message starts with the field it is about
(`tabular_objective.feature_drift_spec.default_numeric_alert_threshold: ...`).

Each `check_*` takes what a caller gives (the records of `conveyor.monitoring.records`, or
the same as JSON-like dicts and lists, as the REST API and the command line pass them)
and returns the record, so the store keeps one shape. Durations are one grammar
everywhere (`parse_duration`): a whole number and a unit, `30s`, `15m`, `1h`, `1d`, `1w`.

    >>> parse_duration("1h", "window")
    datetime.timedelta(seconds=3600)
    >>> check_training_dataset("12")
    {'artifact_id': 12}
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from conveyor.monitoring.errors import MonitorUsageError
from conveyor.monitoring.records import (
    DEFAULT_COOLDOWN,
    DEFAULT_THRESHOLD,
    DRIFT_OBJECTIVES,
    DataDriftSpec,
    DataType,
    FieldSchema,
    MetricType,
    ModelMonitoringSchema,
    ModelPerformanceSpec,
    NotificationSpec,
    Objective,
    PerformanceMetric,
    TabularObjective,
    Task,
    WebhookSpec,
)
from conveyor.registry.names import MODEL_NAME
from conveyor.store.metadata.kinds import MAX_ID

MONITOR_NAME = MODEL_NAME
"""A monitor is named as a model is: a letter, then letters, digits, `-` and `_`, up to 128."""

REGISTRY_TYPES = {
    "float": DataType.FLOAT,
    "integer": DataType.INTEGER,
    "string": DataType.CATEGORICAL,
    "boolean": DataType.BOOLEAN,
}
"""A registry schema's feature types as monitoring data types: a model's string features
are categories."""
PREDICTION = FieldSchema("prediction", DataType.CATEGORICAL)
"""The prediction field of a model whose version has no output schema."""
LINEAGE = {"source": "lineage"}
"""The default baseline: the dataset that trained the version, found through lineage."""
DATA_FORMATS = ("csv", "parquet", "jsonl")

MAX_FIELD_NAME = 255
MAX_FIELDS = 10_000
MAX_MIN_SAMPLES = 10**12
MAX_EMAILS = 100
MAX_URL = 2048
_DURATION = re.compile(r"([0-9]{1,9})([smhdw])")
DURATION_PATTERN = f"^{_DURATION.pattern}$"
"""What a duration looks like, for the REST API's OpenAPI document."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_DURATION = timedelta(days=3660)
SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
"""The name of the environment variable holding a webhook's signing key."""
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


def check_monitor_name(name: Any) -> str:
    if not isinstance(name, str) or not MONITOR_NAME.fullmatch(name):
        raise MonitorUsageError(
            f"name: monitor name {name!r} is not valid: start with a letter and use letters, "
            "digits, '-' and '_', up to 128 characters (for example churn-drift)"
        )
    return name


def check_display_name(text: Any, name: str) -> str:
    """The display name, or the monitor's name when none is given."""
    if text is None:
        return name
    if not isinstance(text, str) or not 0 < len(text) <= 128 or not _is_text(text):
        raise MonitorUsageError(
            f"display_name: {_short(text)} is not a display name; give 1 to 128 characters of text"
        )
    return text


# The schema


def schema_of_version(
    input_schema: Sequence[Mapping[str, Any]] | None,
    output_schema: Sequence[Mapping[str, Any]] | None,
    reference: str,
) -> ModelMonitoringSchema:
    """The monitoring schema a registered version implies: its input schema's features, and
    its output schema's fields as predictions (one categorical `prediction` without one)."""
    if not input_schema:
        raise MonitorUsageError(
            f"model_monitoring_schema: {reference} has no input schema in the registry, so the "
            "monitor cannot know its features. Give the monitor a schema (--schema FILE on "
            "the command line, model_monitoring_schema in Python and REST: "
            '{"feature_fields": [{"name": "tenure", "data_type": "integer"}, ...]}), or '
            "upload the version with an input schema (conveyor models upload --input-schema)"
        )
    return ModelMonitoringSchema(
        feature_fields=_registry_fields(input_schema),
        prediction_fields=predictions_of(output_schema),
    )


def predictions_of(output_schema: Sequence[Mapping[str, Any]] | None) -> list[FieldSchema]:
    """The prediction fields a version's output schema implies: one categorical
    `prediction` when it has none."""
    return _registry_fields(output_schema) if output_schema else [PREDICTION]


def _registry_fields(schema: Sequence[Mapping[str, Any]]) -> list[FieldSchema]:
    return [
        FieldSchema(f["name"], REGISTRY_TYPES.get(f.get("type", ""), DataType.CATEGORICAL))
        for f in schema
    ]


def check_schema(value: Any, predictions: list[FieldSchema]) -> ModelMonitoringSchema:
    """A schema given by the caller. A list is its feature fields; fields may be written
    as the monitoring schema writes them (`{"name", "data_type"}`) or as the registry does
    (`{"name", "type"}`, a string being categorical). Prediction fields left out are
    `predictions` (those the model's version implies)."""
    where = "model_monitoring_schema"
    if isinstance(value, ModelMonitoringSchema):
        value = value.to_json()
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        value = {"feature_fields": value}
    if not isinstance(value, Mapping):
        raise MonitorUsageError(
            f"{where}: give an object with feature_fields (and prediction_fields, "
            f"ground_truth_fields), not {_short(value)}"
        )
    _known_keys(value, ("feature_fields", "prediction_fields", "ground_truth_fields"), where)
    features = _fields(value.get("feature_fields"), f"{where}.feature_fields")
    if not features:
        raise MonitorUsageError(
            f"{where}.feature_fields: give at least one feature, like "
            '{"name": "tenure", "data_type": "integer"}'
        )
    given = value.get("prediction_fields")
    return ModelMonitoringSchema(
        feature_fields=features,
        prediction_fields=predictions
        if given is None
        else _fields(given, f"{where}.prediction_fields"),
        ground_truth_fields=_fields(
            value.get("ground_truth_fields"), f"{where}.ground_truth_fields"
        ),
    )


def _fields(value: Any, where: str) -> list[FieldSchema]:
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise MonitorUsageError(f"{where}: give a list of fields, not {_short(value)}")
    if len(value) > MAX_FIELDS:
        raise MonitorUsageError(
            f"{where}: {len(value)} fields; a schema holds at most {MAX_FIELDS}"
        )
    found: list[FieldSchema] = []
    seen: set[str] = set()
    for position, field in enumerate(value):
        here = f"{where}.{position}"
        if isinstance(field, FieldSchema):
            field = field.to_json()
        if not isinstance(field, Mapping):
            raise MonitorUsageError(
                f'{here}: a field is an object like {{"name": "tenure", "data_type": '
                f'"integer"}}, not {_short(field)}'
            )
        _known_keys(field, ("name", "data_type", "type", "description"), here)
        name = field.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_FIELD_NAME or not _is_text(name):
            raise MonitorUsageError(f"{here}.name: give the field's name, 1 to 255 characters")
        if name in seen:
            raise MonitorUsageError(f"{here}.name: field {name!r} appears twice in {where}")
        seen.add(name)
        found.append(FieldSchema(name, _data_type(field, f"{here}")))
    return found


def _data_type(field: Mapping[str, Any], where: str) -> DataType:
    if "data_type" in field:
        kind = field["data_type"]
        try:
            return DataType(kind)
        except ValueError:
            known = ", ".join(t.value for t in DataType)
            raise MonitorUsageError(
                f"{where}.data_type: {_short(kind)} is not a data type; use one of {known}"
            ) from None
    kind = field.get("type")
    if kind in REGISTRY_TYPES:
        return REGISTRY_TYPES[kind]
    raise MonitorUsageError(
        f"{where}.data_type: field {field.get('name')!r} needs a data_type (float, integer, "
        "categorical, boolean or string)"
    )


# The objectives


def check_objective(value: Any, schema: ModelMonitoringSchema) -> TabularObjective:
    """The objectives given, each spec checked against the fields of `schema` it watches.
    None turns every objective on with Vertex AI's defaults; in an object, a spec left out
    or null is off, and `{}` is on with the defaults."""
    where = "tabular_objective"
    if value is None:
        objective = TabularObjective()
        if len(schema.prediction_fields) != 1:  # none, or several: see below
            objective = dataclasses.replace(objective, prediction_output_drift_spec=None)
        return objective
    if isinstance(value, TabularObjective):
        value = value.to_json()
    if not isinstance(value, Mapping):
        raise MonitorUsageError(
            f"{where}: give an object with feature_drift_spec, prediction_output_drift_spec "
            f"and feature_skew_spec, not {_short(value)}"
        )
    _known_keys(value, [o.spec for o in Objective], where)
    specs: dict[str, Any] = {}
    for objective in DRIFT_OBJECTIVES:
        given = value.get(objective.spec)
        fields = schema.fields_of(objective)
        specs[objective.spec] = (
            None if given is None else _spec(given, fields, objective, f"{where}.{objective.spec}")
        )
    output = Objective.PREDICTION_OUTPUT_DRIFT.spec
    if specs[output] is not None and len(schema.prediction_fields) > 1:
        names = ", ".join(f.name for f in schema.prediction_fields)
        raise MonitorUsageError(
            f"{where}.{output}: the prediction log types a prediction only when it is a "
            f"single value, and this schema has {len(schema.prediction_fields)} prediction "
            f"fields ({names}); give one prediction field, or leave output drift off"
        )
    performance = value.get(Objective.MODEL_PERFORMANCE.spec)
    specs[Objective.MODEL_PERFORMANCE.spec] = (
        None
        if performance is None
        else check_performance(performance, f"{where}.{Objective.MODEL_PERFORMANCE.spec}")
    )
    if not any(specs.values()):
        raise MonitorUsageError(
            f"{where}: turn on at least one objective (feature_drift_spec, "
            "prediction_output_drift_spec, feature_skew_spec or model_performance_spec); a "
            "monitor with none watches nothing"
        )
    return TabularObjective(**specs)


def check_performance(value: Any, where: str = "model_performance_spec") -> ModelPerformanceSpec:
    """The live performance objective: `{"thresholds": {"accuracy": 0.8, "rmse": 3},
    "min_samples": 50, "task": "classification"}`, each part optional. A threshold of a
    metric where higher is better (accuracy, precision, recall, f1, balanced_accuracy
    from 0 to 1, r2 up to 1) is a floor; an error's (mae, mse, rmse, max_error, mape: 0
    and up) a ceiling."""
    if isinstance(value, ModelPerformanceSpec):
        value = value.to_json()
    if not isinstance(value, Mapping):
        raise MonitorUsageError(
            f'{where}: give an object like {{"thresholds": {{"accuracy": 0.8}}}}, not '
            f"{_short(value)}"
        )
    _known_keys(value, ("thresholds", "min_samples", "task"), where)
    thresholds = value.get("thresholds") or {}
    if not isinstance(thresholds, Mapping):
        raise MonitorUsageError(
            f'{where}.thresholds: give an object of metric to bound, like {{"accuracy": 0.8}}, '
            f"not {_short(thresholds)}"
        )
    checked: dict[str, float] = {}
    for name, bound in thresholds.items():
        metric = _performance_metric(name, f"{where}.thresholds")
        checked[metric] = _bound(metric, bound, f"{where}.thresholds.{metric}")
    kinds = {PerformanceMetric(m).classification: m for m in checked}
    if len(kinds) > 1:
        raise MonitorUsageError(
            f"{where}.thresholds: {kinds[True]} is a metric of classes, {kinds[False]} of "
            "numbers; give the thresholds of one task"
        )
    task = value.get("task")
    if task is not None and task not in tuple(Task):
        raise MonitorUsageError(
            f"{where}.task: {_short(task)} is not a task; use classification or regression "
            "(or leave it out: the predictions' type says)"
        )
    if task is not None:
        wrong = [
            m for m in checked if PerformanceMetric(m).classification != (task == "classification")
        ]
        if wrong:
            raise MonitorUsageError(f"{where}.thresholds.{wrong[0]}: not a metric of {task}")
    samples = value.get("min_samples")
    return ModelPerformanceSpec(
        thresholds=checked,
        min_samples=None if samples is None else check_min_samples(samples, f"{where}.min_samples"),
        task=None if task is None else Task(task),
    )


def _performance_metric(name: Any, where: str) -> str:
    if name not in tuple(PerformanceMetric):
        known = ", ".join(m.value for m in PerformanceMetric)
        raise MonitorUsageError(f"{where}: {_short(name)} is not a live metric; use one of {known}")
    return str(name)


def _bound(name: str, value: Any, where: str) -> float:
    metric = PerformanceMetric(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MonitorUsageError(f"{where}: {_short(value)} is not a number")
    if metric is PerformanceMetric.R2:
        ok, rule = value <= 1, "a number up to 1 (alert below it)"
    elif metric.higher_is_better:
        ok, rule = 0 <= value <= 1, "a number from 0 to 1 (alert below it)"
    else:
        ok, rule = value >= 0, "a number from 0 (alert above it)"
    if not ok:
        raise MonitorUsageError(f"{where}: {_short(value)} is not a bound of {name}; give {rule}")
    return float(value)


def _spec(value: Any, fields: list[FieldSchema], objective: Objective, where: str) -> DataDriftSpec:
    if isinstance(value, DataDriftSpec):
        value = value.to_json()
    if not isinstance(value, Mapping):
        raise MonitorUsageError(f"{where}: give an object (a DataDriftSpec), not {_short(value)}")
    _known_keys(value, [f.name for f in dataclasses.fields(DataDriftSpec)], where)
    part = "prediction_fields" if objective.on_predictions else "feature_fields"
    if not fields:
        raise MonitorUsageError(
            f"{where}: the monitoring schema has no {part} for this objective to watch; add "
            f"them to model_monitoring_schema.{part}, or turn the objective off"
        )
    names = [f.name for f in fields]
    features = value.get("features")
    if features is not None:
        features = _names(features, f"{where}.features", names, part)
        if not features:
            raise MonitorUsageError(
                f"{where}.features: name at least one field, or leave features out to watch "
                f"every one of {part}"
            )
    watched = set(features if features is not None else names)
    thresholds = value.get("feature_alert_thresholds") or {}
    if not isinstance(thresholds, Mapping):
        raise MonitorUsageError(
            f"{where}.feature_alert_thresholds: give an object of field name to threshold, "
            f"like {{{names[0]!r}: 0.2}}, not {_short(thresholds)}"
        )
    checked: dict[str, float] = {}
    for name, threshold in thresholds.items():
        here = f"{where}.feature_alert_thresholds.{name}"
        if name not in watched:
            raise MonitorUsageError(
                f"{here}: {name!r} is not a field this objective watches "
                f"({_listed(sorted(watched))})"
            )
        checked[name] = _threshold(threshold, here)
    return DataDriftSpec(
        features=features,
        categorical_metric_type=_metric(
            value.get("categorical_metric_type", MetricType.L_INFINITY),
            f"{where}.categorical_metric_type",
            (MetricType.L_INFINITY, MetricType.JENSEN_SHANNON_DIVERGENCE),
        ),
        numeric_metric_type=_metric(
            value.get("numeric_metric_type", MetricType.JENSEN_SHANNON_DIVERGENCE),
            f"{where}.numeric_metric_type",
            (MetricType.JENSEN_SHANNON_DIVERGENCE,),
        ),
        default_categorical_alert_threshold=_threshold(
            value.get("default_categorical_alert_threshold", DEFAULT_THRESHOLD),
            f"{where}.default_categorical_alert_threshold",
        ),
        default_numeric_alert_threshold=_threshold(
            value.get("default_numeric_alert_threshold", DEFAULT_THRESHOLD),
            f"{where}.default_numeric_alert_threshold",
        ),
        feature_alert_thresholds=checked,
    )


def _names(value: Any, where: str, known: list[str], part: str) -> list[str]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise MonitorUsageError(f"{where}: give a list of field names, not {_short(value)}")
    for name in value:
        if name not in known:
            raise MonitorUsageError(
                f"{where}: {_short(name)} is not one of the schema's {part} ({_listed(known)})"
            )
    return list(dict.fromkeys(value))


def _metric(value: Any, where: str, allowed: tuple[MetricType, ...]) -> MetricType:
    if value in allowed:
        return MetricType(value)
    raise MonitorUsageError(
        f"{where}: {_short(value)} is not a metric type here; use "
        + " or ".join(m.value for m in allowed)
    )


def _threshold(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise MonitorUsageError(
            f"{where}: {_short(value)} is not a threshold; give a number from 0 to 1 (a "
            "distance above it alerts)"
        )
    return float(value)


# The baseline


def check_training_dataset(value: Any) -> dict[str, Any]:
    """The baseline's shape: `{"source": "lineage"}` (None too), `{"uri": ..., "data_format":
    csv|parquet|jsonl}` or `{"artifact_id": N}`. A string is read the way the command line's
    `--baseline` is: `lineage`, an artifact id (digits), or a URI; an int is an artifact id.
    Whether the URI or the artifact exists is for the caller to check (`Monitors` does)."""
    where = "training_dataset"
    if value is None:
        return dict(LINEAGE)
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"artifact_id": value}
    elif isinstance(value, str):
        text = value.strip()
        if text == "lineage":
            return dict(LINEAGE)
        value = {"artifact_id": int(text)} if text.isascii() and text.isdigit() else {"uri": text}
    if not isinstance(value, Mapping):
        raise MonitorUsageError(
            f'{where}: give {{"source": "lineage"}}, {{"uri": ...}} or {{"artifact_id": ...}}, '
            f"not {_short(value)}"
        )
    given = [key for key in ("source", "uri", "artifact_id") if key in value]
    if len(given) > 1:
        raise MonitorUsageError(
            f"{where}: give one of source, uri or artifact_id, not {' and '.join(given)}"
        )
    if "source" in value:
        _known_keys(value, ("source",), where)
        if value["source"] != "lineage":
            raise MonitorUsageError(
                f"{where}.source: {_short(value['source'])} is not a source; the one source is "
                "lineage (or give uri or artifact_id instead)"
            )
        return dict(LINEAGE)
    if "uri" in value:
        _known_keys(value, ("uri", "data_format"), where)
        uri = value["uri"]
        if not isinstance(uri, str) or not uri.strip() or not _is_text(uri) or len(uri) > 4096:
            raise MonitorUsageError(
                f"{where}.uri: give the dataset's path or URL (a CSV, Parquet or JSON Lines file "
                f"or folder), not {_short(uri)}"
            )
        found: dict[str, Any] = {"uri": uri.strip()}
        data_format = value.get("data_format")
        if data_format is not None:
            if data_format not in DATA_FORMATS:
                raise MonitorUsageError(
                    f"{where}.data_format: {_short(data_format)} is not a format; use "
                    f"{', '.join(DATA_FORMATS)} (or leave it out: the file's extension says)"
                )
            found["data_format"] = data_format
        return found
    if "artifact_id" in value:
        _known_keys(value, ("artifact_id",), where)
        artifact = value["artifact_id"]
        if (
            isinstance(artifact, bool)
            or not isinstance(artifact, int)
            or not 1 <= artifact <= MAX_ID
        ):
            raise MonitorUsageError(
                f"{where}.artifact_id: {_short(artifact)} is not an artifact id; give the "
                "metadata store's id of a Dataset artifact (conveyor lineage shows them)"
            )
        return {"artifact_id": artifact}
    raise MonitorUsageError(
        f'{where}: give {{"source": "lineage"}}, {{"uri": ...}} or {{"artifact_id": ...}}; '
        f"{_short(dict(value))} holds none of them"
    )


# Notifications


def check_notification(value: Any) -> NotificationSpec:
    """Where alerts go; None: the alert log alone, with the default cooldown."""
    where = "notification_spec"
    if value is None:
        return NotificationSpec()
    if isinstance(value, NotificationSpec):
        value = value.to_json()
    if not isinstance(value, Mapping):
        raise MonitorUsageError(
            f"{where}: give an object with enable_alert_log, webhook, user_emails and "
            f"cooldown, not {_short(value)}"
        )
    _known_keys(value, [f.name for f in dataclasses.fields(NotificationSpec)], where)
    log = value.get("enable_alert_log", True)
    if not isinstance(log, bool):
        raise MonitorUsageError(f"{where}.enable_alert_log: give true or false, not {_short(log)}")
    emails = value.get("user_emails") or []
    if isinstance(emails, str | bytes | Mapping) or not isinstance(emails, Sequence):
        raise MonitorUsageError(
            f"{where}.user_emails: give a list of addresses, not {_short(emails)}"
        )
    if len(emails) > MAX_EMAILS:
        raise MonitorUsageError(f"{where}.user_emails: at most {MAX_EMAILS} addresses")
    for address in emails:
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            raise MonitorUsageError(
                f"{where}.user_emails: {_short(address)} is not an email address (ops@example.com)"
            )
    return NotificationSpec(
        enable_alert_log=log,
        webhook=_webhook(value.get("webhook"), f"{where}.webhook"),
        user_emails=list(dict.fromkeys(emails)),
        cooldown=check_duration(
            value.get("cooldown", DEFAULT_COOLDOWN), f"{where}.cooldown", zero=True
        ),
    )


def _webhook(value: Any, where: str) -> WebhookSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"url": value}
    if isinstance(value, WebhookSpec):
        value = value.to_json()
    if not isinstance(value, Mapping):
        raise MonitorUsageError(
            f'{where}: give {{"url": ..., "secret_setting": ...}}, not {_short(value)}'
        )
    _known_keys(value, ("url", "secret_setting"), where)
    check_webhook_url(value.get("url"), f"{where}.url")
    secret = value.get("secret_setting")
    if secret is not None and (not isinstance(secret, str) or not SETTING.fullmatch(secret)):
        raise MonitorUsageError(
            f"{where}.secret_setting: {_short(secret)} is not the name of an environment "
            "variable (letters, digits and '_', like CONVEYOR_WEBHOOK_SECRET); give the "
            "variable's name, never the secret itself"
        )
    return WebhookSpec(url=value["url"], secret_setting=secret)


def check_webhook_url(url: Any, where: str) -> str:
    problem = None
    if not isinstance(url, str) or not url or len(url) > MAX_URL or not _is_text(url):
        problem = "give an http:// or https:// URL"
    elif any(c.isspace() for c in url):
        problem = "a URL holds no spaces"
    else:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:
            host, parts, problem = None, None, str(exc)
        if problem is None and (parts is None or parts.scheme not in ("http", "https")):
            problem = "only http:// and https:// URLs are called"
        elif problem is None and not host:
            problem = "the URL names no host"
    if problem:
        raise MonitorUsageError(f"{where}: {_short(url)} is not a webhook URL: {problem}")
    return url


# The target window and the schedule


def parse_duration(text: Any, where: str, *, zero: bool = False) -> timedelta:
    """`30s`, `15m`, `1h`, `1d`, `1w` as a duration; zero only when `zero` allows it. The
    one grammar of every duration a monitor holds (its window, offset and cooldown)."""
    found = _DURATION.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    seconds = int(found[1]) * _UNITS[found[2]] if found else None
    too_long = seconds is not None and seconds > _MAX_DURATION.total_seconds()
    duration = None if seconds is None or too_long else timedelta(seconds=seconds)
    if duration is None or (not duration and not zero):
        least = "0 or more" if zero else "more than 0"
        raise MonitorUsageError(
            f"{where}: {_short(text)} is not a duration; give a whole number ({least}) and a "
            "unit: s, m, h, d or w (30m, 1h, 1d, 1w), up to 10 years"
        )
    return duration


def check_duration(text: Any, where: str, *, zero: bool = False) -> str:
    """`text` as it will be stored, once `parse_duration` takes it."""
    parse_duration(text, where, zero=zero)
    return text.strip().lower()


def check_sampling_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise MonitorUsageError(
            f"sampling_rate: {_short(value)} is not a rate; give a number above 0, up to 1 "
            "(the share of the window's rows a job reads)"
        )
    return float(value)


def check_min_samples(value: Any, where: str = "min_samples") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MIN_SAMPLES:
        raise MonitorUsageError(
            f"{where}: {_short(value)} is not a count; give a whole number from 1 (below "
            "it, a window has insufficient data and does not alert)"
        )
    return value


# Helpers


def _known_keys(value: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    extra = [k for k in value if k not in known]
    if extra:
        raise MonitorUsageError(
            f"{where}.{extra[0]}: not a field here; the fields are {', '.join(known)}"
        )


def _is_text(text: str) -> bool:
    """Unicode text without NUL (which PostgreSQL does not store)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _listed(names: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "") or "none"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
