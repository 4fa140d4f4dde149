"""The console's runs pages in Chromium, over a real `conveyor serve`: the runs list and
its filters and pages, a run's graph with each task's state, the task inspector, and a
running run's states changing on the page without a reload."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from ui_support import (
    SCREENSHOTS,
    TAKE_SCREENSHOTS,
    conveyor_server,
    exploder,
    home_at,
    needs_browser_and_build,
    shapes,
    waiter,
)

from conveyor.client import Client


@dataclass(frozen=True)
class Served:
    url: str
    folder: Path
    runs: dict[str, str]
    """shapes (labelled), failed, cached (all hits, in an experiment): their run ids."""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("console")
    folder = root / "home"
    with home_at(folder) as home:
        client = Client(home)
        runs = {
            "shapes": client.run(shapes, {"n": 3}, labels={"team": "growth"}),
            "failed": client.run(exploder, {}),
            "cached": client.run(shapes, {"n": 3}, experiment="trials", run_name="again"),
        }
    with conveyor_server("serve", folder, root / "serve.log") as url:
        yield Served(url, folder, {name: run.run_id for name, run in runs.items()})


def shown_runs(page: Page) -> list[str]:
    return page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.run)")


def test_the_runs_list_shows_every_run_newest_first(served, page):
    page.goto(served.url)  # `/` leads to the console, whose default page lists runs
    expect(page).to_have_url(f"{served.url}/ui")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    assert shown_runs(page) == [served.runs[n] for n in ("cached", "failed", "shapes")]
    cached = page.locator(f'tr[data-run="{served.runs["cached"]}"]')
    expect(cached.locator(".status")).to_have_text("SUCCEEDED")
    expect(cached).to_contain_text("again")
    expect(cached).to_contain_text("trials")
    expect(page.locator(f'tr[data-run="{served.runs["failed"]}"] .status')).to_have_class(
        "status status-FAILED"
    )
    expect(page.locator(f'tr[data-run="{served.runs["shapes"]}"] .label')).to_have_text(
        "team=growth"
    )


@pytest.mark.parametrize(
    "field, value, query, expected",
    [
        ("Status", "FAILED", "status=FAILED", "failed"),
        ("Labels", "team=growth", "label=team%3Dgrowth", "shapes"),
        ("Experiment", "trials", "experiment=trials", "cached"),
    ],
)
def test_the_runs_list_filters_and_the_address_keeps_the_filter(
    served, page, field, value, query, expected
):
    page.goto(f"{served.url}/ui/runs")
    expect(page.locator("tbody tr")).to_have_count(3)
    control = page.get_by_label(field)
    if field == "Status":
        control.select_option(value)
    else:
        control.fill(value)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{served.url}/ui/runs?{query}")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert shown_runs(page) == [served.runs[expected]]
    page.reload()  # the filter is in the address
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_label(field)).to_have_value(value)


def test_the_runs_list_filters_by_creation_time(served, page):
    page.goto(f"{served.url}/ui/runs?since=2999-01-01T00:00:00Z")
    expect(page.get_by_text("No runs match.")).to_be_visible()
    page.get_by_label("Created since").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    assert "since=2020-01-01T" in page.url


def test_the_runs_list_pages_by_token(served, page):
    page.goto(f"{served.url}/ui/runs?page_size=2")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    assert shown_runs(page) == [served.runs["shapes"]]
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="First page").click()
    expect(page.locator("tbody tr")).to_have_count(2)


def spec_names(served, run: str) -> tuple[str, str]:
    """The compiler's names of the shapes pipeline's condition and loop."""
    with home_at(served.folder) as home:
        tasks = home.store.get_run(served.runs[run]).spec["root"]["dag"]["tasks"]
    condition = next(name for name in tasks if name.startswith("condition-"))
    loop = next(name for name in tasks if name.startswith("for-loop-"))
    return condition, loop


def states(page: Page) -> dict[str, str]:
    """Each drawn task's key -> its classes."""
    return page.locator("[data-task]").evaluate_all(
        "boxes => Object.fromEntries(boxes.map(b => [b.dataset.task, b.className]))"
    )


def test_a_run_graph_draws_every_task_with_its_state(served, page):
    condition, loop = spec_names(served, "shapes")
    page.goto(f"{served.url}/ui/runs/{served.runs['shapes']}")
    expect(page.locator(".node")).to_have_count(5)
    assert states(page) == {
        "make": "node state-COMPLETE",
        "inner": "group state-COMPLETE",
        "inner/add": "node state-COMPLETE",
        condition: "group state-NOT_RUN",
        f"{condition}/make-2": "node state-NOT_RUN",
        loop: "group state-COMPLETE",
        f"{loop}[*]/add": "node state-COMPLETE",
        "report": "node state-COMPLETE",
    }
    expect(page.locator(f'[data-task="{loop}[*]/add"]')).to_contain_text("2×")
    expect(page.locator(f'[data-task="{condition}"]')).to_contain_text("not run")
    expect(page.locator(".graph .edges polyline")).to_have_count(4)  # make -> 3, inner -> report
    page.goto(f"{served.url}/ui/runs/{served.runs['cached']}")
    expect(page.locator(".node.cached")).to_have_count(4)  # every task that ran: a cache hit
    expect(page.locator('[data-task="report"]')).to_have_class("node state-CACHED cached")
    page.goto(f"{served.url}/ui/runs/{served.runs['failed']}")
    expect(page.locator('[data-task="explode"]')).to_have_class("node state-FAILED")
    expect(page.locator(".run-header .status")).to_have_text("FAILED")
    expect(page.locator(".run-error")).to_contain_text("ValueError: cannot handle 4")


def test_the_inspector_shows_a_task_s_outputs_metrics_cache_and_log(served, page):
    page.goto(f"{served.url}/ui/runs/{served.runs['shapes']}")
    page.locator('[data-task="make"]').click()
    inspector = page.get_by_role("complementary", name="Task inspector")
    expect(inspector.locator(".log-text")).to_contain_text("making 3")
    expect(inspector.locator("table.values").nth(1)).to_contain_text("Output6")
    expect(inspector.locator(".cache")).to_contain_text("Not a hit: first-execution")
    page.locator('[data-task="report"]').click()
    metrics = inspector.locator('[data-artifact="metrics"]')
    expect(metrics).to_contain_text("system.Metrics")
    expect(metrics.locator("table")).to_contain_text("accuracy0.9")
    expect(inspector.locator(".log-text")).to_contain_text("reporting 7")
    condition, loop = spec_names(served, "shapes")
    page.locator(f'[data-task="{loop}[*]/add"]').click()
    iterations = inspector.get_by_role("navigation", name="Iterations").get_by_role("button")
    expect(iterations).to_have_text(["[0]", "[1]"])
    iterations.nth(0).click()
    expect(inspector.locator("table.values").nth(0)).to_contain_text("a1")
    page.locator(f'[data-task="{condition}/make-2"]').click()
    expect(inspector).to_contain_text("Not run")
    page.goto(f"{served.url}/ui/runs/{served.runs['failed']}")
    page.locator('[data-task="explode"]').click()
    expect(inspector.locator(".task-error")).to_contain_text("ValueError: cannot handle 4")
    expect(inspector.locator(".log-text")).to_contain_text("working on 4")
    page.goto(f"{served.url}/ui/runs/{served.runs['cached']}")
    page.locator('[data-task="report"]').click()
    expect(inspector.locator(".cache")).to_contain_text("Cache hit")
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{served.url}/ui/runs/{served.runs['shapes']}")
        page.locator('[data-task="report"]').click()
        expect(inspector.locator(".log-text")).to_contain_text("reporting 7")
        page.locator(".tasks").screenshot(path=SCREENSHOTS / "run-graph.png")


def test_a_running_run_changes_on_the_page_without_a_reload(served, page, tmp_path):
    go = tmp_path / "go"
    waiting = threading.Event()
    outcome = {}

    def listen(node):
        if node.name == "wait-for" and node.status == "RUNNING":
            waiting.set()

    def run():
        try:
            with home_at(served.folder) as home:
                outcome["run"] = Client(home).run(
                    waiter, {"path": str(go)}, run_id="live-1", listener=listen
                )
        finally:
            waiting.set()  # a run that failed to start fails the test at once

    runner = threading.Thread(target=run)
    runner.start()
    try:
        assert waiting.wait(120) and "run" not in outcome, "the waiting task did not start"
        page.goto(f"{served.url}/ui/runs/live-1")
        expect(page.locator(".run-header .status")).to_have_text("RUNNING")
        expect(page.locator('[data-task="wait-for"]')).to_have_class("node state-RUNNING")
        expect(page.locator('[data-task="make"]')).to_have_class(
            re.compile("state-(COMPLETE|CACHED)")
        )
        expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
        page.locator('[data-task="wait-for"]').click()
        expect(page.locator(".inspector .log-text")).to_be_visible()
    finally:
        go.write_text("done")  # the waiting task ends, and the run
        runner.join(120)
    expect(page.locator(".run-header .status")).to_have_text("SUCCEEDED")
    expect(page.locator('[data-task="wait-for"]')).to_contain_class("state-COMPLETE")
    expect(page.locator(".inspector .log-text")).to_contain_text("found")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    assert outcome["run"].status == "SUCCEEDED"
