"""The console with tokens on, in Chromium, over a real `conveyor ui`: the page loads
without a token and asks for one, the API does not answer without it, a token too low
for cancelling is told so, and one high enough cancels."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from ui_support import conveyor_server, home_at, needs_browser_and_build

READ, DEPLOY = "console-read-token", "console-deploy-token"
RUN = "orphan-1"
"""A RUNNING run whose runner is gone: cancelling closes it at once."""


@dataclass(frozen=True)
class Served:
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("console-tokens")
    folder = root / "home"
    with home_at(folder) as home:
        home.store.create_run(RUN, "shouter", parameters={"word": "hi"})
    tokens = root / "tokens"
    tokens.write_text(f"read {READ} viewer\ndeploy {DEPLOY} release-bot\n")
    with conveyor_server("ui", folder, root / "ui.log", tokens=tokens) as url:
        yield Served(url)


def sign_in(page, token: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_the_page_loads_without_a_token_and_asks_for_one(served, page):
    shell = page.goto(f"{served.url}/ui/runs")
    assert shell.status == 200
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.request.get(f"{served.url}/api/v1/runs").status == 401
    sign_in(page, "not-a-token")
    expect(page.get_by_role("alert")).to_have_text("That token is not valid on this server.")
    sign_in(page, READ)
    expect(page.locator(f'tr[data-run="{RUN}"] .status')).to_have_text("RUNNING (runner lost)")
    page.reload()  # the token is kept for the tab
    expect(page.locator(f'tr[data-run="{RUN}"]')).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_token_s_role_too_low_is_told_and_one_high_enough_cancels(served, page):
    page.goto(f"{served.url}/ui/runs/{RUN}")
    sign_in(page, READ)
    expect(page.get_by_text("This run recorded no pipeline spec")).to_be_visible()
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_role("alert")).to_have_text("Your token's role cannot do this.")
    expect(page.locator(".run-header .status")).to_have_text("RUNNING (runner lost)")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, DEPLOY)
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator(".run-header .status")).to_have_text("CANCELLED")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
