"""Promotion across environments: dev on SQLite, prod on a real PostgreSQL server with its
artifacts on S3 (moto), the files checked by sha256, the origin kept, the gates judged."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from promotion_support import env_home

from conveyor.automation.errors import AutomationUsageError
from conveyor.automation.gates import GateError
from conveyor.automation.model_copy import ChecksumMismatch
from conveyor.automation.promotion import PromotionRefused, approve, promote
from conveyor.home import Home
from conveyor.registry import HistoryAction, ModelNotFound, VersionNotFound


@pytest.fixture
def prod_on(tmp_path, s3, postgres_server, monkeypatch):
    """`prod_on(**gates)`: prod on PostgreSQL with its artifacts on S3, with those gates."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)  # where s3fs finds the server
    opened: list[Home] = []

    def make(**gates) -> Home:
        root = f"s3://{s3.bucket}/prod-{uuid.uuid4().hex[:8]}"
        home = env_home(tmp_path, "prod", postgres_server.new_database(), root, **gates)
        opened.append(home)
        return home

    yield make
    for home in opened:
        home.close()


@pytest.fixture
def staging_on(tmp_path):
    """`staging_on(**gates)`: a target on SQLite, for the gates' many verdicts."""
    opened: list[Home] = []

    def make(**gates) -> Home:
        home = env_home(tmp_path, "staging", **gates)
        opened.append(home)
        return home

    yield make
    for home in opened:
        home.close()


def _candidate(dev: Home, tmp_path: Path, metrics: dict | None = None, name: str = "m") -> int:
    """A version of `churn` in dev, trained by run `train-1`, with an evaluation."""
    folder = tmp_path / f"model-{name}"
    (folder / "assets").mkdir(parents=True)
    (folder / "predictor.py").write_text(f"# predictor {name}\n")
    (folder / "assets" / "vocab.txt").write_text("a\nb\n")
    if not dev.store.list_runs():
        dev.store.create_run("train-1", "train")
    version = dev.registry.upload(
        "churn",
        folder,
        framework="custom",
        description="gradient boosting",
        labels={"team": "growth"},
        input_schema=[{"name": "tenure", "type": "integer"}],
        trusted=True,
        run_id="train-1",
    )
    dev.registry.add_evaluation(
        "churn", version.version_id, metrics or {"roc_auc": 0.91, "dataset": "holdout"}
    )
    return version.version_id


def test_a_version_goes_from_dev_to_prod_with_its_files_origin_and_approval(dev, prod_on, tmp_path):
    prod = prod_on(min_metrics={"roc_auc": 0.8}, max_regression={"roc_auc": 0.01}, approval=True)
    number = _candidate(dev, tmp_path)
    dev.registry.add_evaluation("churn", number, {"roc_auc": 0.7}, slice={"country": "FR"})
    source = dev.registry.get_version("churn", number)

    with pytest.raises(PromotionRefused, match="approval: no approval of dev churn@1") as refused:
        promote(dev, prod, "churn@1", alias="production")
    assert [(g.name, g.passed) for g in refused.value.promotion.gates] == [
        ("min_metrics.roc_auc", True),
        ("max_regression.roc_auc", True),
        ("approval", False),
    ]
    assert refused.value.promotion.gates[1].detail == "no production version yet"
    with pytest.raises(ModelNotFound):
        prod.registry.get_model("churn")

    entry = approve(dev, prod, "churn@default", reason="eval report reviewed", user="dana")
    assert (entry.actor, entry.comment, entry.created_at.utcoffset().total_seconds()) == (
        "dana",
        "eval report reviewed",
        0,
    )
    assert entry.details == {
        "environment": "dev",
        "model": "churn",
        "version": 1,
        "sha256": source.sha256,
    }

    done = promote(dev, prod, "churn@1", alias="production", user="carol")
    assert (done.promoted, done.target_env, done.target_version) == (True, "prod", 1)
    assert done.gates[-1].detail.startswith("approved by dana at ")
    copied = prod.registry.get_version("churn@production")
    assert copied.artifact_uri.startswith(prod.settings.artifact_root + "/models/churn/")
    assert (copied.sha256, copied.files, copied.framework) == (
        source.sha256,
        source.files,
        source.framework,
    )
    assert prod.artifacts.verify(copied.artifact_uri, source.sha256)
    assert (copied.input_schema, copied.description, copied.trusted) == (
        source.input_schema,
        "gradient boosting",
        True,
    )
    assert copied.labels == {"team": "growth", "promoted-from": "dev"}
    assert copied.origin is not None
    assert {k: copied.origin[k] for k in ("environment", "model", "version", "run_id")} == {
        "environment": "dev",
        "model": "churn",
        "version": 1,
        "run_id": "train-1",
    }
    assert copied.origin["execution_id"] == source.execution_id
    assert copied.origin["artifact_id"] == source.artifact_id
    assert copied.origin["sha256"] == source.sha256
    assert [g["name"] for g in copied.origin["gates"]][-1] == "approval"
    evaluations = prod.registry.list_evaluations("churn", 1)
    assert [(e.metrics, e.slice) for e in evaluations] == [
        ({"roc_auc": 0.91, "dataset": "holdout"}, None),
        ({"roc_auc": 0.7}, {"country": "FR"}),
    ]
    history = prod.registry.history("churn")
    actions = [(e.action, e.actor) for e in history]
    assert actions[:2] == [
        (HistoryAction.PROMOTION_REFUSED, "alice"),
        (HistoryAction.PROMOTION_APPROVED, "dana"),
    ]
    created = next(e for e in history if e.action == HistoryAction.VERSION_CREATED)
    assert created.actor == "carol" and created.details["origin"]["environment"] == "dev"
    assert prod.registry.history("churn", alias="production")[-1].actor == "carol"

    # Again (a pipeline run again): the version it is there, nothing moved or judged.
    again = promote(dev, prod, "churn@1", alias="canary")
    assert (again.already, again.promoted, again.target_version, again.gates) == (
        True,
        False,
        1,
        [],
    )
    assert again.target_aliases == ["default", "production"]
    assert [v.version_id for v in prod.registry.list_versions("churn")] == [1]
    assert prod.registry.history("churn") == history  # canary not set: nothing recorded


def test_a_corrupted_source_file_is_refused_and_nothing_reaches_prod(dev, prod_on, tmp_path, s3):
    prod = prod_on()
    number = _candidate(dev, tmp_path)
    folder = Path(dev.registry.get_version("churn", number).artifact_uri)
    (folder / "assets" / "vocab.txt").write_text("a\nB\n")  # same size, other bytes

    with pytest.raises(ChecksumMismatch, match="assets/vocab.txt has changed since"):
        promote(dev, prod, "churn@1")
    with pytest.raises(ModelNotFound):
        prod.registry.history("churn")
    bucket = s3.filesystem()
    bucket.invalidate_cache()
    prefix = prod.settings.artifact_root.removeprefix("s3://")
    assert [p for p in bucket.find(prefix) if "/models/" in p] == []
    assert list((prod.settings.folder / "staging").iterdir()) == []


def test_min_metrics_refuse_then_pass_and_an_unknown_metric_stops_first(dev, staging_on, tmp_path):
    _candidate(dev, tmp_path, {"roc_auc": 0.75})
    strict = staging_on(min_metrics={"roc_auc": 0.8})
    with pytest.raises(PromotionRefused, match=r"min_metrics.roc_auc: roc_auc 0.75 < 0.8"):
        promote(dev, strict, "churn@1")
    with pytest.raises(ModelNotFound):
        strict.registry.get_model("churn")  # no model there: only the refusal, in its history
    refusal = strict.registry.history("churn")[-1]
    assert refusal.action == HistoryAction.PROMOTION_REFUSED
    assert refusal.details["gates"][0]["detail"] == "roc_auc 0.75 < 0.8"

    unknown = staging_on(min_metrics={"f1": 0.5})
    with pytest.raises(GateError, match="gate metric 'f1': no evaluation of dev churn@1"):
        promote(dev, unknown, "churn@1", dry_run=True)
    with pytest.raises(ModelNotFound):
        unknown.registry.history("churn")

    lenient = staging_on(min_metrics={"roc_auc": 0.7})
    assert promote(dev, lenient, "churn@1").promoted


def test_max_regression_compares_with_production_on_the_same_data(dev, staging_on, tmp_path):
    target = staging_on(max_regression={"roc_auc": 0.005})
    held = _candidate(dev, tmp_path, {"roc_auc": 0.90, "dataset": "holdout"}, name="old")
    promote(dev, target, f"churn@{held}", alias="production")

    worse = _candidate(dev, tmp_path, {"roc_auc": 0.99, "dataset": "other"}, name="new")
    dev.registry.add_evaluation("churn", worse, {"roc_auc": 0.88, "dataset": "holdout"})
    dev.registry.add_evaluation("churn", worse, {"roc_auc": 0.97})
    with pytest.raises(PromotionRefused) as refused:
        promote(dev, target, f"churn@{worse}")
    assert refused.value.promotion.gates[0].detail == (
        "roc_auc 0.88 vs production churn@1 0.9 on dataset holdout: worse than tolerance 0.005"
    )

    close = _candidate(dev, tmp_path, {"roc_auc": 0.897, "dataset": "holdout"}, name="close")
    done = promote(dev, target, f"churn@{close}", alias="production")
    assert done.promoted and done.gates[0].passed
    assert target.registry.get_version("churn@production").origin["version"] == close


def test_a_dry_run_judges_every_gate_and_moves_nothing(dev, staging_on, tmp_path):
    _candidate(dev, tmp_path)
    target = staging_on(min_metrics={"roc_auc": 0.95}, approval=True)
    dry = promote(dev, target, "churn@1", dry_run=True, alias="staging")
    assert (dry.dry_run, dry.promoted, dry.passed, dry.target_version) == (True, False, False, None)
    assert [(g.name, g.passed) for g in dry.gates] == [
        ("min_metrics.roc_auc", False),
        ("approval", False),
    ]
    with pytest.raises(ModelNotFound):
        target.registry.history("churn")
    assert not (target.settings.folder / "artifacts" / "models").exists()


def test_bad_input_is_refused_before_anything_moves(dev, staging_on, tmp_path):
    _candidate(dev, tmp_path)
    target = staging_on()
    with pytest.raises(VersionNotFound, match="model 'churn' has no version 7"):
        promote(dev, target, "churn@7")
    with pytest.raises(ModelNotFound):
        promote(dev, target, "nothing@1")
    with pytest.raises(AutomationUsageError, match="use the same metadata store"):
        promote(dev, dev, "churn@1")
    with pytest.raises(AutomationUsageError, match="reason: say why"):
        approve(dev, target, "churn@1", reason="  ")
    with pytest.raises(ModelNotFound):
        target.registry.history("churn")


def test_a_loss_must_not_rise_past_production_s(dev, staging_on, tmp_path):
    """For a loss or an error less is better: `min_metrics` is a ceiling and
    `max_regression` refuses a rise."""
    target = staging_on(max_regression={"log_loss": 0.01}, min_metrics={"log_loss": 0.6})
    held = _candidate(dev, tmp_path, {"log_loss": 0.50}, name="old")
    promote(dev, target, f"churn@{held}", alias="production")
    worse = _candidate(dev, tmp_path, {"log_loss": 0.55}, name="worse")
    with pytest.raises(PromotionRefused) as refused:
        promote(dev, target, f"churn@{worse}")
    verdicts = {g.name: (g.passed, g.detail) for g in refused.value.promotion.gates}
    assert verdicts["min_metrics.log_loss"] == (True, "log_loss 0.55 <= 0.6")
    assert verdicts["max_regression.log_loss"][0] is False
    better = _candidate(dev, tmp_path, {"log_loss": 0.45}, name="better")
    assert promote(dev, target, f"churn@{better}").promoted
