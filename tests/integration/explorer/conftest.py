"""A real browser on the explorer: Debian's Chromium driven by Playwright, signed in once with
a read key. Every page a test opens is checked for console errors when the test ends, and the
test's screenshots go to test-output/explorer/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.shared.db import ApiRole
from tests.support.platform import new_key
from tradetrace.platform import Platform
from tradetrace.stack.browser import FLAGS, chromium
from tradetrace.stack.paths import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "test-output" / "explorer"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium()), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def read_key(platform: Platform) -> str:
    return new_key(platform.env["TRADETRACE_DATABASE_URL"], ApiRole.READ, "explorer tests")


@pytest.fixture(scope="session")
def signed_in(browser, platform: Platform, read_key: str) -> Iterator:
    """A browser context holding the explorer's cookie, got through the sign-in form."""
    context = browser.new_context(base_url=platform.backend_url,
                                  viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/explorer/signals")
    assert "/explorer/login" in page.url, page.url
    page.fill("input[name=key]", read_key)
    page.click("button[type=submit]")
    page.wait_for_url("**/explorer/signals")
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(signed_in) -> Iterator:
    """A page of the signed-in context; the test fails on any console error or page error."""
    opened = signed_in.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    opened.close()
    assert problems == [], f"console errors: {problems}"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
