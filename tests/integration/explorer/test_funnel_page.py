"""The funnel page in a real browser: a ticker's counts, and a count's link listing exactly its
signals (the counting itself: tests/integration/test_funnel.py)."""

from __future__ import annotations

import statistics

from services.shared import redis_keys
from services.shared.clients import redis_client
from tests.integration.explorer.conftest import LOADED, NAVIGATION, screenshot
from tests.support.ground_truth import publish_signals
from tests.support.platform import publish_and_follow, signal_for
from tests.support.polling import eventually


def test_a_counts_link_lists_exactly_its_signals(settings, page, ticker: str) -> None:
    sent = [signal_for(ticker) for _ in range(2)]          # no pipeline watches the ticker
    for signal in sent:
        outcome, _ = publish_and_follow(settings, signal)
        assert outcome["matched"] == []
    page.goto(f"/explorer/funnel?window=1h&ticker={ticker}")
    counts = {row.get_attribute("data-step"): row.locator("a.count").inner_text()
              for row in page.locator("#funnel tbody tr").all()}
    assert (counts["messages"], counts["dispatched"], counts["no_pipeline"]) == ("2", "2", "2")
    assert "matched" in counts and counts["matched"] == "0"
    screenshot(page, "funnel")
    page.locator('#funnel tr[data-step="no_pipeline"] a.count').click()
    page.wait_for_url("**/explorer/funnel?**step=no_pipeline")
    listed = page.locator("#members li").evaluate_all("items => items.map(i => i.dataset.member)")
    assert sorted(listed) == sorted(s.signal_id for s in sent)


def test_the_funnel_page_of_10000_signals_loads_in_under_300_ms(settings, page,
                                                               ticker: str) -> None:
    sent = publish_signals(settings, [ticker] * 10_000)     # no pipeline watches the ticker
    records = redis_client(settings)
    keys = [redis_keys.signal_dispatch(signal_id) for signal_id in sent]
    eventually(lambda: records.exists(*keys) == len(keys),
               "the dispatcher's records of 10,000 signals", timeout=180)
    timings = []
    for _ in range(9):
        page.goto(f"/explorer/funnel?window=1h&ticker={ticker}", wait_until="load")
        page.wait_for_function(LOADED)
        timings.append(page.evaluate(NAVIGATION))
    counts = {row.get_attribute("data-step"): row.locator("a.count").inner_text()
              for row in page.locator("#funnel tbody tr").all()}
    assert (counts["messages"], counts["no_pipeline"]) == ("10000", "10000")
    loads = [t["load"] for t in timings]
    print(f"\nfunnel page, 10,000 signals: loads {[round(x) for x in loads]} ms; backend parts "
          f"{[{k: round(v) for k, v in t['backend'].items()} for t in timings[:3]]}")
    assert statistics.median(loads) < 300, loads
