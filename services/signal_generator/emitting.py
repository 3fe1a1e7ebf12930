"""Generating a signal and publishing it, as the root of the signal's trace."""

from __future__ import annotations

import time
from collections.abc import Iterator

from opentelemetry.trace import Span, SpanKind

from services.shared.signals import Signal
from services.signal_generator.publisher import SignalPublisher
from tracing import attributes as attr
from tracing import record_failure, span_names, tracer
from tracing.kafka import send_attributes


def generate_and_publish(stream: Iterator[Signal], publisher: SignalPublisher) -> Signal:
    """A signal's trace starts with one span, `signal.generate`: from making the signal to
    Kafka's delivery report. It is the message's PRODUCER span (messaging attributes, the
    delivery outcome; its context and the signal id ride in the message's headers), where it
    had a `send` span of its own as a child: a second span per signal cost the generator
    ~40 us of tracing for nothing the first could not say. The name stays the root's, which
    the derived metrics, the dashboards and the explorer read; a retry of a failed delivery
    is a `send` span under it (publisher.py).

    The span is started once the signal is made, with every attribute and the time taken
    before, and never made current: the publisher injects its context directly."""
    started = time.time_ns()
    try:
        signal = next(stream)
    except BaseException as error:
        _failed(tracer().start_span(span_names.SIGNAL_GENERATE, start_time=started), error)
        raise
    span = tracer().start_span(span_names.SIGNAL_GENERATE, kind=SpanKind.PRODUCER,
                               start_time=started, attributes={
        attr.SIGNAL_ID: signal.signal_id, attr.SIGNAL_TYPE: signal.signal_type,
        attr.SIGNAL_SOURCE: signal.source, attr.TICKER: signal.ticker,
        **send_attributes(publisher.topic, signal.ticker, publisher.bootstrap_servers)})
    try:
        publisher.publish(signal, span)
    except BaseException as error:
        if span.is_recording():     # the publisher ends the span it refused, with its reason
            _failed(span, error)
        raise
    return signal


def _failed(span: Span, error: BaseException) -> None:
    record_failure(span, error, f"{error.__class__.__name__}: {error}")
    span.end()
