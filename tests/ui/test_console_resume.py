"""Resuming a run from the console, over a real `conveyor serve` with tokens: a run that
failed on a missing gate file succeeds on the page once the file exists and "Resume run"
is clicked; a read token is refused with the role's message, a run without a spec with
the API's. No `from __future__ import annotations`: kfp reads the components' annotations
as types."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from kfp import dsl
from playwright.sync_api import Page, expect
from ui_support import conveyor_server, home_at, make, needs_browser_and_build

from conveyor.client import Client

READ, DEPLOY = "resume-read-token", "resume-deploy-token"
ROLE_MESSAGE = "Your token's role cannot do this."


@dsl.component
def gate(path: str) -> str:
    """Passes once the file at `path` exists (the test makes it)."""
    import pathlib

    if not pathlib.Path(path).exists():
        raise RuntimeError(f"the gate file {path} is missing")
    return "open"


@dsl.pipeline(name="gated")
def gated(path: str) -> str:
    return gate(path=path).after(make(n=1)).output


@dataclass(frozen=True)
class Served:
    url: str
    folder: Path
    gated: str
    """The run that failed on its gate file."""
    gate_file: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("resume")
    folder, gate_file = root / "home", root / "gate"
    with home_at(folder) as home:
        failed = Client(home).run(gated, {"path": str(gate_file)})
        assert failed.status == "FAILED"
        home.store.create_run("nospec-1", "lost", lease="t")  # recorded without its spec
        home.store.end_run("nospec-1", "t", "FAILED", "it broke")
    tokens = root / "tokens"
    tokens.write_text(f"read {READ} viewer\ndeploy {DEPLOY} release-bot\n")
    with conveyor_server("serve", folder, root / "serve.log", tokens=tokens) as url:
        yield Served(url, folder, failed.run_id, gate_file)


def open_as(page: Page, url: str, token: str) -> None:
    """Open `url` and sign in with `token` when the console asks for one."""
    page.goto(url)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_a_read_token_cannot_resume_a_run(served, page):
    open_as(page, f"{served.url}/ui/runs/nospec-1", READ)
    expect(page.locator(".run-header .status")).to_have_text("FAILED")
    page.get_by_role("button", name="Resume run").click()
    expect(page.get_by_role("alert")).to_have_text(ROLE_MESSAGE)
    expect(page.locator(".run-header .status")).to_have_text("FAILED")


def test_a_run_without_its_spec_cannot_be_resumed(served, page):
    open_as(page, f"{served.url}/ui/runs/nospec-1", DEPLOY)
    page.get_by_role("button", name="Resume run").click()
    expect(page.get_by_role("alert")).to_have_text(
        "run nospec-1 has no recorded pipeline spec; it cannot be resumed"
    )


def test_a_failed_run_resumed_from_its_page_succeeds_there(served, page):
    open_as(page, f"{served.url}/ui/runs/{served.gated}", DEPLOY)
    expect(page.locator(".run-header .status")).to_have_text("FAILED")
    expect(page.locator('[data-task="gate"]')).to_have_class("node state-FAILED")
    served.gate_file.write_text("open")
    page.get_by_role("button", name="Resume run").click()
    expect(page.locator(".run-header .status")).to_have_text("SUCCEEDED")
    expect(page.locator('[data-task="gate"]')).to_contain_class("state-COMPLETE")
    expect(page.get_by_role("button", name="Resume run")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    with home_at(served.folder) as home:
        ran = [e.task_key for e in home.store.get_run(served.gated).executions]
    assert sorted(ran) == ["gate", "gate", "make"]  # only the failed task ran again
