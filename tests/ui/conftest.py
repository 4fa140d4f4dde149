"""Fixtures of the console's browser tests: one Chromium for the session, a fresh page
(its own storage) for each test, which fails the test on a script error; the page of a
test that failed is saved as a picture in `test-results/screenshots/` (git ignores it;
CI keeps the workspace)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from ui_support import CHROMIUM, CHROMIUM_ARGS, needs_browser_and_build

SCREENSHOTS = Path(__file__).parents[2] / "test-results" / "screenshots"
TIMEOUT_MS = 20_000
"""How long an expectation waits for the page (pages that poll read every 3 s)."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    needs_browser_and_build()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, for `page` to see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page of its own context (storage, session); the test fails on an uncaught error
    or an error logged to the console (an HTTP error answer aside: some are expected)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    opened.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and problems.append(f"console: {message.text}")
        ),
    )
    yield opened
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-200:]
        opened.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    context.close()
    assert problems == []
