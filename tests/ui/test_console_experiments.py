"""The console's experiments pages in Chromium, over a real `conveyor serve`: the
experiments list, an experiment's runs searched on the server (sort by a header, a filter,
the columns chosen, pages), the compare view's tables and charts (a line per run, the ROC
overlay, confusion matrices), and a pipeline task's ClassificationMetrics in the run
page's inspector. No `from __future__ import annotations`: kfp reads the component's
annotations as types."""

from dataclasses import dataclass

import pytest
from kfp import dsl
from playwright.sync_api import Page, expect
from ui_support import conveyor_server, home_at, needs_browser_and_build

from conveyor.client import Client

TREES = {"depth-2": (2, 0.71), "depth-4": (4, 0.83)}


@dsl.component
def evaluate(
    threshold: float,
    curve: dsl.Output[dsl.ClassificationMetrics],
    scores: dsl.Output[dsl.Metrics],
):
    curve.log_roc_curve(fpr=[0.0, 0.1, 1.0], tpr=[0.0, 0.7, 1.0], threshold=[1.0, threshold, 0.0])
    curve.log_confusion_matrix(["stays", "churns"], [[40, 3], [5, 12]])
    scores.log_metric("accuracy", 0.85)


@dsl.pipeline(name="evaluation")
def evaluation(threshold: float = 0.5):
    evaluate(threshold=threshold)


@dataclass(frozen=True)
class Served:
    url: str
    pipeline_run: str


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    """Experiment `churn`: runs depth-2, depth-4 (trees, with ROC curves and matrices),
    boosted, then the pipeline run from-pipeline; experiment `empty` has none."""
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("experiments")
    folder = root / "home"
    with home_at(folder) as home:
        client = Client(home)
        ex = client.experiments
        ex.create("churn", description="trees against boosting")
        ex.create("empty")
        for name, (depth, accuracy) in TREES.items():
            track(ex, name, {"max_depth": depth, "model": "tree"}, {"accuracy": accuracy})
            ex.log_classification_metrics(
                "churn",
                name,
                labels=["stays", "churns"],
                matrix=[[30 + depth, 5], [6, 10 + depth]],
                fpr=[0.0, 0.3 / depth, 1.0],
                tpr=[0.0, 0.6 + depth / 20, 1.0],
                threshold=[1.0, 0.5, 0.0],
            )
            ex.end_run("churn", name)
        track(
            ex, "boosted", {"max_depth": 4, "model": "boost"}, {"accuracy": 0.91, "f1 score": 0.8}
        )
        ex.end_run("churn", "boosted")
        run = client.run(evaluation, {}, experiment="churn", run_name="from-pipeline")
        assert run.status == "SUCCEEDED"
    with conveyor_server("serve", folder, root / "serve.log") as url:
        yield Served(url, run.run_id)


def track(ex, name: str, params: dict, metrics: dict) -> None:
    ex.start_run("churn", name)
    ex.log_params("churn", name, {**params, "criterion": "gini"})
    ex.log_metrics("churn", name, metrics)
    start = 1.0 - metrics["accuracy"]
    ex.log_points("churn", name, [("loss", start / step, step, None) for step in (1, 2, 3)])


def shown_runs(page: Page) -> list[str]:
    return page.locator("table.compare-runs tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.run)"
    )


def headers(page: Page) -> list[str]:
    return page.locator("table.compare-runs thead th").all_inner_texts()


def test_the_experiments_list_leads_to_an_experiment_s_runs(served, page):
    page.goto(f"{served.url}/ui")
    page.get_by_role("link", name="Experiments").click()
    expect(page).to_have_url(f"{served.url}/ui/experiments")
    expect(page.locator("tbody tr")).to_have_count(2)
    churn = page.locator('tr[data-experiment="churn"]')
    expect(churn.locator("td").nth(1)).to_have_text("4")
    expect(churn).to_contain_text("trees against boosting")
    churn.get_by_role("link", name="churn").click()
    expect(page).to_have_url(f"{served.url}/ui/experiments/churn")
    expect(page.get_by_role("heading", name="churn")).to_be_visible()
    expect(page.locator(".total")).to_have_text("4 runs match")
    assert shown_runs(page) == ["from-pipeline", "boosted", "depth-4", "depth-2"]  # newest first
    link = page.locator('tr[data-run="from-pipeline"]').get_by_role("link", name="pipeline run")
    expect(link).to_have_attribute("href", f"/ui/runs/{served.pipeline_run}")
    expect(page.locator('tr[data-run="boosted"] a')).to_have_count(0)


def test_a_header_click_sorts_on_the_server(served, page):
    page.goto(f"{served.url}/ui/experiments/churn")
    expect(page.locator("table.compare-runs tbody tr")).to_have_count(4)
    first = page.locator("table.compare-runs tbody tr").first
    accuracy = page.get_by_role("button", name="metric.accuracy", exact=True)
    accuracy.click()
    expect(page).to_have_url(f"{served.url}/ui/experiments/churn?order_by=metric.accuracy+ASC")
    expect(first).to_have_attribute("data-run", "depth-2")
    assert shown_runs(page) == ["depth-2", "depth-4", "from-pipeline", "boosted"]
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("metric.accuracy")
    # A key with a space is quoted for the server; runs without it come last.
    page.get_by_role("button", name="metric.f1 score").click()
    expect(first).to_have_attribute("data-run", "boosted")
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("metric.f1 score")
    accuracy.click()
    expect(first).to_have_attribute("data-run", "depth-2")
    accuracy.click()
    expect(first).to_have_attribute("data-run", "boosted")
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("metric.accuracy")
    assert shown_runs(page) == ["boosted", "from-pipeline", "depth-4", "depth-2"]


def test_the_filter_searches_and_a_bad_one_says_why(served, page):
    page.goto(f"{served.url}/ui/experiments/churn")
    page.get_by_label("Filter").fill('param.model = "tree" and metric.accuracy > 0.75')
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".total")).to_have_text("1 run matches")
    assert shown_runs(page) == ["depth-4"]
    page.reload()  # the filter is in the address
    expect(page.get_by_label("Filter")).to_have_value(
        'param.model = "tree" and metric.accuracy > 0.75'
    )
    expect(page.locator("table.compare-runs tbody tr")).to_have_count(1)
    page.get_by_label("Filter").fill("metric.accuracy >>> 1")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot read the filter")


def test_the_columns_chosen_are_asked_of_the_server(served, page):
    asked = []
    page.on("request", lambda r: "/runs?" in r.url and "page_size=50" in r.url and asked.append(r))
    page.goto(f"{served.url}/ui/experiments/churn")
    expect(page.locator("table.compare-runs tbody tr")).to_have_count(4)
    assert "param.max_depth" in headers(page) and "metric.accuracy" in headers(page)
    page.get_by_text("Columns (").click()
    chooser = page.get_by_role("group", name="Params and metrics shown")
    unwanted = ["param.criterion", "param.model", "param.threshold", "metric.f1 score"]
    for column in [*unwanted, "time_series_metric.loss"]:
        chooser.get_by_label(column).uncheck()
    expect(page.locator("table.compare-runs thead th")).to_have_count(8)
    assert headers(page)[6:] == ["param.max_depth", "metric.accuracy"]
    assert page.url.endswith("?columns=param.max_depth&columns=metric.accuracy")
    expect(page.locator('tr[data-run="depth-4"] td[data-column="param.max_depth"]')).to_have_text(
        "4"
    )
    last = asked[-1].response().json()["runs"]
    assert {key for row in last for key in row if "." in key} == {
        "metric.accuracy",
        "param.max_depth",
    }


def test_pages_follow_the_server_s_token(served, page):
    page.goto(f"{served.url}/ui/experiments/churn?page_size=3")
    expect(page.locator("table.compare-runs tbody tr")).to_have_count(3)
    expect(page.locator(".total")).to_have_text("4 runs match")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("table.compare-runs tbody tr")).to_have_count(1)
    assert shown_runs(page) == ["depth-2"]
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="First page").click()
    expect(page.locator("table.compare-runs tbody tr")).to_have_count(3)


def legend(page: Page, chart: str) -> list[str]:
    return page.locator(f'figure[data-chart="{chart}"] .legend li').all_inner_texts()


def test_compare_shows_differences_time_series_and_roc_curves(served, page):
    page.goto(f"{served.url}/ui/experiments/churn")
    for run in ("depth-2", "depth-4", "boosted"):
        page.get_by_label(f"Select run {run}").check()
    page.get_by_role("link", name="Compare 3 runs").click()
    expect(page).to_have_url(
        f"{served.url}/ui/experiments/churn/compare?runs=depth-2%2Cdepth-4%2Cboosted"
    )
    params = page.get_by_role("table", name="params")
    expect(params.locator("tr.differs")).to_have_count(2)
    expect(params.locator('tr[data-key="max_depth"]')).to_have_class("differs")
    expect(params.locator('tr[data-key="criterion"]')).not_to_have_class("differs")
    metrics = page.get_by_role("table", name="metrics")
    expect(metrics.locator('tr[data-key="f1 score"] td')).to_have_text(["—", "—", "0.8"])
    loss = page.locator('figure[data-chart="loss"]')
    expect(loss.locator("svg .series")).to_have_count(3)
    assert legend(page, "loss") == ["depth-2", "depth-4", "boosted"]
    expect(loss.locator(".axis-label")).to_have_text(["step", "loss"])
    expect(page.locator('figure[data-chart="ROC curves"] svg .series polyline')).to_have_count(2)
    assert legend(page, "ROC curves") == ["depth-2", "depth-4"]
    expect(page.locator("table.confusion")).to_have_count(2)
    first_row = page.locator("table.confusion").first.locator("tbody tr").first
    expect(first_row.locator("th, td")).to_have_text(["stays", "32", "5"])


def test_the_inspector_draws_a_task_s_classification_metrics(served, page):
    page.goto(f"{served.url}/ui/experiments/churn")
    page.get_by_role("link", name="pipeline run").click()
    expect(page).to_have_url(f"{served.url}/ui/runs/{served.pipeline_run}")
    page.locator('[data-task="evaluate"]').click()
    curve = page.get_by_role("complementary", name="Task inspector").locator(
        '[data-artifact="curve"]'
    )
    expect(curve).to_contain_text("system.ClassificationMetrics")
    expect(curve.locator("figure.chart svg .series polyline")).to_have_count(1)
    expect(curve.locator(".legend li")).to_have_text(["curve"])
    expect(curve.locator(".axis-label")).to_have_text(["False positive rate", "True positive rate"])
    expect(curve.locator("table.confusion tbody tr")).to_have_text(["stays403", "churns512"])


def test_an_unknown_experiment_says_so(served, page):
    page.goto(f"{served.url}/ui/experiments/nowhere")
    expect(page.get_by_role("alert")).to_contain_text("nowhere")
