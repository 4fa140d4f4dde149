"""The console's models and endpoints pages in Chromium, over a real `conveyor serve` with
tokens: the models list, a model's versions with one in detail (schemas, evaluation, files,
the run that produced it, the environment it was promoted from) and its history, moving an
alias (refused to a read token), the endpoints list, setting an endpoint's traffic (checked
on the page, then by the API), and a canary rollout at its second step, paused, resumed and
aborted. No `from __future__ import annotations` here: kfp reads the pipeline's annotations."""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import skops.io
from kfp import dsl
from playwright.sync_api import Page, expect
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from ui_support import conveyor_server, home_at, make, needs_browser_and_build

from conveyor.automation.rollout_records import Criteria
from conveyor.client import Client
from conveyor.serving.totals import DeployedTotals

READ, ADMIN = "models-read-token", "models-admin-token"
ROLE_MESSAGE = "Your token's role cannot do this."
FEATURES = [
    {"name": name, "type": "float"}
    for name in ("sepal_length", "sepal_width", "petal_length", "petal_width")
]
OUTPUT = [{"name": "species", "type": "integer"}]
TESTER = "console-test"
"""Holds the rollout's lease, so the server leaves its step where the test put it."""


@dsl.pipeline(name="trainer")
def trainer(n: int = 1) -> int:
    return make(n=n).output


@dataclass(frozen=True)
class Served:
    url: str
    run_id: str
    """The run that produced iris@2."""
    ab: dict[str, str]
    """iris-ab's deployed model ids: pinned (iris@1, 70 %) and second (iris@2, 30 %)."""
    rollout: int
    """The current rollout on iris-prod (iris@3), at its second step."""


def saved_model(folder: Path) -> Path:
    """A small iris classifier saved with skops in `folder`."""
    folder.mkdir(parents=True)
    features, target = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, target)
    skops.io.dump(model, folder / "model.skops")
    return folder


def passing(requests: int) -> DeployedTotals:
    """A deployed model's counters: `requests`, every one fast and answered."""
    return DeployedTotals(
        requests=requests,
        errors=0,
        latency_bounds=(0.01, float("inf")),
        latency_counts=(requests, requests),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("console-models")
    folder = root / "home"
    first = saved_model(root / "models" / "v1")
    copies = [shutil.copytree(first, root / "models" / name) for name in ("v2", "v3")]
    with home_at(folder) as home:
        client = Client(home)
        run = client.run(trainer, {"n": 2})
        schemas = {"input_schema": FEATURES, "output_schema": OUTPUT}
        client.upload_model(
            "iris", first, framework="sklearn", aliases=["production"], trusted=True, **schemas
        )
        client.upload_model(
            "iris",
            copies[0],
            framework="sklearn",
            aliases=["candidate"],
            run_id=run.run_id,
            **schemas,
        )
        promoted = {"environment": "dev", "model": "iris", "version": 7, "run": "dev-run"}
        home.registry.upload(
            "iris",
            copies[1],
            framework="sklearn",
            aliases=["staging"],
            origin=promoted,
            **schemas,
        )
        client.add_model_evaluation("iris@2", {"accuracy": 0.97, "f1": 0.96})
        client.create_endpoint("iris-ab", description="A/B of two versions")
        pinned = client.deploy("iris-ab", "iris@1")
        second = client.deploy("iris-ab", "iris@2", traffic_percentage=30)
        client.create_endpoint("iris-prod", description="Production traffic")
        client.deploy("iris-prod", "iris@production")
        canary = {"steps": [10, 50, 100], "interval_seconds": 0.001}
        canary["criteria"] = Criteria(max_error_rate=0.05, min_requests=10)
        client.start_rollout("iris-prod", "iris@2", **canary)
        client.abort_rollout("iris-prod", reason="wrong candidate")
        rollout = client.start_rollout("iris-prod", "iris@3", **canary)
        rollouts = home.rollouts
        assert rollouts.claim(rollout.id, TESTER, 3600)
        totals = {rollout.candidate_deployed_model_id: passing(0)}
        rollouts.advance(rollouts.get(rollout.id), lambda: totals, TESTER)  # opens a window
        totals = {rollout.candidate_deployed_model_id: passing(50)}
        rollouts.advance(rollouts.get(rollout.id), lambda: totals, TESTER)  # passes: 50 %
        assert rollouts.get(rollout.id).weight == 50
    tokens = root / "tokens"
    tokens.write_text(f"read {READ} viewer\nadmin {ADMIN} release-manager\n")
    with conveyor_server("serve", folder, root / "serve.log", tokens=tokens) as url:
        yield Served(url, run.run_id, {"pinned": pinned.id, "second": second.id}, rollout.id)


def open_as(page: Page, url: str, token: str) -> None:
    """Open `url` and sign in with `token` when the console asks for one."""
    page.goto(url)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def switch_to(page: Page, token: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_the_models_page_lists_each_model_with_its_latest_version_and_aliases(served, page):
    open_as(page, f"{served.url}/ui/models", READ)
    row = page.locator('tr[data-model="iris"]')
    expect(row).to_be_visible()
    expect(row.locator("td").nth(1)).to_have_text("3")
    expect(row.locator(".alias")).to_have_text(
        ["default → 1", "candidate → 2", "production → 1", "staging → 3"]
    )
    expect(page.get_by_role("link", name="Models")).to_have_attribute("aria-current", "page")
    row.get_by_role("link", name="iris").click()
    expect(page).to_have_url(f"{served.url}/ui/models/iris")
    expect(page.get_by_role("heading", name="iris", exact=True)).to_be_visible()


def test_a_version_shows_its_schemas_evaluation_files_lineage_and_origin(served, page):
    open_as(page, f"{served.url}/ui/models/iris", READ)
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(3)
    assert versions.evaluate_all("rows => rows.map(r => r.dataset.version)") == ["3", "2", "1"]
    third = page.locator('tr[data-version="3"]')
    expect(third.locator("td").nth(6)).to_have_text("dev")  # promoted from dev
    first = page.locator('tr[data-version="1"]')
    expect(first.locator("td").nth(5)).to_have_text("yes")
    expect(first.locator("td").nth(6)).to_have_text("—")
    page.get_by_role("link", name="iris@2").click()
    expect(page).to_have_url(f"{served.url}/ui/models/iris?version=2")
    detail = page.get_by_role("article", name="Version 2")
    expect(detail.get_by_role("row", name="petal_width float")).to_be_visible()
    expect(detail.get_by_role("row", name="species integer")).to_be_visible()
    expect(detail.locator(".evaluation")).to_contain_text("accuracy")
    expect(detail.locator(".evaluation")).to_contain_text("0.97")
    expect(detail.locator("table.files tbody tr")).to_have_count(1)
    expect(detail.locator("table.files")).to_contain_text("model.skops")
    expect(detail.locator("table.files td").nth(1)).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    history = page.locator("table.history")
    expect(history).to_contain_text("evaluation_added")
    expect(history).to_contain_text("rollout_aborted")
    detail.get_by_role("link", name=f"run {served.run_id}").click()
    expect(page).to_have_url(f"{served.url}/ui/runs/{served.run_id}")
    expect(page.locator(".run-header .status")).to_have_text("SUCCEEDED")


def test_moving_an_alias_needs_the_admin_role(served, page):
    open_as(page, f"{served.url}/ui/models/iris", READ)
    form = page.get_by_role("form", name="Move an alias")
    form.get_by_label("Alias").fill("candidate")
    form.get_by_label("To version").select_option("3")
    form.get_by_role("button", name="Move alias").click()
    expect(page.get_by_role("alert")).to_have_text(ROLE_MESSAGE)
    expect(page.locator('tr[data-alias="candidate"] td').first).to_have_text("2")

    switch_to(page, ADMIN)
    form.get_by_label("Alias").fill("candidate")
    form.get_by_label("To version").select_option("3")
    form.get_by_label("Why (kept in the history)").fill("v3 is better")
    form.get_by_role("button", name="Move alias").click()
    expect(page.locator('tr[data-alias="candidate"] td').first).to_have_text("3")
    moved = page.locator("table.history tbody tr").first
    expect(moved).to_contain_text("alias_set")
    expect(moved).to_contain_text("2 → 3")
    expect(moved).to_contain_text("v3 is better")
    expect(page.locator('tr[data-version="3"] .alias')).to_contain_text(["candidate"])

    page.get_by_role("button", name="Remove candidate").click()
    expect(page.locator('tr[data-alias="candidate"]')).to_have_count(0)
    expect(page.locator("table.history tbody tr").first).to_contain_text("alias_removed")
    expect(page.get_by_role("button", name="Remove default")).to_have_count(0)


def test_the_endpoints_page_lists_deployed_models_and_traffic(served, page):
    open_as(page, f"{served.url}/ui/endpoints", READ)
    ab = page.locator('tr[data-endpoint="iris-ab"]')
    expect(ab).to_contain_text("A/B of two versions")
    expect(ab.locator("td").nth(2)).to_have_text("2")
    pinned, second = served.ab["pinned"], served.ab["second"]
    expect(ab.get_by_role("img")).to_have_attribute(
        "aria-label", f"Traffic: {pinned}: 70 %, {second}: 30 %"
    )
    expect(page.locator('tr[data-endpoint="iris-prod"] td').nth(2)).to_have_text("2")
    ab.get_by_role("link", name="iris-ab").click()
    deployed = page.locator("tr[data-deployed]")
    expect(deployed).to_have_count(2)
    expect(page.locator(f'tr[data-deployed="{second}"]')).to_contain_text("iris@2")
    expect(page.locator(f'tr[data-deployed="{second}"] td').nth(4)).to_have_text("30 %")
    expect(page.get_by_text("No rollout in progress.")).to_be_visible()


def test_setting_traffic_checks_the_total_then_shows_the_api_s_answer(served, page):
    pinned, second = served.ab["pinned"], served.ab["second"]
    open_as(page, f"{served.url}/ui/endpoints/iris-ab", ADMIN)
    form = page.get_by_role("form", name="Set traffic")
    form.get_by_label(f"{pinned} (iris@1)").fill("40")
    form.get_by_label(f"{second} (iris@2)").fill("60")
    form.get_by_role("button", name="Set traffic").click()
    bar = page.locator(".endpoint > .traffic-bar")
    expect(bar).to_have_attribute("aria-label", f"Traffic: {pinned}: 40 %, {second}: 60 %")
    expect(page.locator(f'tr[data-deployed="{second}"] td').nth(4)).to_have_text("60 %")

    form.get_by_label(f"{second} (iris@2)").fill("50")
    form.get_by_role("button", name="Set traffic").click()
    expect(form.get_by_role("alert")).to_have_text(
        "The percentages add up to 90; they must add up to 100."
    )
    # Meanwhile someone undeploys iris@2: the form's split names a model no longer there.
    answer = page.request.post(
        f"{served.url}/api/v1/endpoints/iris-ab:undeployModel",
        headers={"Authorization": f"Bearer {ADMIN}"},
        data={"deployed_model_id": second},
    )
    assert answer.ok, answer.text()
    form.get_by_label(f"{pinned} (iris@1)").fill("50")
    form.get_by_role("button", name="Set traffic").click()
    expect(form.get_by_role("alert")).to_contain_text(
        f"the traffic split names deployed model '{second}', which is not on the endpoint"
    )


def test_a_rollout_shows_its_step_and_is_paused_resumed_and_aborted(served, page):
    open_as(page, f"{served.url}/ui/endpoints/iris-prod", READ)
    current = page.get_by_role("article", name=f"Rollout {served.rollout}")
    expect(current.locator(".step")).to_have_text("Step 2 of 3 (50 %)")
    expect(current.locator(".steps li")).to_have_text(["10 %", "50 %", "100 %"])
    expect(current.locator('.steps li[aria-current="step"]')).to_have_text("50 %")
    expect(current.locator(".rollout-state")).to_have_text("progressing")
    expect(current.locator("table.analyses tbody tr")).to_have_count(1)
    expect(current.locator(".verdict-passed")).to_have_text("passed")
    expect(current).to_contain_text("0 of 2 allowed")
    expect(current).to_contain_text(TESTER)
    past = page.locator("table.past-rollouts tbody tr")
    expect(past).to_have_count(1)
    expect(past.first).to_contain_text("aborted")
    expect(past.first).to_contain_text("wrong candidate")
    bar = page.locator(".endpoint > .traffic-bar")
    expect(bar).to_have_attribute("aria-label", re.compile(r": 50 %, \d+: 50 %$"))

    current.get_by_role("button", name="Pause rollout").click()
    expect(current.get_by_role("alert")).to_have_text(ROLE_MESSAGE)

    switch_to(page, ADMIN)
    current.get_by_role("button", name="Pause rollout").click()
    expect(current.locator(".rollout-state")).to_have_text("paused")
    current.get_by_role("button", name="Resume rollout").click()
    expect(current.locator(".rollout-state")).to_have_text("progressing")
    page.once("dialog", lambda dialog: dialog.accept())
    current.get_by_role("button", name="Abort rollout").click()
    expect(page.get_by_text("No rollout in progress.")).to_be_visible()
    expect(past).to_have_count(2)
    expect(page.locator("tr[data-deployed]")).to_have_count(1)
