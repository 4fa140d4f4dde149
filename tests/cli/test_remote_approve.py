"""`conveyor models approve --from dev --to prod` and `Client.approve` when prod is a real
`conveyor serve` with API tokens (its server_url, its token from token_env): the version is
read from dev's store, the server records the approval as the token's owner, where prod's
`approval` gate finds it; a token below `approver` is refused, and nothing is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.automation import gates
from conveyor.client import Client
from conveyor.config import Settings
from conveyor.environments import Gates
from conveyor.errors import UsageError
from conveyor.home import Home, open_home
from conveyor.registry import HistoryAction
from conveyor.remote import PermissionDenied
from remote_support import conveyor_serve

TOKENS = {"read": "r-token-9", "deploy": "d-token-9", "approver": "ap-token-9"}
NAMES = {"read": "grafana", "deploy": "release-bot", "approver": "erin"}
VARIABLE = "CONVEYOR_TEST_PROD_TOKEN"


@dataclass(frozen=True)
class Prod:
    url: str
    folder: Path


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> Iterator[Prod]:
    """`conveyor serve` over an empty home, with a read, a deploy and an approver token."""
    root = tmp_path_factory.mktemp("prod")
    tokens = {role: (token, NAMES[role]) for role, token in TOKENS.items()}
    with conveyor_serve(root / "prod-home", tokens, root) as url:
        yield Prod(url, root / "prod-home")


@pytest.fixture
def project(prod, tmp_path, monkeypatch, request) -> Path:
    """dev (a home of its own, holding churn@1, its files this test's own) and prod (the
    server, approval required); the approver's token in prod's token variable."""
    (tmp_path / "conveyor.toml").write_text(
        '[env.dev]\nhome = "dev-home"\n'
        f'[env.prod]\nserver_url = "{prod.url}"\ntoken_env = "{VARIABLE}"\n'
        "[env.prod.gates]\napproval = true\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVEYOR_CONFIG", str(tmp_path / "conveyor.toml"))
    monkeypatch.setenv(VARIABLE, TOKENS["approver"])
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text(f"# {request.node.name}\n")  # a sha256 of its own
    with Client(env="dev") as dev:
        dev.upload_model("churn", model, framework="custom")
    return tmp_path


def on_prod(prod: Prod) -> Home:
    """The server's own home, opened beside it."""
    return open_home(settings=Settings.from_env(prod.folder, environ={}))


def candidate() -> gates.Candidate:
    with open_home(settings=Settings.from_env(env="dev")) as dev:
        return gates.Candidate("dev", dev.registry.get_version("churn@1"), [], source=dev)


def approvals(prod: Prod) -> list:
    with on_prod(prod) as home:
        return gates.approvals(home.registry, candidate())


APPROVE = ("models", "approve", "churn@1", "--from", "dev", "--to", "prod")


def test_an_approver_approves_on_the_server_and_its_gate_finds_it(cli, project, prod):
    approved = cli(*APPROVE, "--reason", "eval report reviewed")
    assert approved.code == 0, approved.err
    sha256 = candidate().key["sha256"]
    assert approved.out.startswith(f"Approved dev churn@1 (sha256 {sha256[:12]}) for prod by erin")

    (entry,) = approvals(prod)
    assert (entry.action, entry.actor) == (HistoryAction.PROMOTION_APPROVED, "erin")
    assert (entry.comment, entry.details) == ("eval report reviewed", candidate().key)
    with on_prod(prod) as home:
        (verdict,) = gates.judge(Gates(approval=True), candidate(), home.registry, "prod")
    assert (
        verdict.passed and "approved by erin" in verdict.detail and "eval report" in verdict.detail
    )

    again = cli(*APPROVE, "--reason", "second look", "--json")
    assert again.code == 0, again.err
    shown = json.loads(again.out)
    assert (shown["actor"], shown["comment"], shown["details"]) == (
        "erin",
        "second look",
        candidate().key,
    )
    assert [e.comment for e in approvals(prod)] == ["eval report reviewed", "second look"]


@pytest.mark.parametrize("role", ["read", "deploy"])
def test_a_token_below_approver_is_refused(cli, project, prod, monkeypatch, role):
    monkeypatch.setenv(VARIABLE, TOKENS[role])
    refused = cli(*APPROVE, "--reason", "ship it")
    assert refused.code == 2
    assert f"environment 'prod' ({prod.url})" in refused.err
    assert f"token '{NAMES[role]}' has role {role}" in refused.err
    assert "needs approver or higher" in refused.err
    assert TOKENS[role] not in refused.err
    assert approvals(prod) == []


def test_what_is_refused_before_any_request(cli, project, prod, monkeypatch):
    blank = cli(*APPROVE, "--reason", "  ")
    assert blank.code == 2 and "reason: say why the version is approved" in blank.err
    same = cli("models", "approve", "churn@1", "--from", "prod", "--to", "prod", "--reason", "x")
    assert same.code == 2 and "--from and --to are both prod" in same.err
    missing = cli("models", "approve", "churn@7", "--from", "dev", "--to", "prod", "--reason", "x")
    assert missing.code == 2 and "has no version 7" in missing.err
    monkeypatch.delenv(VARIABLE)
    unset = cli(*APPROVE, "--reason", "ship it")
    assert unset.code == 2 and f"{VARIABLE}, which is not set" in unset.err
    assert approvals(prod) == []


def test_the_client_approves_over_rest(project, prod, monkeypatch):
    with Client(env="dev") as dev:
        entry = dev.approve("churn@1", to_env="prod", reason="from a notebook")
        assert (entry.actor, entry.comment) == ("erin", "from a notebook")
        assert entry.details == candidate().key
        monkeypatch.setenv(VARIABLE, TOKENS["deploy"])
        with pytest.raises(PermissionDenied, match="needs approver or higher"):
            dev.approve("churn@1", to_env="prod", reason="release bot")
        with pytest.raises(UsageError, match="reason: say why"):
            dev.approve("churn@1", to_env="prod", reason="")
    assert [e.id for e in approvals(prod)] == [entry.id]
