"""What the dispatcher logs of a batch: one line by default, a line per signal only with
`log_every_signal` (that it lands in the signal's trace, under its process span, is
tests/integration/test_one_trace.py's)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry import trace

from services.shared.dispatch_record import SignalOutcome
from services.shared.settings import Settings
from services.shared.signals import Signal
from services.trigger_dispatcher import records
from services.trigger_dispatcher.in_flight import InFlight


class RecordingPipeline:
    """A Redis pipeline that takes every command and answers nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self

    def execute(self) -> list[Any]:
        return []


class RecordingRedis:
    def pipeline(self, transaction: bool = True) -> RecordingPipeline:
        return RecordingPipeline()


def _flights(count: int) -> list[InFlight]:
    tracer = trace.get_tracer(__name__)
    flights = []
    for n in range(count):
        process = tracer.start_span("process signals")
        signal = Signal(signal_type="mock", source="unit", ticker=f"T{n}", direction="buy",
                        strength=0.5)
        flights.append(InFlight(None, None, process, signal,  # type: ignore[arg-type]
                                trace.set_span_in_context(process),
                                SignalOutcome(matched=[n], enqueued=[n])))
    return flights


@pytest.mark.parametrize("every_signal", [False, True])
def test_a_batch_is_one_line_unless_every_signal_is_asked_for(
        spans, caplog: pytest.LogCaptureFixture, every_signal: bool) -> None:
    flights = _flights(3)
    with caplog.at_level(logging.INFO, logger=records.__name__):
        records.record_outcomes(RecordingRedis(), flights,  # type: ignore[arg-type]
                                Settings(log_every_signal=every_signal))
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1] == ("3 signal(s) dispatched: 3 pipeline(s) matched, 3 enqueued, "
                         "0 skipped (running), 0 duplicate(s)")
    per_signal = [r for r in caplog.records if r.getMessage().startswith("signal ")]
    if every_signal:
        assert [r.getMessage().split(" ")[1] for r in per_signal] == [
            f.signal.signal_id for f in flights]
    else:
        assert per_signal == []
