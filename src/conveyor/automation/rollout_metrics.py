"""Rollouts on the server's `GET /metrics`, read from the metadata store at each scrape
(every server and worker shows the same values), for each endpoint's latest rollout.

| Metric | Type | Labels |
| --- | --- | --- |
| `conveyor_rollout_status` | gauge | endpoint, rollout, strategy, model, state: 1 for the rollout's state |
| `conveyor_rollout_step` | gauge | endpoint, rollout, strategy, model: the step (1 for the first) |
| `conveyor_rollout_weight` | gauge | the same: the candidate's share of the traffic, in percent |
| `conveyor_rollout_failures` | gauge | the same: the failed analyses so far |

`state` is one of `progressing`, `paused`, `promoted`, `rolled_back`, `aborted`; the
status series of the other states are 0, so that an alert can watch `state="rolled_back"`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from conveyor.automation.rollout_records import RolloutState
from conveyor.automation.rollouts import Rollouts

log = logging.getLogger("conveyor.automation")

LABELS = ("endpoint", "rollout", "strategy", "model")


class RolloutCollector(Collector):
    """The rollout metrics of one store, for a `prometheus_client` registry."""

    def __init__(self, rollouts: Rollouts) -> None:
        self.rollouts = rollouts

    def describe(self) -> list[Metric]:
        return []  # read at each scrape: nothing to check when registered

    def collect(self) -> Iterator[Metric]:
        try:
            latest = self.rollouts.latest()
        except SQLAlchemyError:
            log.exception("could not read the rollouts from the metadata store")
            return
        status = GaugeMetricFamily(
            "conveyor_rollout_status",
            "1 for the state each endpoint's latest rollout is in.",
            labels=(*LABELS, "state"),
        )
        step = GaugeMetricFamily(
            "conveyor_rollout_step", "The rollout's step, 1 for the first.", labels=LABELS
        )
        weight = GaugeMetricFamily(
            "conveyor_rollout_weight",
            "The candidate's share of the endpoint's traffic, in percent.",
            labels=LABELS,
        )
        failures = GaugeMetricFamily(
            "conveyor_rollout_failures", "Failed analyses of the rollout so far.", labels=LABELS
        )
        for r in latest:
            labels = [r.endpoint, str(r.id), r.strategy.value, r.candidate]
            for state in RolloutState:
                status.add_metric([*labels, state.value], 1.0 if r.state is state else 0.0)
            step.add_metric(labels, r.step + 1)
            weight.add_metric(labels, r.weight)
            failures.add_metric(labels, r.failures)
        yield from (status, step, weight, failures)
