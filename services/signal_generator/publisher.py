"""Publishing signals to Kafka with every delivery report checked.

A failed delivery is logged and counted, never silently dropped; `close()` flushes, so a
clean shutdown loses nothing that was handed over.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer
from opentelemetry.trace import Span

from services.shared.signals import Signal
from tracing import tracer
from tracing.kafka import end_send_span, start_send_span

log = logging.getLogger(__name__)


@dataclass
class DeliveryCounts:
    delivered: int = 0
    failed: int = 0


class SignalPublisher:
    def __init__(self, bootstrap_servers: str, topic: str,
                 extra_config: dict[str, object] | None = None) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.counts = DeliveryCounts()
        self.producer = Producer({
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,     # retries never duplicate or reorder a ticker's signals
            "linger.ms": 5,
            **(extra_config or {}),
        })

    def publish(self, signal: Signal) -> None:
        """Hand a signal to the producer; the delivery report arrives via poll() or flush().

        The `send` span (child of the current span) carries the delivery outcome and its
        context rides in the message headers.
        """
        span, headers = start_send_span(tracer(), self.topic, signal.ticker,
                                        self.bootstrap_servers)
        try:
            self.producer.produce(self.topic, key=signal.ticker.encode(), value=signal.to_json(),
                                  headers=headers, on_delivery=self._on_delivery(signal, span))
        except Exception as error:  # BufferError (queue full) or KafkaException
            end_send_span(span, error, None)
            self.counts.failed += 1
            raise
        self.producer.poll(0)

    def _on_delivery(self, signal: Signal, span: Span):
        def report(error: KafkaError | None, message: Message) -> None:
            end_send_span(span, error, message)
            if error is not None:
                self.counts.failed += 1
                log.error("signal %s (%s) not delivered: %s", signal.signal_id, signal.ticker,
                          error)
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
