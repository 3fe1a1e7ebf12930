"""The dead-letter queue: where a message that cannot be handled is parked with its reason
(not a signal, unreadable headers, a failure that is not an outage), never retried for ever.

A batch is committed only once its parked messages are confirmed in the DLQ (`confirm`).
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, Message, Producer
from opentelemetry.trace import Span

from services.shared import dead_letters
from services.shared.settings import Settings
from tracing.kafka import Headers

log = logging.getLogger(__name__)


def create_dlq_producer(settings: Settings) -> Producer:
    return Producer(settings.kafka_config({"enable.idempotence": True}))


class DeadLetterQueue:
    def __init__(self, producer: Producer, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings
        self._failures: list[str] = []  # delivery reports of this batch's parked messages

    def start_batch(self) -> None:
        """Forget the delivery failures of a batch that was rewound before it was confirmed."""
        self._failures = []

    def park(self, message: Message, reason: str, error_type: str, headers: Headers | None,
             span: Span) -> None:
        """Park the message with its reason (and its kind, `error_type`), where it came from
        and the span that parked it (`span`, its process span: a redrive continues the trace
        there). Its original headers and value go along unless they are unreadable or too
        large; then the copy says so and the source topic, partition and offset point to the
        original."""
        log.warning("to %s (partition %s offset %s): %s", self.settings.dlq_topic,
                    message.partition(), message.offset(), reason)
        value, kept, note = _dlq_body(message.value(), headers, self.settings.dlq_max_value_bytes)
        kept = kept + [
            (dead_letters.REASON, reason.encode("utf-8", "replace")),
            (dead_letters.ERROR_TYPE, error_type.encode()),
            (dead_letters.SOURCE_TOPIC, (message.topic() or "").encode()),
            (dead_letters.SOURCE_PARTITION, str(message.partition()).encode()),
            (dead_letters.SOURCE_OFFSET, str(message.offset()).encode()),
            *dead_letters.park_traceparent(span),
        ] + ([(dead_letters.NOTE, note.encode())] if note else [])
        deadline = time.monotonic() + 30
        while True:
            try:
                self.producer.produce(self.settings.dlq_topic, key=message.key(), value=value,
                                      headers=kept, on_delivery=self._on_delivery)
                return
            except BufferError:    # the local queue is full: serve reports, then try again
                if time.monotonic() > deadline:
                    raise
                self.producer.poll(0.5)

    def confirm(self) -> None:
        """Wait until every parked message is confirmed; raise if one is not (the batch is then
        not committed, and replayed)."""
        remaining = self.producer.flush(30)
        if remaining or self._failures:
            raise RuntimeError(f"DLQ: {remaining} message(s) unconfirmed, failed deliveries "
                               f"{self._failures}; batch not committed")

    def _on_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._failures.append(error.name())


def _dlq_body(value: bytes | None, headers: Headers | None,
              max_bytes: int) -> tuple[bytes | None, Headers, str | None]:
    """The value and headers to park, bounded by `max_bytes`, and a note on what was left out."""
    notes = []
    if headers is None:
        headers, notes = [], ["original headers unreadable, dropped"]
    size = len(value or b"") + sum(len(k) + len(v or b"") for k, v in headers)
    if size > max_bytes:
        notes.append(f"{size} bytes over {max_bytes}: original headers dropped, value cut")
        headers = []
        value = value[:max_bytes] if value else value
    return value, headers, "; ".join(notes) or None
