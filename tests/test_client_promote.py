"""`Client.promote` and `Client.approve`: from the client's home (or another environment) to
an environment of a conveyor.toml, each home on SQLite of its own, the target opened for
the call."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.client import Client, PromotionRefused
from conveyor.config import Settings
from conveyor.errors import ConveyorError
from conveyor.home import Home, open_home
from conveyor.registry import HistoryAction, ModelNotFound

ENVIRONMENTS = """
[env.dev]
home = "dev-home"
[env.staging]
home = "staging-home"
[env.staging.gates]
min_metrics = { roc_auc = 0.5 }
[env.prod]
home = "prod-home"
[env.prod.gates]
min_metrics = { roc_auc = 0.8 }
approval = true
[env.same]
home = "same-home"
metadata_url = "sqlite:///dev-home/metadata.db"
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A conveyor.toml of dev, staging (roc_auc at least 0.5), prod (at least 0.8, and an
    approval) and `same` (dev's store); dev holds churn@1 with roc_auc 0.9."""
    (tmp_path / "conveyor.toml").write_text(ENVIRONMENTS)
    monkeypatch.setenv("CONVEYOR_CONFIG", str(tmp_path / "conveyor.toml"))
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text("# a predictor\n")
    with Client() as dev:
        dev.upload_model("churn", model, framework="custom")
        dev.add_model_evaluation("churn@1", {"roc_auc": 0.9})
    return tmp_path


def opened(env: str) -> Home:
    return open_home(settings=Settings.from_env(env=env))


@pytest.fixture
def client(project) -> Iterator[Client]:
    with Client() as client:
        yield client


def test_promote_from_the_client_home_through_the_gates(client):
    assert client.home.settings.env == "dev"
    done = client.promote("churn@1", to_env="staging", alias="production")
    assert (done.source_env, done.target_env, done.promoted) == ("dev", "staging", True)
    assert (done.target_version, done.alias) == (1, "production")
    assert [(g.name, g.passed, g.detail) for g in done.gates] == [
        ("min_metrics.roc_auc", True, "roc_auc 0.9 >= 0.5")
    ]
    with opened("staging") as staging:
        version = staging.registry.get_version("churn@production")
        assert version.origin["environment"] == "dev"
        assert (version.origin["model"], version.origin["version"]) == ("churn", 1)
        assert version.sha256 == client.get_model_version("churn@1").sha256
        assert version.labels["promoted-from"] == "dev"
        assert str(staging.settings.folder).endswith("staging-home")

    again = client.promote("churn@1", to_env="staging", alias="canary")
    assert (again.already, again.promoted, again.target_version, again.gates) == (
        True,
        False,
        1,
        [],
    )
    assert again.target_aliases == ["default", "production"]
    assert again.to_json()["already"] is True


def test_a_dry_run_judges_and_moves_nothing(client):
    done = client.promote("churn@1", to_env="prod", dry_run=True)
    assert (done.dry_run, done.promoted, done.passed, done.target_version) == (
        True,
        False,
        False,
        None,
    )
    assert [(g.name, g.passed) for g in done.gates] == [
        ("min_metrics.roc_auc", True),
        ("approval", False),
    ]
    with opened("prod") as prod, pytest.raises(ModelNotFound):
        prod.registry.history("churn")


def test_a_refusal_holds_every_verdict_and_an_approval_lets_it_through(client):
    with pytest.raises(PromotionRefused, match="approval: no approval of dev churn@1") as refused:
        client.promote("churn@1", to_env="prod")
    assert [(g.name, g.passed) for g in refused.value.promotion.gates] == [
        ("min_metrics.roc_auc", True),
        ("approval", False),
    ]

    entry = client.approve("churn@1", to_env="prod", reason="eval report reviewed")
    assert entry.action == HistoryAction.PROMOTION_APPROVED
    assert (entry.actor, entry.comment) == ("dana", "eval report reviewed")
    assert entry.details["environment"] == "dev"

    done = client.promote("churn@1", to_env="prod", alias="production")
    assert done.promoted and done.target_version == 1
    with opened("prod") as prod:
        actions = [e.action for e in prod.registry.history("churn")]
    assert HistoryAction.PROMOTION_REFUSED in actions
    assert actions.index(HistoryAction.PROMOTION_APPROVED) < actions.index(
        HistoryAction.VERSION_CREATED
    )


def test_from_another_environment_than_the_client_home(project, tmp_path):
    with Client(tmp_path / "elsewhere") as client:
        done = client.promote("churn@1", to_env="staging", from_env="dev")
        assert (done.source_env, done.promoted) == ("dev", True)
        with pytest.raises(ModelNotFound):
            client.get_model_version("churn@1")  # the client's own home took no part


def test_the_variables_that_place_a_run_s_home_stay_with_it(project, monkeypatch):
    """A run's task has the run's home in CONVEYOR_METADATA_URL and CONVEYOR_ARTIFACT_ROOT:
    staging, which declares only its `home`, still keeps its store there."""
    with monkeypatch.context() as task:
        for name, value in Settings.from_env(env="dev").to_env().items():
            task.setenv(name, value)
        with Client() as client:
            done = client.promote("churn@1", to_env="staging")
    assert done.promoted
    with opened("staging") as staging:
        assert staging.settings.metadata_url.endswith("staging-home/metadata.db")
        assert staging.registry.get_version("churn@1").origin["environment"] == "dev"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.promote("churn@1", to_env=""), "to_env: name an environment"),
        (lambda c: c.promote("churn@1", to_env="nowhere"), "unknown environment 'nowhere'"),
        (
            lambda c: c.promote("churn@1", to_env="staging", from_env=" "),
            "from_env: name an environment",
        ),
        (lambda c: c.promote("churn@1", to_env="same"), "use the same metadata store"),
        (lambda c: c.promote("churn@7", to_env="staging"), "'churn' has no version 7"),
        (lambda c: c.approve("churn@1", to_env="prod", reason=" "), "reason: say why"),
    ],
)
def test_bad_requests_name_what_is_wrong(client, call, message):
    with pytest.raises(ConveyorError, match=message):
        call(client)
