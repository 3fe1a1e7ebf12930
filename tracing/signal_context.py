"""The signal id in baggage, so every span of the signal's trace carries it as `signal.id`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import baggage, context

from tracing.attributes import SIGNAL_ID


@contextmanager
def signal_baggage(signal_id: str) -> Iterator[None]:
    """Put the signal id in baggage for the spans started (and the messages sent) inside."""
    token = context.attach(baggage.set_baggage(SIGNAL_ID, signal_id))
    try:
        yield
    finally:
        context.detach(token)
