"""Artifacts in the console's task inspector, in Chromium over the control API and the
console served by uvicorn (in this process, which saves a server's start-up): a KFP
component's Markdown and HTML outputs rendered in sandboxed frames (the HTML's styles apply,
its script does not run), and its Parquet and CSV datasets as tables of their first rows, each read only
when its disclosure is opened. No `from __future__ import annotations`: kfp reads the
components' annotations as types."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kfp import dsl
from playwright.sync_api import Browser, Page, expect
from ui_support import home_at, needs_browser_and_build, watched_page
from ui_support import served as serving

from conveyor.api import create_app
from conveyor.client import Client
from conveyor.ui import console

HTML = """<!doctype html><title>report</title>
<style>h1 { color: rgb(200, 30, 30); }</style>
<h1>Drift report</h1>
<p id="status">script blocked</p>
<script>
  document.getElementById("status").textContent = "script ran";
  try { parent.document.title = "pwned"; } catch (e) {}
  try { parent.postMessage("ran", "*"); } catch (e) {}
</script>
"""


@dsl.component
def write_reports(
    notes: dsl.Output[dsl.Markdown],
    page: dsl.Output[dsl.HTML],
    scores: dsl.Output[dsl.Dataset],
    sheet: dsl.Output[dsl.Dataset],
    html: str,
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(notes.path, "w") as out:
        out.write("# Model report\n\nAccuracy rose to *0.93*.\n\n- one\n- two\n")
    with open(page.path, "w") as out:
        out.write(html)
    ids = list(range(50))
    table = pa.table({"id": ids, "score": [float("nan")] + [i / 10 for i in ids[1:]]})
    pq.write_table(table, scores.path)
    with open(sheet.path, "w") as out:
        out.write("city,rain\nOslo,12.5\nLima,0.0\nPune,3.25\n")


@dsl.pipeline(name="reports")
def reports(html: str) -> None:
    write_reports(html=html)


@dataclass(frozen=True)
class Served:
    url: str
    run_id: str


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    needs_browser_and_build()
    with home_at(tmp_path_factory.mktemp("artifacts")) as home:
        run = Client(home).run(reports, {"html": HTML})
        with serving(create_app(home, extra_routers=[console.routes()])) as client:
            yield Served(str(client.base_url).rstrip("/"), run.run_id)


BLOCKED = "Blocked script execution in 'about:srcdoc'"
"""What Chromium logs when the sandbox stops the HTML artifact's script: expected here."""


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """conftest's page, but for the sandbox's report that it blocked the artifact's
    script (the point of this module); every other console error fails the test."""
    with watched_page(browser, request, expected=(BLOCKED,)) as opened:
        yield opened


def inspect(page: Page, served: Served):
    """The run's page with the task inspector open on `write-reports`; the API calls for
    artifacts the page makes, as they are made."""
    asked: list[str] = []
    page.on(
        "request", lambda request: "/api/v1/artifacts/" in request.url and asked.append(request.url)
    )
    page.add_init_script("window.addEventListener('message', () => { window.messaged = true; })")
    page.goto(f"{served.url}/ui/runs/{served.run_id}")
    page.locator('[data-task="write-reports"]').click()
    inspector = page.get_by_role("complementary", name="Task inspector")
    expect(inspector.locator('[data-artifact="sheet"]')).to_be_visible()
    return inspector, asked


def test_markdown_and_html_artifacts_render_in_sandboxed_frames(served, page):
    inspector, asked = inspect(page, served)
    assert asked == []  # nothing read before a disclosure opens
    notes = inspector.locator('[data-artifact="notes"]')
    notes.get_by_text("Rendered Markdown").click()
    frame = notes.locator("iframe")
    expect(frame).to_have_attribute("sandbox", "")
    expect(frame).to_have_attribute("title", "notes: Rendered Markdown")
    rendered = frame.content_frame
    expect(rendered.get_by_role("heading", name="Model report")).to_be_visible()
    expect(rendered.locator("em")).to_have_text("0.93")
    expect(rendered.locator("li")).to_have_count(2)

    html = inspector.locator('[data-artifact="page"]')
    html.get_by_text("Rendered HTML").click()
    shown = html.locator("iframe").content_frame
    heading = shown.get_by_role("heading", name="Drift report")
    expect(heading).to_have_css("color", "rgb(200, 30, 30)")  # its inline style applies
    # The script stands right after #status: had it run, it would have changed it already.
    expect(shown.locator("#status")).to_have_text("script blocked")
    assert page.title() != "pwned"
    assert page.evaluate("window.messaged") is None
    assert [url.rsplit("/", 1)[-1] for url in asked] == ["content", "content"]


def test_datasets_show_their_first_rows_with_their_types(served, page):
    inspector, asked = inspect(page, served)
    scores = inspector.locator('[data-artifact="scores"]')
    scores.get_by_text("First rows").click()
    table = scores.get_by_role("table")
    expect(table.locator("caption")).to_have_text("20 of 50 rows, parquet")
    expect(table.locator("thead th")).to_have_text(["id int64", "score double"])
    expect(table.locator("tbody tr")).to_have_count(20)
    expect(table.locator("tbody tr").first.locator("td")).to_have_text(["0", "NaN"])
    expect(table.locator("tbody tr").nth(19).locator("td")).to_have_text(["19", "1.9"])

    sheet = inspector.locator('[data-artifact="sheet"]')
    sheet.get_by_text("First rows").click()
    rows = sheet.get_by_role("table")
    expect(rows.locator("caption")).to_have_text("3 rows, csv")
    expect(rows.locator("thead th")).to_have_text(["city string", "rain double"])
    expect(rows.locator("tbody tr").nth(2).locator("td")).to_have_text(["Pune", "3.25"])
    assert len(asked) == 2 and all("/preview?rows=20" in url for url in asked)
