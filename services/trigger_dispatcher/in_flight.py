"""One signal of a batch while the batch's I/O is done together, and the trace context each
step for it runs under.

The spans are per message, the I/O per batch: a signal's process span stays open across the
batch's steps, and each step for it runs under its `context` (its process span current, its
signal id in baggage), so its log lines and publish spans land in its own trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import Message
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span

from services.shared.dispatch_record import SignalOutcome
from services.shared.signals import Signal
from services.shared.tasks import PipelineRun
from tracing.kafka import Headers, extract_context


@dataclass
class InFlight:
    message: Message
    headers: Headers | None
    process: Span
    signal: Signal
    context: Context
    outcome: SignalOutcome
    to_publish: list[PipelineRun] = field(default_factory=list)
    parked: bool = False
    received_at: datetime | None = None   # when its batch came from Kafka (the whole at once)

    def start_over(self) -> None:
        """Forget what a failed dispatch of its batch decided (it is dispatched again alone)."""
        self.outcome = SignalOutcome(matched=self.outcome.matched)
        self.to_publish = []


@contextmanager
def entered(context: Context) -> Iterator[None]:
    """Run the block under `context` (a signal's: its spans and log lines go to its trace)."""
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


def context_of(headers: Headers | None, trust_baggage: bool) -> tuple[Context, str | None]:
    """The message's trace context; unreadable headers give a new root, marked as such."""
    if headers is None:
        context, _ = extract_context(None)
        return context, "unreadable"
    return extract_context(headers, trust_baggage)
