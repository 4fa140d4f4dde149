"""The report of one monitoring job: a self-contained HTML page a person reads.

    html = render(job_id, home.monitors)       # or conveyor monitors report JOB --html out.html

The page holds the job's header (monitor, model version, window, state, summary), its
alerts, then per objective and field: the distance with its threshold and the distance
expected by chance, the baseline and target distributions side by side (a numeric
field's buckets, a categorical field's `top` most frequent values and the rest as
`(other)`), and the distance over the monitor's last `history` jobs against the
threshold. Live performance metrics show their value over the jobs.

Everything comes from what the job stored (histograms and value counts, never rows).
Plots are inline SVG drawn by matplotlib (Agg, text kept as text: `svg.fonttype` none),
so the page needs no network and no script; every name and value from the store is
HTML-escaped. About 10 KB a field and objective.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from conveyor.monitoring import _rows
from conveyor.monitoring._job_rows import job_record, job_row, metric_record
from conveyor.monitoring.alert_search import alert_record
from conveyor.monitoring.errors import JobNotFound, MonitorUsageError
from conveyor.monitoring.queries import check_job_id
from conveyor.monitoring.records import (
    ModelMonitoringJob,
    MonitoringAlert,
    MonitoringMetric,
    Objective,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from conveyor.monitoring.monitors import Monitors
    from conveyor.store.metadata import MetadataStore

HISTORY = 20
"""Jobs whose distances the history plots show, this one the last."""
TOP = 10
"""Values of a categorical field shown; the others are summed as `(other)`."""
MAX_HISTORY = 500
BASELINE, TARGET, ALARM = "#4c72b0", "#dd8452", "#c44e52"
TITLES = {
    Objective.FEATURE_DRIFT: "Feature drift (target window against the window before)",
    Objective.FEATURE_SKEW: "Training-serving skew (target window against the training data)",
    Objective.PREDICTION_OUTPUT_DRIFT: "Prediction output drift",
    Objective.MODEL_PERFORMANCE: "Live performance (labelled predictions)",
}


@dataclass(frozen=True)
class ReportData:
    """What a report shows: the job, its monitor's target, its metrics and alerts, and
    each (objective, field)'s metrics over the monitor's last jobs, oldest first."""

    job: ModelMonitoringJob
    target: str | None
    metrics: list[MonitoringMetric]
    alerts: list[MonitoringAlert]
    history: dict[tuple[str, str], list[MonitoringMetric]]


def render(
    job: int | ModelMonitoringJob, monitors: Monitors, *, history: int = HISTORY, top: int = TOP
) -> str:
    """The HTML page of `job` (its id or record), read from `monitors`' store."""
    job_id = job.id if isinstance(job, ModelMonitoringJob) else job
    return page(gather(monitors.store, job_id, history=history), top=top)


def gather(store: MetadataStore, job_id: int, *, history: int = HISTORY) -> ReportData:
    """Everything the report of `job_id` shows, in one read transaction."""
    if isinstance(history, bool) or not isinstance(history, int) or not 1 <= history <= MAX_HISTORY:
        raise MonitorUsageError(f"history: give a number of jobs from 1 to {MAX_HISTORY}")
    jobs, metrics, alerts, monitors = _rows.JOBS, _rows.METRICS, _rows.ALERTS, _rows.MONITORS
    with store.transaction() as conn:
        found = job_row(conn, check_job_id(job_id))
        if found is None:
            raise JobNotFound(
                f"no monitoring job {job_id}; `conveyor monitors jobs MONITOR` lists a "
                "monitor's jobs"
            )
        row, name = found
        target = conn.execute(
            select(monitors.c.target).where(monitors.c.id == row.monitor_id)
        ).scalar()
        recent = select(jobs.c.id).where(jobs.c.monitor_id == row.monitor_id, jobs.c.id <= row.id)
        recent = recent.order_by(jobs.c.id.desc()).limit(history)
        ids = list(conn.execute(recent).scalars())
        rows = conn.execute(
            select(metrics)
            .where(metrics.c.job_id.in_(ids))
            .order_by(metrics.c.job_id, metrics.c.id)
        )
        found_metrics = [metric_record(r, name) for r in rows]
        alert_rows = conn.execute(
            select(alerts, monitors.c.name.label("monitor"))
            .join(monitors, monitors.c.id == alerts.c.monitor_id)
            .where(alerts.c.job_id == row.id)
            .order_by(alerts.c.id)
        )
        found_alerts = [alert_record(r) for r in alert_rows]
    series: dict[tuple[str, str], list[MonitoringMetric]] = {}
    for metric in found_metrics:
        series.setdefault((metric.objective.value, metric.feature), []).append(metric)
    return ReportData(
        job=job_record(row, name),
        target=target,
        metrics=[m for m in found_metrics if m.job_id == row.id],
        alerts=found_alerts,
        history=series,
    )


# The page


def page(data: ReportData, *, top: int = TOP) -> str:
    """The report as one HTML document."""
    job = data.job
    title = f"Monitoring job {job.id} of {job.monitor}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _header(data),
        _alerts(data.alerts),
    ]
    salt = itertools.count()
    with _plotting():
        for objective in Objective:
            chosen = [m for m in data.metrics if m.objective is objective]
            if not chosen:
                continue
            parts.append(f"<h2>{_e(TITLES[objective])}</h2>")
            for metric in chosen:
                series = data.history.get((objective.value, metric.feature), [metric])
                parts.append(_section(metric, series, top, salt))
    parts.append("</body></html>")
    return "\n".join(parts)


def _header(data: ReportData) -> str:
    job = data.job
    version = f"{job.model}@{job.model_version_id}" if job.model_version_id else job.model
    rows = [
        ("Monitor", job.monitor),
        ("Watches", data.target or ""),
        ("Model version", version or "unknown"),
        ("Window (UTC)", f"{_time(job.window_start)} to {_time(job.window_end)}"),
        ("State", job.state.value),
        ("Started", _time(job.created_at)),
        ("Ended", _time(job.ended_at)),
        ("Error", job.error or ""),
    ]
    anomalies = sum(m.anomaly for m in data.metrics)
    scarce = sum(m.insufficient_data for m in data.metrics)
    measured = f"{len(data.metrics)} measured, {anomalies} anomalies, {scarce} too scarce"
    rows.append(("Fields", measured))
    for key, value in (job.summary or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        rows.append((key.replace("_", " ").capitalize(), text))
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(str(v))}</td></tr>" for k, v in rows if v)
    return f'<table class="header">{cells}</table>'


def _alerts(alerts: Sequence[MonitoringAlert]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p>This job raised no alert.</p>"
    head = "<tr><th>Field</th><th>Objective</th><th>Kind</th><th>Value</th><th>Threshold</th>"
    head += "<th>Message</th></tr>"
    body = "".join(
        f'<tr class="{_e(a.kind.value)}"><td>{_e(a.feature)}</td><td>{_e(a.objective.value)}'
        f"</td><td>{_e(a.kind.value)}</td><td>{_num(a.value)}</td><td>{_num(a.threshold)}</td>"
        f"<td>{_e(a.message)}</td></tr>"
        for a in alerts
    )
    return f"<h2>Alerts</h2><table>{head}{body}</table>"


def _section(
    metric: MonitoringMetric, series: list[MonitoringMetric], top: int, salt: Iterator[int]
) -> str:
    if metric.insufficient_data:
        status, css = "insufficient data", "scarce"
    elif metric.anomaly:
        status, css = "anomaly", "anomaly"
    else:
        status, css = "normal", "normal"
    kind = metric.metric_type.value
    facts = [
        f"{_e(kind)} <b>{_num(metric.value)}</b>",
        f"threshold {_num(metric.threshold)}",
        *([f"expected by chance {_num(metric.chance_level)}"] if metric.chance_level else []),
        f'<span class="{css}">{status}</span>',
    ]
    if metric.objective is Objective.MODEL_PERFORMANCE:
        facts.append(f"{metric.target_count} labelled predictions")
    else:
        facts.append(f"{metric.baseline_count} baseline, {metric.target_count} target values")
    figures = []
    if metric.statistics:
        figures.append(_distributions(metric.statistics, top, next(salt)))
    if len(series) > 1 or metric.objective is Objective.MODEL_PERFORMANCE:
        figures.append(_history(series, metric, next(salt)))
    body = "".join(f'<div class="plot">{f}</div>' for f in figures if f)
    return (
        f"<section><h3>{_e(metric.feature)}</h3><p>{' · '.join(facts)}</p>"
        f'<div class="plots">{body}</div></section>'
    )


# The plots


def _distributions(statistics: Mapping[str, Any], top: int, salt: int) -> str:
    """Baseline and target shares, bucket by bucket, as grouped bars."""
    baseline, target = statistics.get("baseline"), statistics.get("target")
    if not isinstance(baseline, Mapping) or not isinstance(target, Mapping):
        return ""
    try:
        if baseline.get("kind") == "numeric":
            labels, left, right = _numeric_buckets(baseline, target)
        else:
            labels, left, right = _value_buckets(baseline, target, top)
    except (KeyError, TypeError, ValueError):
        return '<p class="note">The stored statistics cannot be read.</p>'
    if not labels:
        return ""
    import numpy as np

    figure = _figure(max(3.2, 0.45 * len(labels) + 1.2), 2.4)
    axes = figure.add_subplot()
    x = np.arange(len(labels))
    axes.bar(x - 0.2, _shares(left), 0.4, label="baseline", color=BASELINE)
    axes.bar(x + 0.2, _shares(right), 0.4, label="target", color=TARGET)
    axes.set_xticks(x, labels, rotation=30 if len(labels) > 4 else 0, ha="right", fontsize=7)
    axes.set_ylabel("share", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.legend(fontsize=7, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, salt)


def _numeric_buckets(
    baseline: Mapping[str, Any], target: Mapping[str, Any]
) -> tuple[list[str], list[float], list[float]]:
    """The baseline's buckets, the target's underflow and overflow beside them, and the
    NaN and infinity buckets either side has."""
    edges = [float(e) for e in baseline["edges"]]
    labels = [f"[{_short(a)}, {_short(b)})" for a, b in itertools.pairwise(edges)]
    left = [float(c) for c in baseline["counts"]]
    right = [float(c) for c in target.get("counts", [])]
    if len(right) != len(left):  # a target binned on other edges: only its totals compare
        right = [0.0] * len(left)
    if not edges:  # a baseline without buckets
        labels, left, right = (
            ["values"],
            [float(baseline.get("count", 0))],
            [float(target.get("count", 0))],
        )
    for side, label in (("below", "<"), ("above", ">")):
        extra = [float(baseline.get(side, 0) or 0), float(target.get(side, 0) or 0)]
        if any(extra):
            edge = edges[0] if side == "below" else edges[-1]
            text = f"{label} {_short(edge)}"
            if side == "below":
                labels, left, right = [text, *labels], [extra[0], *left], [extra[1], *right]
            else:
                labels, left, right = [*labels, text], [*left, extra[0]], [*right, extra[1]]
    for key, label in (("nan", "NaN"), ("pos_inf", "+inf"), ("neg_inf", "-inf")):
        extra = [float(baseline.get(key, 0) or 0), float(target.get(key, 0) or 0)]
        if any(extra):
            labels.append(label)
            left.append(extra[0])
            right.append(extra[1])
    return labels, left, right


def _value_buckets(
    baseline: Mapping[str, Any], target: Mapping[str, Any], top: int
) -> tuple[list[str], list[float], list[float]]:
    """The `top` values most frequent on both sides together, then `(other)`."""
    a, b = dict(baseline.get("values", {})), dict(target.get("values", {}))
    ranked = sorted(set(a) | set(b), key=lambda v: (-(a.get(v, 0) + b.get(v, 0)), v))
    shown = ranked[:top]
    left = [float(a.get(v, 0)) for v in shown]
    right = [float(b.get(v, 0)) for v in shown]
    rest = (float(baseline.get("count", 0)) - sum(left), float(target.get("count", 0)) - sum(right))
    labels = [_short_text(v) for v in shown]
    if rest[0] > 0 or rest[1] > 0:
        labels.append("(other)")
        left.append(max(rest[0], 0.0))
        right.append(max(rest[1], 0.0))
    return labels, left, right


def _history(series: list[MonitoringMetric], current: MonitoringMetric, salt: int) -> str:
    """The value at each of the last jobs (anomalies in red), and the threshold."""
    figure = _figure(3.6, 2.4)
    axes = figure.add_subplot()
    jobs = [m.job_id for m in series]
    values = [m.value if m.value is not None else math.nan for m in series]
    axes.plot(range(len(jobs)), values, marker="o", markersize=3, color=BASELINE, linewidth=1)
    alarms = [i for i, m in enumerate(series) if m.anomaly]
    if alarms:
        axes.plot(alarms, [values[i] for i in alarms], "o", color=ALARM, markersize=4)
    if current.threshold is not None:
        axes.axhline(current.threshold, color=ALARM, linestyle="--", linewidth=0.8)
    step = max(1, len(jobs) // 6)
    axes.set_xticks(range(0, len(jobs), step), [str(j) for j in jobs[::step]], fontsize=7)
    axes.set_xlabel("job", fontsize=8)
    axes.set_ylabel(current.metric_type.value[:24], fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, salt)


@contextmanager
def _plotting() -> Iterator[None]:
    """matplotlib's settings for the page: text as text, no math parsing of names, no
    dates in the SVG (the same statistics make the same page)."""
    import matplotlib

    settings = {"svg.fonttype": "none", "text.parse_math": False, "path.simplify": True,
                "font.size": 8, "axes.unicode_minus": False,
                "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}  # fmt: skip
    with matplotlib.rc_context(settings):
        yield


def _figure(width: float, height: float) -> Figure:
    """A figure of its own (not pyplot's: no global state, safe in a server thread)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=0.14, right=0.98, top=0.95, bottom=0.3)
    figure.patch.set_visible(False)  # the page's background shows through
    return figure


def _svg(figure: Figure, salt: int) -> str:
    """The figure as an inline `<svg>` element; ids salted so that the page's figures
    do not share them."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"conveyor-{salt}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _lean(buffer.getvalue())


_NOISE = re.compile(r"<\?xml.*?<svg|<metadata>.*?</metadata>|\n\s*", re.S)
_NAMED = re.compile(r' id="[A-Za-z][\w.]*_\d+"')
_GEOMETRY = re.compile(r'(?:\bd|\bx|\by|transform|points)="[^"]*"')
_DIGITS = re.compile(r"(\.\d)\d+")
_SPACES = re.compile(r" {2,}")
_WRAPPED = re.compile(r"<g>(<(?:path|use)[^>]*/>)</g>")


def _lean(text: str) -> str:
    """matplotlib's SVG, smaller and fit to inline: no XML prologue or metadata, no
    element names (`patch_3`, which several figures of a page would share), geometry
    to a tenth of a point."""
    text = _NOISE.sub(lambda m: "<svg" if m.group().startswith("<?xml") else " "
                      if m.group().startswith("\n") else "", text)  # fmt: skip
    text = _NAMED.sub("", text)
    text = _GEOMETRY.sub(lambda m: _DIGITS.sub(r"\1", m.group()), text)
    text = _SPACES.sub(" ", text).replace("> <", "><")
    return _WRAPPED.sub(r"\1", text).strip()


def _shares(counts: list[float]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def _short(value: float) -> str:
    return f"{value:.3g}"


def _short_text(value: str, most: int = 24) -> str:
    return value if len(value) <= most else value[: most - 1] + "…"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _time(moment: Any) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:2px 10px;text-align:left;
vertical-align:top;border-bottom:1px solid #ddd}table.header th{color:#555;font-weight:500}
h2{margin-top:1.6em;border-bottom:2px solid #eee}section{margin:1em 0 1.5em}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plot svg{height:auto;max-width:100%}
.anomaly{color:#c44e52;font-weight:600}.scarce{color:#8c8c8c}.normal{color:#55a868}
tr.anomaly td{color:#c44e52}tr.recovery td{color:#55a868}.note{color:#8c8c8c}
""".strip()
