"""Fixtures of the console's browser tests: one Chromium for the session, a fresh page
(its own storage) for each test, which fails the test on a script error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from ui_support import CHROMIUM, CHROMIUM_ARGS, needs_browser_and_build

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


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
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
    context.close()
    assert problems == []
