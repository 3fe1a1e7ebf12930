"""The signal id in baggage, so every span of the signal's trace carries it as `signal.id`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import baggage, context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from tracing.attributes import SIGNAL_ID


def signal_context(signal_id: str, span: Span | None = None,
                   parent: Context | None = None) -> Context:
    """`parent` (default: the current context) with `span` as the current span, when given,
    and the signal id in baggage: one context, built once, for a signal's hot path."""
    inside = trace.set_span_in_context(span, parent) if span is not None else parent
    return baggage.set_baggage(SIGNAL_ID, signal_id, inside)


@contextmanager
def signal_baggage(signal_id: str, span: Span | None = None) -> Iterator[None]:
    """Enter `signal_context` for the spans started (and the messages sent) inside."""
    token = context.attach(signal_context(signal_id, span))
    try:
        yield
    finally:
        context.detach(token)
