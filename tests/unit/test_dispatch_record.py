"""The dispatcher's per-signal record, as `signal emit` and the explorer read it back."""

from __future__ import annotations

import json

from services.shared.dispatch_record import SignalOutcome


def test_a_record_reads_back_as_written() -> None:
    written = SignalOutcome(matched=[1, 2], enqueued=[1], skipped_running=[2], ticker="AAPL",
                            signal_type="mock", generated_at="2026-11-26T08:00:00+00:00")
    assert SignalOutcome.from_json(written.to_json()) == written


def test_an_older_record_lacks_the_signal_and_a_newer_one_may_hold_more() -> None:
    older = SignalOutcome.from_json(json.dumps({"matched": ["3"], "enqueued": [3]}))
    assert older == SignalOutcome(matched=[3], enqueued=[3])
    newer = SignalOutcome.from_json(json.dumps({"matched": [], "routed_to": "elsewhere"}))
    assert newer == SignalOutcome()
