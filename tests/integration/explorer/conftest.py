"""A real browser on the explorer: Debian's Chromium driven by Playwright, signed in once with
a read key. Every page a test opens is checked for console errors when the test ends, and the
test's screenshots go to test-output/explorer/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.shared.db import ApiRole
from tests.support.platform import new_key, signal_for
from tradetrace.platform import Platform
from tradetrace.stack.browser import FLAGS, chromium
from tradetrace.stack.paths import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "test-output" / "explorer"
# The browser's own account of a page load (Navigation Timing, so the driver's round trips
# are not counted): navigation start to the end of the load event, the request-to-last-byte
# part, and the backend's Server-Timing parts.
NAVIGATION = ("() => { const n = performance.getEntriesByType('navigation')[0]; return {"
              "load: n.loadEventEnd, server: n.responseEnd - n.requestStart, "
              "backend: Object.fromEntries(n.serverTiming.map(t => [t.name, t.duration]))}; }")
LOADED = "() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0"


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


def insert_finished_runs(database_url: str, pipeline_id: int, ticker: str,
                         count: int) -> list[float]:
    """`count` finished runs of the pipeline in the last half hour, as the worker records
    them (received 1 ms after their signal, queued 1 ms later, with its timings: a claim of
    1 ms, agents of 3 and 5 ms, a run of 10); every 50th started 60-259 ms after its signal,
    the rest 5 ms. Returns the late ones' start from origin, in ms."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from services.shared.db import Execution, ExecutionStatus, TriggerMode, session_scope
    from services.shared.latency import RunTimings

    timings = RunTimings(0.0, 1.0, (("market_data", 3.0), ("order_decision", 5.0))).as_json()

    now = datetime.now(UTC)
    rows, late = [], []
    for n in range(count):
        generated = now - timedelta(minutes=30) + timedelta(milliseconds=150 * n)
        start_ms = 60 + (n // 50) if n % 50 == 0 else 5
        if n % 50 == 0:
            late.append(float(start_ms))
        started = generated + timedelta(milliseconds=start_ms)
        signal = signal_for(ticker).model_copy(update={"generated_at": generated})
        rows.append({"id": str(uuid.uuid4()), "pipeline_id": pipeline_id,
                     "status": ExecutionStatus.SUCCEEDED, "trigger_mode": TriggerMode.SIGNAL,
                     "signal_id": signal.signal_id, "ticker": ticker,
                     "received_at": generated + timedelta(milliseconds=1),
                     "queued_at": generated + timedelta(milliseconds=2), "started_at": started,
                     "finished_at": started + timedelta(milliseconds=10),
                     "duration_seconds": 0.01, "attempts": 1, "timings": timings,
                     "signal": signal.model_dump(mode="json")})
    with session_scope(database_url) as session:
        session.execute(insert(Execution), rows)
    return late
