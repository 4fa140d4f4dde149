"""Prometheus metrics of the prediction server, served at `GET /metrics`.

| Metric | Type | Labels |
| --- | --- | --- |
| `conveyor_prediction_requests_total` | counter | endpoint, deployed_model_id, model, model_version, protocol |
| `conveyor_prediction_errors_total` | counter | the same, and `code` (the HTTP status) |
| `conveyor_prediction_latency_seconds` | histogram | endpoint, deployed_model_id, model, model_version, protocol |
| `conveyor_prediction_instances_total` | counter | endpoint, deployed_model_id, model, model_version, protocol |
| `conveyor_prediction_log_rows_total` | counter | `outcome`: written, dropped |
| `conveyor_model_load_failures_total` | counter | model |
| `conveyor_shadow_predictions_total` | counter | endpoint, deployed_model_id (the shadow's), `outcome`: agree, disagree, failed |
| `conveyor_shadow_absolute_error` | summary (`_sum`, `_count`) | endpoint, deployed_model_id |
| `conveyor_shadow_dropped_total` | counter | endpoint, deployed_model_id |

A shadow's own requests, errors and latency are counted in the request metrics under its
deployed model id like any other's; the shadow metrics count how its predictions compare
with those of the model it mirrors, instance by instance (`conveyor.serving.shadow`):
`conveyor_shadow_absolute_error` observes |shadow - mirrored| for each instance where both
predictions are numbers.

`protocol` is `vertex` or `oip`. Open Inference Protocol requests name a model, not an
endpoint: their `endpoint` is empty and their `deployed_model_id` is `model@version`. A
request that never reached a model (an unknown endpoint, malformed JSON) has empty model
labels, and an unknown endpoint's name is not kept, so that clients cannot grow the label
sets without bound.

With several worker processes (`conveyor serve --workers N`), each writes its values to
`PROMETHEUS_MULTIPROC_DIR` and `/metrics` adds them up, whichever worker answers.
`conveyor serve` adds model monitoring's metrics, read from the metadata store
(`conveyor.monitoring.exposition`, docs/monitoring.md). `totals(endpoint)` reads the
counts of an endpoint's deployed models back, of every worker, for a rollout's analysis
(`conveyor.serving.totals`).
"""

from __future__ import annotations

import os
from itertools import chain
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Summary,
    generate_latest,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from conveyor.serving.totals import DeployedTotals

LABELS = ("endpoint", "deployed_model_id", "model", "model_version", "protocol")
BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The server's metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "conveyor_prediction_requests",
            "Prediction requests answered, by endpoint and deployed model.",
            LABELS,
            registry=self.registry,
        )
        self.errors = Counter(
            "conveyor_prediction_errors",
            "Prediction requests answered with an error, by HTTP status.",
            (*LABELS, "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "conveyor_prediction_latency_seconds",
            "Time from the request's arrival to its answer, in seconds.",
            LABELS,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.instances = Counter(
            "conveyor_prediction_instances",
            "Instances predicted.",
            LABELS,
            registry=self.registry,
        )
        self.log_rows = Counter(
            "conveyor_prediction_log_rows",
            "Prediction log rows written to Parquet, or dropped when they could not be.",
            ("outcome",),
            registry=self.registry,
        )
        self.load_failures = Counter(
            "conveyor_model_load_failures",
            "Model versions that failed to load (the previous version kept serving).",
            ("model",),
            registry=self.registry,
        )
        shadow = ("endpoint", "deployed_model_id")
        self.shadow_predictions = Counter(
            "conveyor_shadow_predictions",
            "Instances mirrored to a shadow, by how its prediction compared with the mirrored "
            "model's: agree, disagree, failed.",
            (*shadow, "outcome"),
            registry=self.registry,
        )
        self.shadow_error = Summary(
            "conveyor_shadow_absolute_error",
            "|shadow - mirrored| of each instance where both predictions are numbers.",
            shadow,
            registry=self.registry,
        )
        self.shadow_dropped = Counter(
            "conveyor_shadow_dropped",
            "Requests not mirrored to a shadow because too many shadow calls were in flight.",
            shadow,
            registry=self.registry,
        )
        self._children: dict[tuple[str, ...], tuple[Any, Any, Any]] = {}
        self._shared: list[Collector] = []

    def add_collector(self, collector: Collector) -> None:
        """Serve `collector`'s metrics beside the server's own. It is read at each scrape
        and must give the same values in every worker process (values it reads from a
        store all workers share), as it is not added up across them."""
        self.registry.register(collector)
        self._shared.append(collector)

    def observe(self, labels: tuple[str, ...], seconds: float, status: int, instances: int) -> None:
        """Count one answered request with these `LABELS` values."""
        children = self._children.get(labels)
        if children is None:
            children = (
                self.requests.labels(*labels),
                self.latency.labels(*labels),
                self.instances.labels(*labels),
            )
            self._children[labels] = children
        requests, latency, count = children
        requests.inc()
        latency.observe(seconds)
        if instances:
            count.inc(instances)
        if status >= 400:
            self.errors.labels(*labels, str(status)).inc()

    def totals(self, endpoint: str) -> dict[str, DeployedTotals]:
        """The counts of each deployed model of `endpoint` (by id), summed over models,
        versions, protocols and status codes: of this process, or of every worker process
        of the server when they share `PROMETHEUS_MULTIPROC_DIR`."""
        from conveyor.serving.totals import read_totals

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return read_totals(registry.collect(), endpoint)
        own = (
            self.requests, self.errors, self.latency, self.shadow_predictions,
            self.shadow_error, self.shadow_dropped,
        )  # fmt: skip
        return read_totals(chain.from_iterable(m.collect() for m in own), endpoint)

    def render(self) -> bytes:
        """The Prometheus text format of every metric (of every worker process)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            for collector in self._shared:
                registry.register(collector)
            return generate_latest(registry)
        return generate_latest(self.registry)
