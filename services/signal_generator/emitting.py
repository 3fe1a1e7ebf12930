"""Generating a signal and publishing it, as the root of the signal's trace."""

from __future__ import annotations

from collections.abc import Iterator

from services.shared.signals import Signal
from services.signal_generator.publisher import SignalPublisher
from tracing import attributes as attr
from tracing import signal_baggage, span_names, tracer


def generate_and_publish(stream: Iterator[Signal], publisher: SignalPublisher) -> Signal:
    """The `signal.generate` span covers making the signal and handing it to Kafka; its id
    goes into baggage, so the send span and everything downstream carry `signal.id`."""
    with tracer().start_as_current_span(span_names.SIGNAL_GENERATE) as span:
        signal = next(stream)
        span.set_attributes({attr.SIGNAL_ID: signal.signal_id,
                             attr.SIGNAL_TYPE: signal.signal_type,
                             attr.SIGNAL_SOURCE: signal.source, attr.TICKER: signal.ticker})
        with signal_baggage(signal.signal_id):
            publisher.publish(signal)
    return signal
