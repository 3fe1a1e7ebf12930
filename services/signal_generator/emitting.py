"""Generating a signal and publishing it, as the root of the signal's trace."""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import context as otel_context

from services.shared.signals import Signal
from services.signal_generator.publisher import SignalPublisher
from tracing import attributes as attr
from tracing import record_failure, span_names, tracer
from tracing.signal_context import signal_context


def generate_and_publish(stream: Iterator[Signal], publisher: SignalPublisher) -> Signal:
    """The `signal.generate` span covers making the signal and handing it to Kafka; its id
    goes into baggage, so the send span and everything downstream carry `signal.id`.

    The span is started with `start_span` and its context (span and baggage) entered once:
    `start_as_current_span` and a second context for the baggage cost the generator more
    than the span itself (py-spy: ~24% of its traced samples)."""
    span = tracer().start_span(span_names.SIGNAL_GENERATE)
    try:
        signal = next(stream)
        span.set_attributes({attr.SIGNAL_ID: signal.signal_id,
                             attr.SIGNAL_TYPE: signal.signal_type,
                             attr.SIGNAL_SOURCE: signal.source, attr.TICKER: signal.ticker})
        token = otel_context.attach(signal_context(signal.signal_id, span))
        try:
            publisher.publish(signal)
        finally:
            otel_context.detach(token)   # not a @contextmanager: one generator less per signal
    except BaseException as error:
        record_failure(span, error, f"{error.__class__.__name__}: {error}")
        raise
    finally:
        span.end()
    return signal
