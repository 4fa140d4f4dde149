"""An endpoint's live traffic in Chromium: over a real `conveyor serve`, predictions sent to
an endpoint (one failing) show on its page as a nonzero request rate and error rate, in
the window's table and in the charts; on `conveyor ui`, which serves no predictions, the
page says where to see them instead."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from ui_support import conveyor_server, home_at, needs_browser_and_build, served

from conveyor.api.server import create_console_app
from conveyor.config import Settings
from endpoint_stats_support import ENDPOINT, FAILING, GOOD, add_flaky_endpoint, predict

BASELINE = 218
"""The y of a chart's x axis (charts.jsx: HEIGHT - BOTTOM): a value above 0 is drawn above it."""

HIGHEST_Y = """
(series) => Math.min(
  ...[...series.querySelectorAll("polyline")].flatMap((line) =>
    line.getAttribute("points").split(" ").map((point) => Number(point.split(",")[1]))),
  ...[...series.querySelectorAll("circle")].map((dot) => Number(dot.getAttribute("cy"))),
)
"""
"""The smallest y (the highest point) drawn by a chart's series."""


@dataclass(frozen=True)
class Served:
    url: str
    deployed: str
    """The id of the flaky model deployed to the endpoint."""


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Served:
    needs_browser_and_build()
    root = tmp_path_factory.mktemp("endpoint-live")
    folder = root / "home"
    with home_at(folder) as home:
        deployed = add_flaky_endpoint(home, root / "flaky")
    with conveyor_server("serve", folder, root / "serve.log") as url:
        yield Served(url, deployed)


def test_predictions_show_as_live_rates_on_the_endpoint_page(live, page: Page):
    page.goto(f"{live.url}/ui/endpoints/{ENDPOINT}")
    row = page.locator(f'table.live-window tr[data-deployed="{live.deployed}"]')
    expect(row.locator('[data-figure="requests"]')).to_have_text("0")  # two readings taken
    assert predict(live.url, [GOOD, GOOD, FAILING]) == [200, 200, 500]

    expect(row.locator('[data-figure="requests"]')).to_have_text("3")
    expect(row.locator('[data-figure="errors"]')).to_have_text("33.3 %")
    rate = row.locator('[data-figure="rate"]').inner_text()
    assert re.fullmatch(r"\d+\.\d\d req/s", rate) and float(rate.split()[0]) > 0, rate
    name = f"{live.deployed} (flaky@1)"
    for chart in ("Request rate", "Error rate"):
        series = page.locator(f'figure[data-chart="{chart}"] [data-series="{name}"]')
        assert series.evaluate(HIGHEST_Y) < BASELINE - 1, chart
    latency = page.locator('figure[data-chart="Latency (p50, p99)"] .series')
    expect(latency).to_have_count(2)
    expect(page.locator('figure[data-chart="Latency (p50, p99)"] .legend')).to_contain_text(
        f"{name} p99"
    )


def test_a_server_without_predictions_says_where_to_see_them(tmp_path, page: Page):
    folder = tmp_path / "quiet-home"
    with home_at(folder) as home:
        home.endpoints.create("quiet")
    with served(create_console_app(Settings.from_env(folder, environ={}))) as http:
        page.goto(f"{http.base_url}/ui/endpoints/quiet")
        note = page.locator('[data-live="elsewhere"]')
        expect(note).to_contain_text("does not serve predictions")
        expect(note).to_contain_text("conveyor serve")
    expect(page.locator("figure.chart")).to_have_count(0)
