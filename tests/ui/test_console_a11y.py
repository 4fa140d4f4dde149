"""The console's accessibility in Chromium, over a real `conveyor ui` of a populated home:
every page (runs, a run with the task inspector open, experiments and a comparison,
models and a model, endpoints and one, monitors and one, schedules and one, pipelines and
one) checked by axe-core (WCAG 2 A and AA rules) with no serious or critical violation,
and the main flow walked by keyboard only: skip link, nav, a run, a graph node, the
inspector opened and closed. No `from __future__ import annotations` here: kfp reads the
pipeline's annotations."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io
from kfp import dsl
from playwright.sync_api import Browser, Locator, Page, expect
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from ui_support import (
    conveyor_server,
    home_at,
    make,
    needs_browser_and_build,
    shapes,
    watched_page,
)

from conveyor.automation.launch import execute
from conveyor.automation.requests import pipeline_job
from conveyor.client import Client
from conveyor.serving.prediction_log import Entry, PredictionLogger

AXE = Path(__file__).resolve().parents[2] / "console" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core, a devDependency of console/ (`make env` installs it): injected by the test
only, never served by Conveyor."""
RULES = ["wcag2a", "wcag2aa"]
BLOCKING = {"serious", "critical"}
SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]
END = datetime(2026, 6, 2, tzinfo=UTC)
FIND_VIOLATIONS = """
(rules) => axe.run(document, { runOnly: { type: "tag", values: rules } }).then((result) =>
  result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((node) => ({
      target: node.target.join(" "),
      data: JSON.stringify(node.any.map((check) => check.data).filter(Boolean)),
    })),
  })),
)
"""


@dsl.pipeline(name="hello")
def hello(n: int = 1) -> int:
    return make(n=n).output


class Runtime:
    """What the prediction logger asks of the runtime that answered: its features."""

    feature_names = ("tenure", "plan")

    def features(self):
        return SCHEMA


@dataclass(frozen=True)
class Served:
    url: str
    run_id: str
    """A run of the shapes pipeline, in experiment `churn`."""


def saved_model(folder: Path) -> Path:
    """A small iris classifier saved with skops in `folder`."""
    folder.mkdir(parents=True)
    features, target = load_iris(return_X_y=True)
    skops.io.dump(LogisticRegression(max_iter=500).fit(features, target), folder / "model.skops")
    return folder


def churn_rows(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tenure = np.clip(rng.normal(30 + shift, 10, n), 0, None).round().astype(int)
    plan = rng.choice(["basic", "pro"], n, p=[0.7, 0.3] if not shift else [0.2, 0.8])
    return tenure, plan


def log_predictions(home, end: datetime) -> None:
    """200 logged predictions of churn@1, skewed, in the day before `end`."""
    tenure, plan = churn_rows(200, 3, 20.0)
    logger = PredictionLogger(home.store, home.artifacts)
    instances = [[int(t), str(p)] for t, p in zip(tenure, plan, strict=True)]
    stamp = (end - timedelta(hours=20)).timestamp()
    logger.add(
        Entry(stamp, "a11y", "churn-prod", "1", "churn", 1, "vertex",
              instances, ["stay"] * 200, None, 200, None, Runtime())
    )  # fmt: skip
    logger.flush()


def track(experiments, name: str, depth: int) -> None:
    """A finished run `name` of experiment churn: params, metrics, a series, an ROC."""
    experiments.start_run("churn", name)
    experiments.log_params("churn", name, {"max_depth": depth, "model": "tree"})
    experiments.log_metrics("churn", name, {"accuracy": 0.7 + depth / 50})
    points = [("loss", 1.0 / (step * depth), step, None) for step in (1, 2, 3)]
    experiments.log_points("churn", name, points)
    experiments.log_classification_metrics(
        "churn",
        name,
        labels=["stays", "churns"],
        matrix=[[30 + depth, 5], [6, 10 + depth]],
        fpr=[0.0, 0.3 / depth, 1.0],
        tpr=[0.0, 0.6 + depth / 20, 1.0],
        threshold=[1.0, 0.5, 0.0],
    )
    experiments.end_run("churn", name)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """A home with something on every page: a pipeline run in an experiment of two tracked
    runs, a model of three versions on two endpoints (one in a rollout), a monitor with a
    job, a registered pipeline with a schedule that fired."""
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("console-a11y")
    folder = root / "home"
    iris = saved_model(root / "models" / "v1")
    copies = [shutil.copytree(iris, root / "models" / name) for name in ("v2", "v3")]
    churn = root / "churn"
    churn.mkdir()
    (churn / "predictor.py").write_text("class Predictor:\n    pass\n")
    tenure, plan = churn_rows(1000, 1)
    pq.write_table(pa.table({"tenure": tenure, "plan": plan}), root / "train.parquet")
    with home_at(folder) as home:
        client = Client(home)
        client.experiments.create("churn", description="trees of two depths")
        for name, depth in (("depth-2", 2), ("depth-4", 4)):
            track(client.experiments, name, depth)
        run = client.run(shapes, {"n": 3}, labels={"team": "growth"}, experiment="churn")
        client.upload_model("iris", iris, framework="sklearn", aliases=["production"])
        for copy in copies:
            client.upload_model("iris", copy, framework="sklearn", run_id=run.run_id)
        client.add_model_evaluation("iris@2", {"accuracy": 0.97})
        client.create_endpoint("iris-ab", description="two versions")
        client.deploy("iris-ab", "iris@1")
        client.deploy("iris-ab", "iris@2", traffic_percentage=30)
        client.create_endpoint("iris-prod", description="production traffic")
        client.deploy("iris-prod", "iris@production")
        client.start_rollout("iris-prod", "iris@3", steps=[10, 50, 100])

        home.registry.upload("churn", churn, framework="custom", input_schema=SCHEMA)
        home.monitors.create(
            "churn-skew", "churn@1", training_dataset={"uri": str(root / "train.parquet")},
            tabular_objective={"feature_skew_spec": {}},
        )  # fmt: skip
        log_predictions(home, END)
        home.monitors.run("churn-skew", start_time=END - timedelta(days=1), end_time=END)

        home.pipelines.upload("hello", hello, tags=["prod"], description="one step")
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        home.schedules.create(
            "nightly", "0 * * * *", pipeline_job("hello@prod", {"n": 4}), start_time=hour
        )
        (claim,) = home.schedules.claim_due("console-a11y", timedelta(minutes=5))
        assert execute(claim.fire_id, home) == 0
    with conveyor_server("ui", folder, root / "ui.log") as url:
        yield Served(url, run.run_id)


@pytest.fixture
def axe_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A watched page whose context bypasses the shell's Content-Security-Policy, only so
    that the test can inject axe-core as an inline script."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE} (`make env` installs it)")
    with watched_page(browser, request, bypass_csp=True) as opened:
        yield opened


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA violations on the page, one line per
    element: the rule, the element and what axe measured (colours and contrast, say)."""
    page.add_script_tag(path=AXE)
    found = page.evaluate(FIND_VIOLATIONS, RULES)
    return [
        f"{v['impact']} {v['id']} ({v['help']}) at {node['target']} {node['data']}"
        for v in found
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


PAGES = {
    "runs": ("/ui/runs", "table.runs tbody tr"),
    "experiments": ("/ui/experiments", "table.runs tbody tr"),
    "experiment": ("/ui/experiments/churn", "table.compare-runs tbody tr"),
    "compare": ("/ui/experiments/churn/compare?runs=depth-2,depth-4", "figure.chart svg"),
    "models": ("/ui/models", "table.runs tbody tr"),
    "model": ("/ui/models/iris?version=2", "article.version-detail"),
    "endpoints": ("/ui/endpoints", "table.runs tbody tr"),
    "endpoint": ("/ui/endpoints/iris-prod", ".rollout"),
    "monitors": ("/ui/monitors", "table.runs tbody tr"),
    "monitor": ("/ui/monitors/churn-skew", "figure.distribution"),
    "schedules": ("/ui/schedules", "table.runs tbody tr"),
    "schedule": ("/ui/schedules/nightly", "table.runs tbody tr"),
    "pipelines": ("/ui/pipelines", "table.runs tbody tr"),
    "pipeline": ("/ui/pipelines/hello", ".graph .node"),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_has_no_serious_accessibility_violation(served, axe_page, name):
    path, ready = PAGES[name]
    axe_page.goto(served.url + path)
    expect(axe_page.locator(ready).first).to_be_visible()
    assert violations(axe_page) == []


def test_a_run_with_its_inspector_open_has_no_serious_accessibility_violation(served, axe_page):
    axe_page.goto(f"{served.url}/ui/runs/{served.run_id}")
    axe_page.get_by_role("button", name="report: complete").click()
    inspector = axe_page.get_by_role("complementary", name="Task inspector")
    expect(inspector.locator(".log-text")).to_be_visible()
    assert violations(axe_page) == []


def tab_to(page: Page, target: Locator, key: str = "Tab", presses: int = 80) -> None:
    """Press `key` (Tab, Shift+Tab) until `target` has the focus, at most `presses` times."""
    expect(target).to_be_visible()
    for _ in range(presses):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} had no focus after {presses} presses of {key}")


def outlined(target: Locator) -> bool:
    """Whether `target` shows the keyboard's focus: a solid outline of 2 px or more."""
    return target.evaluate(
        "element => element.matches(':focus-visible') &&"
        " getComputedStyle(element).outlineStyle === 'solid' &&"
        " parseFloat(getComputedStyle(element).outlineWidth) >= 2"
    )


def test_the_main_flow_works_by_keyboard_alone(served, page):
    page.goto(f"{served.url}/ui/experiments")
    skip = page.get_by_role("link", name="Skip to content")
    expect(page.locator("table.runs tbody tr").first).to_be_visible()
    expect(skip).not_to_be_in_viewport()  # shown only with the focus
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    runs = page.get_by_role("navigation", name="Pages").get_by_role("link", name="Runs")
    tab_to(page, runs)
    assert outlined(runs)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{served.url}/ui/runs")
    tab_to(page, page.get_by_role("link", name=served.run_id))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{served.url}/ui/runs/{served.run_id}")

    report = page.get_by_role("button", name="report: complete")
    tab_to(page, report)
    assert outlined(report)
    page.keyboard.press("Enter")
    inspector = page.get_by_role("complementary", name="Task inspector")
    expect(inspector.get_by_role("heading", name="report", exact=True)).to_be_visible()
    expect(report).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Escape")
    expect(inspector).to_have_count(0)
    expect(report).to_be_focused()

    make = page.get_by_role("button", name="make: complete")
    tab_to(page, make, "Shift+Tab")
    page.keyboard.press("Space")
    expect(inspector.get_by_role("heading", name="make", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(inspector).to_have_count(0)
    expect(make).to_be_focused()


def test_the_skip_link_puts_the_focus_past_the_header(served, page):
    page.goto(f"{served.url}/ui/runs/{served.run_id}")
    expect(page.locator(".graph .node").first).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    main = page.get_by_role("main")
    expect(main).to_be_focused()
    page.keyboard.press("Tab")
    expect(main.get_by_role("link", name="Runs", exact=True)).to_be_focused()  # the page's own
    expect(page).to_have_url(f"{served.url}/ui/runs/{served.run_id}")  # no #content in it
