"""The promotion gates that read the SOURCE environment: `infra_validation` (an
infra_validate task blessed the version's model, found through lineage in dev's store) and
`monitoring` (a job over the version's traffic succeeded without anomaly, from dev's real
monitors over traffic logged by the real logger); and the copy's store artifact in prod
that names its origin, so lineage in prod leads back to the dev run. Dev on SQLite, prod on
a real PostgreSQL server with its artifacts on S3 (moto), staging on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from promotion_support import env_home

from conveyor.automation.promotion import ORIGIN, PromotionRefused, promote
from conveyor.home import Home
from conveyor.serving.prediction_log import Entry, PredictionLogger
from conveyor.store.metadata.kinds import Direction

SCHEMA = [
    {"name": "tenure", "type": "integer"},
    {"name": "charges", "type": "float"},
    {"name": "plan", "type": "string"},
]
NOW = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def homes(tmp_path) -> Iterator:
    """`homes(env, **gates)`: a SQLite home of its own, with those gates."""
    opened: list[Home] = []

    def make(env: str, **gates) -> Home:
        home = env_home(tmp_path, env, **gates)
        opened.append(home)
        return home

    yield make
    for home in opened:
        home.close()


@pytest.fixture
def prod_on(tmp_path, s3, postgres_server, monkeypatch):
    """`prod_on(**gates)`: prod on PostgreSQL with its artifacts on S3, with those gates."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    opened: list[Home] = []

    def make(**gates) -> Home:
        root = f"s3://{s3.bucket}/prod-{uuid.uuid4().hex[:8]}"
        home = env_home(tmp_path, "prod", postgres_server.new_database(), root, **gates)
        opened.append(home)
        return home

    yield make
    for home in opened:
        home.close()


def _model(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / f"model-{name}"
    folder.mkdir()
    (folder / "predictor.py").write_text(f"# predictor {name}\n")
    return folder


def _trained(dev: Home, run_id: str = "train-1") -> tuple[int, int]:
    """churn's next version in dev, registered from the model that the `train` task of run
    `run_id` published (as the run's recorder does): the version and its store artifact."""
    dev.store.create_run(run_id, "churn-training")
    train = dev.store.create_execution(run_id, "train")
    uri = dev.artifacts.uri_for(run_id, "train", "model")
    staging = dev.artifacts.staging_path(uri)
    staging.mkdir(parents=True)
    (staging / "predictor.py").write_text(f"# predictor of {run_id}\n")
    published = dev.artifacts.publish(staging, uri)
    model = dev.store.create_artifact(published.uri, "system.Model", "model", output_of=train)
    dev.store.publish_artifact(model, sha256=published.sha256, size=published.size)
    dev.store.finish_execution(train, "COMPLETE")
    version = dev.registry.upload("churn", published.uri, framework="custom", input_schema=SCHEMA)
    dev.registry.add_evaluation("churn", version.version_id, {"roc_auc": 0.9})
    assert (version.run_id, version.execution_id, version.artifact_id) == (run_id, train, model)
    return version.version_id, model


def _infra_validated(
    dev: Home, run_id: str, task: str, model: int, blessed: bool, reason: str
) -> int:
    """An infra_validate task of run `run_id` that read the store artifact `model` and
    recorded its verdict as the component does (`infra_blessing`, metadata blessed and
    reason); its execution."""
    execution = dev.store.create_execution(run_id, task, inputs={"model": [model]})
    blessing = dev.store.create_artifact(
        f"{dev.settings.artifact_root}/{run_id}/{task}/infra_blessing",
        "system.Artifact",
        "infra_blessing",
        metadata={"blessed": blessed, "reason": reason},
        output_of=execution,
    )
    dev.store.publish_artifact(blessing, sha256="0" * 64, size=2)
    dev.store.finish_execution(execution, "COMPLETE", outputs={"blessed": blessed})
    return execution


def _verdict(source: Home, target: Home, reference: str = "churn@1") -> tuple[bool, str]:
    (gate,) = promote(source, target, reference, dry_run=True).gates
    return gate.passed, gate.detail


def test_infra_validation_reads_the_verdict_on_the_version_s_model(dev, homes, tmp_path):
    staging = homes("staging", infra_validation=True)
    by_hand = dev.registry.upload("other", _model(tmp_path, "hand"), framework="custom")
    assert by_hand.run_id is None
    assert _verdict(dev, staging, "other@1") == (
        False,
        f"no infra validation: dev other@1 has no run in dev, and no infra_validate task "
        f"recorded a verdict on its model (store artifact {by_hand.artifact_id}); validate "
        "it in the pipeline that trains it",
    )

    _, model = _trained(dev)
    assert _verdict(dev, staging) == (
        False,
        "no infra validation: no infra_validate task recorded a verdict on the model of "
        f"dev churn@1 (store artifact {model}, run train-1); validate it in the pipeline "
        "that trains it",
    )

    # Another version's validation does not count for this one.
    _, other_model = _trained(dev, run_id="train-2")
    _infra_validated(dev, "train-2", "infra-validate", other_model, True, "answered 3 requests")
    assert _verdict(dev, staging)[0] is False

    failed = _infra_validated(
        dev, "train-1", "infra-validate", model, False, "the examples lack the model's features"
    )
    with pytest.raises(PromotionRefused) as refused:
        promote(dev, staging, "churn@1")
    assert refused.value.promotion.gates[0].detail == (
        "not blessed: the examples lack the model's features, by infra-validate "
        f"(execution {failed}, run train-1)"
    )

    again = _infra_validated(dev, "train-1", "infra-validate-2", model, True, "answered 3")
    done = promote(dev, staging, "churn@1")
    assert done.promoted
    assert done.gates[0].detail == (
        f"blessed by infra-validate-2 (execution {again}, run train-1): answered 3"
    )


def test_a_promoted_version_brings_its_infra_verdict_to_the_next_environment(dev, homes, prod_on):
    staging = homes("staging", infra_validation=True)
    _, model = _trained(dev)
    execution = _infra_validated(dev, "train-1", "infra-validate", model, True, "answered 3")
    promote(dev, staging, "churn@1")

    prod = prod_on(infra_validation=True)
    done = promote(staging, prod, "churn@1", alias="production")
    assert done.promoted
    assert done.gates[0].detail == (
        "passed on promotion from dev churn@1: blessed by infra-validate "
        f"(execution {execution}, run train-1): answered 3"
    )

    unchecked = homes("unchecked")  # no gates: the next hop has nothing to bring
    _trained(dev, run_id="train-2")
    promote(dev, unchecked, "churn@2")
    passed, detail = _verdict(unchecked, homes("qa", infra_validation=True), "churn@1")
    assert not passed and "dev churn@2" not in detail
    assert detail.startswith("no infra validation: unchecked churn@1 has no run in unchecked")


def _frame(n: int, seed: int, shift: float = 0.0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "tenure": np.clip(rng.normal(30 + shift, 10, n), 0, None).round().astype(int),
        "charges": rng.gamma(4.0, 20.0, n).round(2),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
    }


class _Runtime:
    """What the prediction log asks of a runtime: its feature names and schema."""

    feature_names = tuple(f["name"] for f in SCHEMA)

    def features(self):
        return SCHEMA


def _traffic(home: Home, data: dict, start: datetime, version: int, per_request: int = 50):
    """`data` as requests to `churn@version` over one day from `start`, through the real
    prediction logger."""
    logger = PredictionLogger(home.store, home.artifacts, max_buffered_rows=10**9)
    n = len(data["tenure"])
    requests = -(-n // per_request)
    for r in range(requests):
        rows = range(r * per_request, min(n, (r + 1) * per_request))
        logger.add(
            Entry(
                timestamp=(start + DAY * r / requests).timestamp(),
                request_id=f"r-{version}-{start:%d}-{r}",
                endpoint="churn",
                deployed_model_id="2",
                model="churn",
                model_version=version,
                protocol="vertex",
                instances=[
                    [int(data["tenure"][i]), float(data["charges"][i]), str(data["plan"][i])]
                    for i in rows
                ],
                predictions=["stay" for _ in rows],
                parameters=None,
                status=200,
                error=None,
                runtime=_Runtime(),
            )
        )
    logger.flush()


def test_monitoring_needs_a_passed_job_over_the_candidate_s_traffic(dev, homes, tmp_path):
    staging = homes("staging", monitoring=True)
    _trained(dev)
    train = tmp_path / "train.parquet"
    pq.write_table(pa.table(_frame(3000, seed=1)), train)
    assert _verdict(dev, staging) == (
        False,
        "no monitoring job over dev churn@1's traffic succeeded; run one there "
        "(`conveyor --env dev monitors create NAME churn@1`, then `monitors run NAME`)",
    )

    monitors = dev.monitors
    monitors.create(
        "churn-shadow",
        "churn@1",
        training_dataset={"uri": str(train)},
        tabular_objective={"feature_skew_spec": {}},
    )
    empty = monitors.run("churn-shadow", start_time=NOW - DAY, end_time=NOW, deliver=False)
    passed, detail = _verdict(dev, staging)
    assert not passed
    assert f"job {empty.id} of monitor churn-shadow" in detail
    assert "had too few rows to judge" in detail

    _traffic(dev, _frame(800, seed=2), NOW - DAY, version=1)
    _traffic(dev, _frame(800, seed=3, shift=15), NOW, version=1)
    calm = monitors.run("churn-shadow", start_time=NOW - DAY, end_time=NOW, deliver=False)
    assert _verdict(dev, staging) == (
        True,
        f"job {calm.id} of monitor churn-shadow (2026-06-01 12:00 to 2026-06-02 12:00 UTC): "
        "no anomaly in 3 metrics",
    )

    skewed = monitors.run("churn-shadow", start_time=NOW, end_time=NOW + DAY, deliver=False)
    assert skewed.summary["alerts"]["anomaly"] >= 1
    with pytest.raises(PromotionRefused, match=f"monitoring: job {skewed.id} of monitor") as no:
        promote(dev, staging, "churn@1")
    detail = no.value.promotion.gates[0].detail
    assert "found anomalies: feature_skew of tenure " in detail and "(threshold 0.3)" in detail
    assert "plan" not in detail and "charges" not in detail

    # A job over another version's traffic does not count for this one.
    _trained(dev, run_id="train-2")
    assert _verdict(dev, staging, "churn@2")[0] is False
    monitors.update("churn-shadow", target="churn@2")
    _traffic(dev, _frame(800, seed=4), NOW - DAY, version=2)
    monitors.run("churn-shadow", start_time=NOW - DAY, end_time=NOW, deliver=False)
    assert _verdict(dev, staging, "churn@2")[0] is True
    assert _verdict(dev, staging)[0] is False  # churn@1's latest job is still the skewed one


def test_lineage_in_prod_starts_from_the_copy_and_names_the_dev_run(dev, prod_on):
    prod = prod_on()
    _, model = _trained(dev)
    source = dev.registry.get_version("churn@1")
    done = promote(dev, prod, "churn@1", alias="production")
    copied = prod.registry.get_version("churn@production")
    assert done.target_aliases == ["default", "production"]

    artifact = prod.store.get_artifact(copied.artifact_id)
    assert (artifact.uri, artifact.sha256, artifact.type) == (
        copied.artifact_uri,
        copied.sha256,
        "system.Model",
    )
    assert artifact.metadata[ORIGIN] == {
        "environment": "dev",
        "model": "churn",
        "version": 1,
        "sha256": source.sha256,
        "artifact_uri": source.artifact_uri,
        "artifact_id": model,
        "run_id": "train-1",
        "execution_id": source.execution_id,
    }
    graph = prod.store.lineage(copied.artifact_id)
    assert graph.roots == [copied.artifact_id]
    assert graph.edges_from(Direction.UPSTREAM, copied.artifact_id, artifact=True) == []
    # In dev, the origin's artifact leads to the task that trained it.
    there = dev.store.lineage(model)
    (wrote,) = there.edges_from(Direction.UPSTREAM, model, artifact=True)
    assert there.executions[wrote.execution_id].run_id == "train-1"
    assert wrote.execution_id == source.execution_id
