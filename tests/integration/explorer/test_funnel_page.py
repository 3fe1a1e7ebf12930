"""The funnel page in a real browser: a ticker's counts, and a count's link listing exactly its
signals (the counting itself: tests/integration/test_funnel.py)."""

from __future__ import annotations

from tests.integration.explorer.conftest import screenshot
from tests.support.platform import publish_and_follow, signal_for


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
