"""Reading the DLQ and redriving its entries: what `tradetrace dlq`, the API's `/dlq` and the
explorer's DLQ page do (the entries' shape: services/shared/dead_letters.py).

A redrive sends an entry's original key, value and headers back to its source topic, so the
dispatcher handles it as it would have, once its cause is fixed. What keeps it to one run:
- a redrive mark in Redis per DLQ entry (`redis_keys.dlq_redriven`): a second redrive of the
  same entry is refused, saying when the first was;
- the dispatcher's dedup on (pipeline, signal id): a signal that did run is not run again.
The redrive is a `send` span parented on the span that parked the message: the signal's trace
shows the park, the redrive and what ran after it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis
from confluent_kafka import KafkaException, Message, Producer
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind

from services.shared import redis_keys
from services.shared.dead_letters import (
    PREVIOUS_REASONS,
    REDRIVEN_FROM,
    TRACE_HEADERS,
    Parked,
    parked_from,
    traceparent_context,
)
from services.shared.settings import Settings
from services.shared.topic_reads import read_range, topic_reader, watermarks
from tracing import attributes as attr
from tracing import span_names
from tracing.kafka import Headers, carrier, end_send_span, extract_context, send_attributes
from tracing.spans import tracer

# The newest entries read per partition when listing (a DLQ is small when it is watched).
SCAN_PER_PARTITION = 10_000


class NotParked(LookupError):
    """No DLQ entry at these coordinates."""


class AlreadyRedriven(RuntimeError):
    """The entry was redriven before; the dedup would refuse its signal anyway."""


def read_parked(settings: Settings, client: redis.Redis, *, reason: str | None = None,
                ticker: str | None = None, since: datetime | None = None,
                limit: int = 100) -> list[Parked]:
    """The DLQ's entries, newest first, those matching every filter given (`reason`: a part
    of any of its reasons; `ticker`: the value's ticker; `since`: parked at or after), at
    most `limit`, of the newest `SCAN_PER_PARTITION` of each partition."""
    with topic_reader(settings) as consumer:
        ranges = {partition: (max(low, high - SCAN_PER_PARTITION), high)
                  for partition, (low, high) in watermarks(consumer, settings.dlq_topic).items()}
        entries = [parked_from(m) for m in read_range(consumer, settings.dlq_topic, ranges)]
    kept = [e for e in entries
            if (reason is None or any(reason in r for r in e.reasons))
            and (ticker is None or e.ticker == ticker)
            and (since is None or e.parked_at >= since)]
    kept.sort(key=lambda e: (e.parked_at, e.partition, e.offset), reverse=True)
    return _with_redrives(client, settings, kept[:limit])


def find_parked(settings: Settings, client: redis.Redis, partition: int,
                offset: int) -> Parked:
    with topic_reader(settings) as consumer:
        try:
            found = read_range(consumer, settings.dlq_topic, {partition: (offset, offset + 1)})
        except KafkaException as error:
            raise NotParked(f"no DLQ entry {partition}:{offset} ({error})") from error
    if not found or found[0].offset() != offset:
        raise NotParked(f"no DLQ entry {partition}:{offset} in {settings.dlq_topic}")
    return _with_redrives(client, settings, [parked_from(found[0])])[0]


def _with_redrives(client: redis.Redis, settings: Settings,
                   entries: list[Parked]) -> list[Parked]:
    if not entries:
        return entries
    keys = [redis_keys.dlq_redriven(settings.dlq_topic, e.partition, e.offset) for e in entries]
    marks = client.mget(keys)
    return [e if mark is None else replace(e, redriven_at=json.loads(mark).get("at"))
            for e, mark in zip(entries, marks, strict=True)]


@dataclass(frozen=True)
class Redriven:
    """Where a redriven message went, and the trace its redrive is in."""

    topic: str
    partition: int
    offset: int
    trace_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "trace_id": self.trace_id}


def redrive(settings: Settings, client: redis.Redis, entry: Parked,
            timeout: float = 15.0) -> Redriven:
    """Send the entry's message back to its source topic, once (AlreadyRedriven otherwise)."""
    if not entry.source_topic:
        raise NotParked(f"DLQ entry {entry.id} names no source topic")
    marker = redis_keys.dlq_redriven(settings.dlq_topic, entry.partition, entry.offset)
    now = datetime.now(UTC).isoformat()
    if not client.set(marker, json.dumps({"at": now}), nx=True,
                      ex=redis_keys.DLQ_REDRIVEN_SECONDS):
        raise AlreadyRedriven(f"DLQ entry {entry.id} was redriven at "
                              f"{json.loads(client.get(marker) or b'{}').get('at')}")
    try:
        sent = _send(settings, entry, timeout)
    except BaseException:
        client.delete(marker)       # not redriven: it may be tried again
        raise
    client.set(marker, json.dumps({"at": now, **sent.as_dict()}),
               ex=redis_keys.DLQ_REDRIVEN_SECONDS)
    return sent


def _send(settings: Settings, entry: Parked, timeout: float) -> Redriven:
    topic = entry.source_topic
    key = (entry.key or b"").decode("utf-8", errors="replace")
    span = tracer().start_span(
        span_names.kafka_send(topic), kind=SpanKind.PRODUCER, context=_park_context(entry),
        links=_original_link(entry),
        attributes={**send_attributes(topic, key, settings.kafka_bootstrap_servers),
                    attr.DLQ_REDRIVEN_FROM: f"{settings.dlq_topic}/{entry.id}",
                    attr.DLQ_REASON: entry.reason,
                    **({attr.SIGNAL_ID: entry.signal_id} if entry.signal_id else {})})
    headers: Headers = [(n, v) for n, v in entry.headers if n.lower() not in TRACE_HEADERS]
    headers += carrier(trace.set_span_in_context(span))
    headers += [(PREVIOUS_REASONS, json.dumps(entry.reasons).encode()),
                (REDRIVEN_FROM, f"{settings.dlq_topic}/{entry.partition}/{entry.offset}".encode())]
    delivered: list[Message] = []
    failed: list[Exception] = []

    def on_delivery(error: Any, message: Message) -> None:
        if error is not None:
            failed.append(KafkaException(error))
        else:
            delivered.append(message)

    producer = Producer(settings.kafka_config({"enable.idempotence": True}))
    try:
        producer.produce(topic, key=entry.key, value=entry.value, headers=headers,
                         on_delivery=on_delivery)
        producer.flush(timeout)
    except Exception as refused:
        end_send_span(span, refused, None)
        raise
    if failed or not delivered:
        lost = failed[0] if failed else TimeoutError(f"not delivered within {timeout:.0f}s")
        end_send_span(span, lost, None)
        raise lost
    end_send_span(span, None, delivered[0])
    context = span.get_span_context()
    return Redriven(topic, delivered[0].partition() or 0, delivered[0].offset() or 0,
                    f"{context.trace_id:032x}" if context.is_valid else entry.trace_id)


def _park_context(entry: Parked) -> Context:
    """The redrive's parent: the span that parked the message, else the message's own."""
    if entry.park_traceparent:
        return traceparent_context(entry.park_traceparent)
    return extract_context(list(entry.headers))[0]


def _original_link(entry: Parked) -> list[Link]:
    """A link to the context the message arrived with (its producer's), when it had one."""
    context = trace.get_current_span(extract_context(list(entry.headers))[0]).get_span_context()
    return [Link(context)] if context.is_valid else []
