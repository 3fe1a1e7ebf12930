"""Publishing signals to Kafka with every delivery report checked.

A failed delivery is logged, counted and kept for a retry, never silently dropped; so is a
signal refused because the producer's local queue is full (a broker outage longer than the
queue). `retry_pending()` publishes them again, each in its own signal's trace; `flush()`
waits for what was handed over, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span

from services.shared.signals import Signal
from tracing import tracer
from tracing.kafka import carrier, end_send_span, start_send_span
from tracing.signal_context import signal_context

log = logging.getLogger(__name__)


@dataclass
class DeliveryCounts:
    delivered: int = 0
    failed: int = 0        # delivery reports with an error (each kept for a retry)
    queue_full: int = 0    # produce() refused: the local queue was full (kept for a retry)
    retried: int = 0


class SignalPublisher:
    def __init__(self, bootstrap_servers: str, topic: str,
                 extra_config: Mapping[str, object] | None = None) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.counts = DeliveryCounts()
        # Signals to publish again, with the context they were first published in.
        self.pending: deque[tuple[Signal, Context]] = deque()
        self.producer = Producer({
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,     # retries never duplicate or reorder a ticker's signals
            # Send at once: librdkafka's default (5 ms) holds every signal that long at a low
            # rate; at a high one, what arrives while a request is in flight still goes out
            # as one batch. TRADETRACE_GENERATOR_PRODUCER can set it back.
            "linger.ms": 0,
            **(extra_config or {}),
        })

    def publish(self, signal: Signal, span: Span | None = None) -> None:
        """Hand a signal to the producer; the delivery report arrives via poll() or flush().

        `span`, when given, is the signal's own PRODUCER span (emitting.py): its context and the
        signal id ride in the message headers. Otherwise a `send` span is started, child of
        the current span. Either way the span ends with the delivery outcome, and this method
        owns it from here. A full local queue keeps the signal for `retry_pending()` instead
        of raising.
        """
        if span is None:
            span, headers = start_send_span(tracer(), self.topic, signal.ticker,
                                            self.bootstrap_servers)
            parent = otel_context.get_current()
        else:
            parent = signal_context(signal.signal_id, span)
            headers = carrier(parent)
        try:
            self.producer.produce(self.topic, key=signal.ticker.encode(), value=signal.to_json(),
                                  headers=headers,
                                  on_delivery=self._on_delivery(signal, span, parent))
        except BufferError as error:
            end_send_span(span, error, None)
            self.counts.queue_full += 1
            self.pending.append((signal, parent))
        except Exception as error:  # KafkaException: refused by the client, not retriable
            end_send_span(span, error, None)
            self.counts.failed += 1
            raise
        self.producer.poll(0)

    def retry_pending(self) -> int:
        """Publish the kept signals again, in their own traces; returns how many were sent."""
        sent = 0
        for _ in range(len(self.pending)):
            signal, parent = self.pending.popleft()
            token = otel_context.attach(parent)
            try:
                before = len(self.pending)
                self.publish(signal)
            finally:
                otel_context.detach(token)
            if len(self.pending) > before:   # still refused: try again later
                break
            sent += 1
            self.counts.retried += 1
        return sent

    def backlog(self) -> int:
        """Signals not yet delivered: in the producer's queue or kept for a retry."""
        return len(self.producer) + len(self.pending)

    def _on_delivery(self, signal: Signal, span: Span, parent: Context):
        """The delivery report's handler: ends `span`; a failure keeps the signal for a retry
        in `parent` (a retry's send span is a child of the signal's span)."""

        def report(error: KafkaError | None, message: Message) -> None:
            end_send_span(span, error, message)
            if error is not None:
                self.counts.failed += 1
                self.pending.append((signal, parent))
                log.error("signal %s (%s) not delivered: %s; kept for a retry",
                          signal.signal_id, signal.ticker, error)
            else:
                self.counts.delivered += 1
        return report

    def wait(self, seconds: float) -> None:
        """Sleep while serving delivery reports, so each send span ends when its report comes."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.producer.poll(remaining)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding delivery reports; returns how many are still undelivered."""
        remaining = self.producer.flush(timeout)
        if remaining:
            log.error("%d signal(s) still undelivered after %.0fs", remaining, timeout)
        return remaining
