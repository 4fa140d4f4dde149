"""`DeployedTotals` and `Metrics.totals`: what a rollout's analysis reads of the server's
metrics (windows, restarts, quantiles as Prometheus computes them), in one process and
added up over the worker processes of a multiprocess folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conveyor.serving.metrics import BUCKETS, Metrics
from conveyor.serving.totals import DeployedTotals

INF = float("inf")
KNOWN = DeployedTotals(
    requests=50,
    errors=5,
    latency_bounds=(0.1, 0.5, 1.0, INF),
    latency_counts=(10, 30, 40, 50),
)


def labels(deployed: str, version: str = "1", endpoint: str = "ep") -> tuple[str, ...]:
    return (endpoint, deployed, "churn", version, "vertex")


def test_quantiles_interpolate_inside_buckets_as_prometheus_does():
    assert KNOWN.quantile(0.5) == pytest.approx(0.1 + 0.4 * (25 - 10) / 20)
    assert KNOWN.quantile(0.2) == pytest.approx(0.1)  # rank 10: the first bucket's top
    assert KNOWN.quantile(0.1) == pytest.approx(0.05)  # from 0 inside the first bucket
    assert KNOWN.quantile(0.7) == pytest.approx(0.5 + 0.5 * (35 - 30) / 10)
    assert KNOWN.quantile(0.9) == 1.0  # in +Inf: the highest finite bound
    assert KNOWN.quantile(0.0) == 0.0
    assert DeployedTotals().quantile(0.99) is None
    with pytest.raises(ValueError, match="a quantile is from 0 to 1, not 99"):
        KNOWN.quantile(99)


def test_rates_and_none_without_anything_to_divide():
    assert KNOWN.error_rate == 0.1
    assert KNOWN.observations == 50
    empty = DeployedTotals()
    assert (empty.error_rate, empty.agreement, empty.mean_absolute_error) == (None, None, None)
    shadow = DeployedTotals(agree=6, disagree=3, failed=1, absolute_error_sum=4.5, numeric=9)
    assert shadow.agreement == 0.6
    assert shadow.mean_absolute_error == 0.5


def test_a_window_is_the_difference_of_two_readings():
    earlier = DeployedTotals(
        requests=20, errors=1, latency_bounds=KNOWN.latency_bounds,
        latency_counts=(5, 15, 20, 20), agree=4, absolute_error_sum=1.5, numeric=4,
    )  # fmt: skip
    later = DeployedTotals(**{**vars(KNOWN), "agree": 10, "absolute_error_sum": 2.0, "numeric": 7})
    window = later.minus(earlier)
    assert window == DeployedTotals(
        requests=30, errors=4, latency_bounds=KNOWN.latency_bounds,
        latency_counts=(5, 15, 20, 30), agree=6, absolute_error_sum=0.5, numeric=3,
    )  # fmt: skip
    assert window.error_rate == pytest.approx(4 / 30)
    assert later.minus(DeployedTotals()) == later  # nothing before: the reading whole


@pytest.mark.parametrize(
    "change",
    [{"requests": 10}, {"latency_counts": (10, 30, 40, 49)}, {"agree": 0}, {"numeric": 0}],
)
def test_a_count_lower_than_before_means_a_restart_and_the_reading_whole(change):
    earlier = DeployedTotals(**{**vars(KNOWN), "agree": 1, "numeric": 1})
    later = DeployedTotals(**{**vars(earlier), **change})
    assert later.minus(earlier) == later


def test_snapshots_round_trip_through_json():
    totals = DeployedTotals(**{**vars(KNOWN), "failed": 2, "absolute_error_sum": 0.25})
    data = totals.to_json()
    assert data["latency_bounds"][-1] == "+Inf"
    assert DeployedTotals.from_json(json.loads(json.dumps(data))) == totals
    assert DeployedTotals.from_json({}) == DeployedTotals()


def test_totals_sum_each_deployed_model_over_versions_codes_and_protocols():
    metrics = Metrics()
    metrics.observe(labels("1"), 0.004, 200, 2)
    metrics.observe(labels("1", version="2"), 0.2, 200, 1)  # the alias moved
    metrics.observe(labels("1"), 0.03, 500, 1)
    metrics.observe(labels("1"), 0.001, 400, 1)  # the client's fault: no error here
    metrics.observe(labels("2"), 20.0, 503, 1)
    metrics.observe(labels("9", endpoint="other"), 0.001, 200, 1)
    metrics.observe(("ep", "", "", "", "vertex"), 0.001, 400, 0)  # reached no model
    metrics.shadow_predictions.labels("ep", "2", "agree").inc(3)
    metrics.shadow_predictions.labels("ep", "2", "disagree").inc(1)
    metrics.shadow_predictions.labels("ep", "2", "failed").inc(2)
    metrics.shadow_dropped.labels("ep", "2").inc()
    metrics.shadow_error.labels("ep", "2").observe(0.5)
    metrics.shadow_error.labels("ep", "2").observe(1.5)
    totals = metrics.totals("ep")
    assert set(totals) == {"1", "2"}
    first, second = totals["1"], totals["2"]
    assert (first.requests, first.errors, first.observations) == (4, 1, 4)
    assert first.latency_bounds == (*BUCKETS, INF)
    assert first.quantile(0.5) == pytest.approx(0.005)  # rank 2: the top of (0.003, 0.005]
    assert first.latency_counts[BUCKETS.index(0.001)] == 1
    assert first.latency_counts[BUCKETS.index(0.005)] == 2
    assert first.latency_counts[BUCKETS.index(0.25)] == 4
    assert (second.requests, second.errors, second.quantile(0.5)) == (1, 1, 10.0)
    assert (second.agree, second.disagree, second.failed, second.dropped) == (3, 1, 2, 1)
    assert (second.absolute_error_sum, second.numeric) == (2.0, 2)
    assert (second.agreement, second.mean_absolute_error) == (0.5, 1.0)
    assert metrics.totals("nothing") == {}


WORKER = textwrap.dedent(
    """
    import sys
    from conveyor.serving.metrics import Metrics

    metrics = Metrics()
    n = int(sys.argv[1])
    for _ in range(n):
        metrics.observe(("ep", "1", "churn", "1", "vertex"), 0.004, 200, 1)
    metrics.observe(("ep", "1", "churn", "1", "vertex"), 0.3, 500, 1)
    metrics.shadow_predictions.labels("ep", "2", "agree").inc(n)
    metrics.shadow_error.labels("ep", "2").observe(0.25)
    """
)


def test_every_worker_process_is_counted(tmp_path, monkeypatch):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for n in (3, 5):
        subprocess.run([sys.executable, "-c", WORKER, str(n)], env=env, check=True)
    assert len(list(folder.glob("*.db"))) >= 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    totals = Metrics().totals("ep")
    stable, shadow = totals["1"], totals["2"]
    assert (stable.requests, stable.errors, stable.observations) == (10, 2, 10)
    assert stable.latency_counts[BUCKETS.index(0.005)] == 8
    assert stable.error_rate == 0.2
    assert (shadow.agree, shadow.numeric, shadow.absolute_error_sum) == (8, 2, 0.5)
