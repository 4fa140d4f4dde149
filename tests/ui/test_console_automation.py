"""The console's monitors, schedules and triggers, and pipelines pages in Chromium, over a
real `conveyor ui` with tokens: a monitor with two real jobs (one normal, one skewed) and
their metrics, distributions, distances over time and alerts; a schedule with a fire that
ran a pipeline, paused and resumed from the page (refused to a read token, and the API's
message for a schedule deleted meanwhile); a webhook trigger with a queued and a skipped
fire; a registered pipeline with two versions, a tag and its spec's graph. No `from
__future__ import annotations` here: kfp reads the pipelines' annotations."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from kfp import dsl
from playwright.sync_api import Page, expect
from ui_support import add, conveyor_server, home_at, make, needs_browser_and_build

from conveyor.automation.launch import execute
from conveyor.automation.requests import pipeline_job
from conveyor.serving.prediction_log import Entry, PredictionLogger

READ, DEPLOY, ADMIN = "automation-read", "automation-deploy", "automation-admin"
ROLE_MESSAGE = "Your token's role cannot do this."
SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]
END = datetime(2026, 6, 2, tzinfo=UTC)
DAY = timedelta(days=1)


@dsl.pipeline(name="hello")
def hello_v1(n: int = 1) -> int:
    return make(n=n).output


@dsl.pipeline(name="hello")
def hello_v2(n: int = 2) -> int:
    return add(a=make(n=n).output, b=1).output


class Runtime:
    """What the prediction logger asks of the runtime that answered: its features."""

    feature_names = ("tenure", "plan")

    def features(self):
        return SCHEMA


def rows(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    tenure = np.clip(rng.normal(30 + shift, 10, n), 0, None).round().astype(int)
    plan = rng.choice(["basic", "pro"], n, p=[0.7, 0.3] if not shift else [0.2, 0.8])
    return tenure, plan


def log_day(logger, end, seed, shift):
    """500 logged predictions of churn@1 in the day before `end`."""
    tenure, plan = rows(500, seed, shift)
    for r in range(10):
        part = slice(r * 50, (r + 1) * 50)
        instances = [[int(t), str(p)] for t, p in zip(tenure[part], plan[part], strict=True)]
        stamp = (end - timedelta(hours=20) + timedelta(minutes=r)).timestamp()
        logger.add(
            Entry(stamp, f"{seed}-{r}", "churn-prod", "1", "churn", 1, "vertex",
                  instances, ["stay"] * 50, None, 200, None, Runtime())
        )  # fmt: skip


@dataclass(frozen=True)
class Served:
    url: str
    jobs: list[int]
    """The monitor's jobs, oldest first: the first normal, the second skewed."""
    alerts: int
    run_id: str
    """The run the schedule's fire started."""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("console-automation")
    folder = root / "home"
    model = root / "model"
    model.mkdir()
    (model / "predictor.py").write_text("class Predictor:\n    pass\n")
    tenure, plan = rows(3000, 1)
    pq.write_table(pa.table({"tenure": tenure, "plan": plan}), root / "train.parquet")
    with home_at(folder) as home:
        home.registry.upload("churn", model, framework="custom", input_schema=SCHEMA)
        home.monitors.create(
            "churn-skew", "churn@1", training_dataset={"uri": str(root / "train.parquet")},
            tabular_objective={"feature_skew_spec": {}},
        )  # fmt: skip
        logger = PredictionLogger(home.store, home.artifacts)
        log_day(logger, END - DAY, 2, 0.0)
        log_day(logger, END, 3, 20.0)
        logger.flush()
        jobs = [
            home.monitors.run("churn-skew", start_time=END - 2 * DAY, end_time=END - DAY),
            home.monitors.run("churn-skew", start_time=END - DAY, end_time=END),
        ]
        assert [job.state.value for job in jobs] == ["JOB_STATE_SUCCEEDED"] * 2
        alerts = len(home.monitors.search_alerts("churn-skew"))
        assert alerts >= 1

        home.pipelines.upload("hello", hello_v1, tags=["prod"], description="one step")
        home.pipelines.upload("hello", hello_v2, description="two steps")
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        home.schedules.create(  # due once: at `hour`, its start
            "nightly", "0 * * * *", pipeline_job("hello@prod", {"n": 4}), start_time=hour
        )
        home.schedules.create("weekly", "0 3 * * 1", pipeline_job("hello@2"))
        (claim,) = home.schedules.claim_due("console-test", timedelta(minutes=5))
        assert execute(claim.fire_id, home) == 0
        home.triggers.create("on-call", "webhook", {}, pipeline_job("hello@prod"))
        home.triggers.pause("on-call")
        home.triggers.fire("on-call")  # skipped: paused
        home.triggers.resume("on-call")
        home.triggers.fire("on-call", {"n": 5})  # queued for a scheduler (none runs)
    tokens = root / "tokens"
    tokens.write_text(f"read {READ} viewer\ndeploy {DEPLOY} operator\nadmin {ADMIN} owner\n")
    with conveyor_server("ui", folder, root / "ui.log", tokens=tokens) as url:
        yield Served(url, [job.id for job in jobs], alerts, claim.run_id)


def open_as(page: Page, url: str, token: str) -> None:
    """Open `url` and sign in with `token` when the console asks for one."""
    page.goto(url)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_the_monitors_page_lists_each_monitor_with_its_latest_job(served, page):
    open_as(page, f"{served.url}/ui/monitors", READ)
    row = page.locator('tr[data-monitor="churn-skew"]')
    expect(row.locator("td")).to_have_count(6)
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text("churn@1")
    expect(cells.nth(2)).to_have_text("feature_skew")
    expect(cells.nth(3)).to_have_text("1d")
    expect(cells.nth(4).locator(".status")).to_have_text("SUCCEEDED")
    expect(cells.nth(5)).to_have_text(str(served.alerts))
    expect(page.get_by_role("link", name="Monitors")).to_have_attribute("aria-current", "page")
    row.get_by_role("link", name="churn-skew").click()
    expect(page).to_have_url(f"{served.url}/ui/monitors/churn-skew")
    expect(page.get_by_role("heading", name="churn-skew", exact=True)).to_be_visible()


def test_a_monitor_shows_its_jobs_metrics_distributions_history_and_alerts(served, page):
    first, second = served.jobs
    open_as(page, f"{served.url}/ui/monitors/churn-skew", READ)
    jobs = page.locator("table.jobs tbody tr")
    expect(jobs).to_have_count(2)
    assert jobs.evaluate_all("rows => rows.map(r => Number(r.dataset.job))") == [second, first]
    expect(jobs.first.locator("td").nth(5)).to_have_text(f"{served.alerts} anomaly")
    expect(jobs.nth(1).locator("td").nth(5)).to_have_text("0")
    latest = page.get_by_role("article", name=f"Job {second}")
    for feature in ("tenure", "plan"):
        metric = latest.locator(f'tr[data-feature="{feature}"]')
        expect(metric.locator(".verdict")).to_have_text("anomaly")
        expect(metric.locator("td").nth(4)).to_have_text("0.3")
    bars = latest.locator('figure[data-distribution="plan (feature_skew)"]')
    expect(bars.locator("g.bucket")).to_have_count(2)
    expect(bars.locator("g.bucket rect")).to_have_count(4)
    expect(
        latest.locator('figure[data-distribution="tenure (feature_skew)"] g.bucket')
    ).not_to_have_count(0)
    chart = page.locator('figure[data-chart="plan"]')
    expect(chart.locator(".legend li")).to_have_text(["feature_skew", "feature_skew threshold"])
    expect(page.locator('figure[data-chart="tenure"]')).to_be_visible()
    alerts = page.locator("table.alerts tbody tr")
    expect(alerts).to_have_count(served.alerts)
    expect(alerts.first).to_contain_text("anomaly")
    expect(alerts.first.locator("td").nth(1)).to_have_text(str(second))

    page.get_by_role("link", name=f"Job {first}").click()
    expect(page).to_have_url(f"{served.url}/ui/monitors/churn-skew?job={first}")
    earlier = page.get_by_role("article", name=f"Job {first}")
    expect(earlier.locator('tr[data-feature="plan"] .verdict')).to_have_text("normal")


def test_schedules_and_triggers_are_listed_and_paused_with_the_deploy_role(served, page):
    open_as(page, f"{served.url}/ui/schedules", READ)
    nightly = page.locator('tr[data-schedule="nightly"]')
    cells = nightly.locator("td")
    expect(cells.nth(2)).to_have_text("0 * * * *")
    expect(cells.nth(3)).to_have_text("hello@prod (n=4)")
    expect(cells.nth(4)).to_have_text("ACTIVE")
    expect(cells.nth(6)).to_have_text("1")
    trigger = page.locator('tr[data-trigger="on-call"]')
    expect(trigger.locator("td").nth(1)).to_have_text("webhook")
    expect(trigger.locator("td").nth(2)).to_have_text("a call to :fire")
    expect(trigger.locator("td").nth(4)).to_have_text("ACTIVE")

    nightly.get_by_role("button", name="Pause nightly").click()
    expect(nightly.get_by_role("alert")).to_have_text(ROLE_MESSAGE)
    expect(cells.nth(4)).to_have_text("ACTIVE")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API token").fill(DEPLOY)
    page.get_by_role("button", name="Sign in").click()
    nightly.get_by_role("button", name="Pause nightly").click()
    expect(cells.nth(4)).to_have_text("PAUSED")
    nightly.get_by_role("button", name="Resume nightly").click()
    expect(cells.nth(4)).to_have_text("ACTIVE")
    expect(trigger.get_by_role("button", name="Pause on-call")).to_be_visible()

    # Meanwhile someone deletes the weekly schedule: the page shows the API's answer.
    deleted = page.request.delete(
        f"{served.url}/api/v1/schedules/weekly", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert deleted.ok, deleted.text()
    weekly = page.locator('tr[data-schedule="weekly"]')
    weekly.get_by_role("button", name="Pause weekly").click()
    expect(weekly.get_by_role("alert")).to_contain_text("weekly")
    expect(weekly.get_by_role("alert")).not_to_have_text(ROLE_MESSAGE)


def test_a_schedule_s_fires_link_to_their_runs_and_a_trigger_s_show_skips(served, page):
    open_as(page, f"{served.url}/ui/schedules/nightly", READ)
    fires = page.locator("table.fires tbody tr")
    expect(fires).to_have_count(1)
    expect(fires.first.locator(".automation-state")).to_have_text("SUCCEEDED")
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Schedules")).to_have_attribute("aria-current", "page")
    fires.first.get_by_role("link", name=served.run_id).click()
    expect(page).to_have_url(f"{served.url}/ui/runs/{served.run_id}")
    expect(page.locator(".run-header .status")).to_have_text("SUCCEEDED")

    page.goto(f"{served.url}/ui/triggers/on-call")
    fires = page.locator("table.fires tbody tr")
    expect(fires).to_have_count(2)
    expect(fires.locator(".automation-state")).to_have_text(["QUEUED", "SKIPPED"])
    expect(fires.nth(1).locator("td.why")).to_have_text("the trigger is paused")
    expect(page.locator("dl.facts")).to_contain_text("a call to :fire")


def test_pipelines_show_versions_tags_and_a_version_s_graph(served, page):
    open_as(page, f"{served.url}/ui/pipelines", READ)
    row = page.locator('tr[data-pipeline="hello"]')
    expect(row.locator("td").nth(1)).to_have_text("2")
    expect(row.locator(".tag")).to_have_text(["prod → 1"])
    row.get_by_role("link", name="hello").click()
    expect(page).to_have_url(f"{served.url}/ui/pipelines/hello")
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    expect(page.locator('tr[data-version="1"] .tag')).to_have_text(["prod"])
    latest = page.get_by_role("article", name="Version 2")
    expect(latest.locator(".graph .node")).to_have_count(2)
    expect(latest.locator(".graph .edges polyline")).to_have_count(1)
    latest.locator('.graph .node[data-task="add"]').click()
    task = page.get_by_role("complementary", name="Task add")
    expect(task.get_by_role("row", name="b 1")).to_be_visible()
    expect(task.get_by_role("row", name="a make.Output")).to_be_visible()

    page.get_by_role("link", name="hello@1").click()
    expect(page).to_have_url(f"{served.url}/ui/pipelines/hello?version=1")
    first = page.get_by_role("article", name="Version 1")
    expect(first.locator(".graph .node")).to_have_count(1)
    expect(first.get_by_role("row", name="n 1")).to_be_visible()
