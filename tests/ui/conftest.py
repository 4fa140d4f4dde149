"""Fixtures of the console's browser tests: one Chromium for the session, a fresh page
(its own storage) for each test, which fails the test on a script error; the page of a
test that failed is saved as a picture in `test-results/screenshots/` (git ignores it;
CI keeps the workspace)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from ui_support import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, needs_browser_and_build, watched_page


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
    """A watched page (`watched_page`) for each test."""
    with watched_page(browser, request) as opened:
        yield opened
