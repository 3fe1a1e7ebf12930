"""Trace context in Kafka headers, and the spans of sending and processing a message.

We do not use the confluent-kafka instrumentation's consumer wrapper: it parents the
processing on a new trace and only links the producer. Here each message's processing span
is a child of the context extracted from that message, so one signal stays one trace.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from confluent_kafka import KafkaError, Message
from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter, Setter, TextMapPropagator
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer

from tracing import attributes as attr
from tracing import span_names

Headers = list[tuple[str, bytes | str | None]]
# Headers that carry a trace's parent (W3C and X-Ray); their absence is "missing" context.
PARENT_HEADERS = ("traceparent", "x-amzn-trace-id")


class KafkaHeaders(Getter[Headers], Setter[Headers]):
    """A carrier over confluent-kafka's header list. Lookups ignore case (proxies and other
    clients lower-case names); a value that is not UTF-8 reads as absent, never as an error."""

    def get(self, carrier: Headers | None, key: str) -> list[str] | None:
        wanted = key.lower()
        for name, value in carrier or ():
            if isinstance(name, str) and name.lower() == wanted and value is not None:
                if isinstance(value, str):
                    return [value]
                try:
                    return [value.decode("utf-8")]
                except (UnicodeDecodeError, AttributeError):
                    return None
        return None

    def set(self, carrier: Headers, key: str, value: str) -> None:
        carrier.append((key, value.encode("utf-8")))

    def keys(self, carrier: Headers | None) -> list[str]:
        return [name for name, _ in carrier or () if isinstance(name, str)]


HEADERS = KafkaHeaders()


def read_headers(message: Message) -> Headers | None:
    """The message's headers, or None when they cannot be read safely.

    confluent-kafka (2.16.1) builds the header list in C and does not handle a header name
    that is not UTF-8: it raises SystemError, or, when a later header decodes fine, returns a
    list with an empty (NULL) slot that crashes the process when touched, and asking the same
    message again returns that list too. Reproduced with names written through librdkafka.
    So the list is checked for holes (CPython's list and tuple layouts) before any item is
    read, and each message's headers are read once, by the caller.
    """
    try:   # the extension may also leave its error pending, raised by a later call
        headers = message.headers()
        if headers is None:
            return []
        if not isinstance(headers, list) or _has_holes(headers):
            return None
        for pair in headers:
            if not isinstance(pair, tuple) or _has_holes(pair):
                return None
        return list(headers)
    except Exception:  # noqa: BLE001 - SystemError or UnicodeDecodeError from the extension
        return None


_POINTER = ctypes.sizeof(ctypes.c_void_p)


def _has_holes(items: Sequence[object]) -> bool:
    """True when a slot of the list or tuple is NULL (read without touching the items).
    CPython: a list is {refcnt, type, size, ob_item*}, a tuple {refcnt, type, size, ob_item[]}."""
    count = len(items)
    if count == 0:
        return False
    if isinstance(items, list):
        address = ctypes.c_void_p.from_address(id(items) + 3 * _POINTER).value
        if not address:
            return True
    else:
        address = id(items) + 3 * _POINTER
    return any(slot is None for slot in (ctypes.c_void_p * count).from_address(address))


def extract_context(headers: Headers | None,
                    trust_baggage: bool = False) -> tuple[Context, str | None]:
    """The message's context, and why it has no valid parent ("missing"/"invalid"), if so.

    Any producer can write to a topic, so what its headers say is bounded here: the trace id is
    kept (a trace can start outside), its sampled flag is not obeyed (tracing/setup.py,
    `sampler`), and its baggage is dropped unless `trust_baggage` (TRADETRACE_TRUST_INCOMING_
    BAGGAGE): our own consumers set `signal.id` from the signal itself, so foreign baggage
    could only mislabel spans. Sizes are bounded by the propagators (tracestate: 32 members).
    """
    if trust_baggage:
        context = propagate.extract(headers or [], getter=HEADERS)
    else:
        # Cleared as well: a propagator other than the composite may still have read some.
        context = baggage.clear(_without_baggage(propagate.get_global_textmap()).extract(
            headers or [], context=Context(), getter=HEADERS))
    if trace.get_current_span(context).get_span_context().is_valid:
        return context, None
    present = {name.lower() for name in HEADERS.keys(headers)}
    return context, "invalid" if present.intersection(PARENT_HEADERS) else "missing"


@lru_cache(maxsize=4)
def _without_baggage(textmap: TextMapPropagator) -> TextMapPropagator:
    """The global propagator less its baggage part, for messages whose baggage is not trusted:
    parsing baggage only to clear it cost ~5 us per message (the composite's list of
    propagators is the API's internal `_propagators`; another kind is kept whole)."""
    parts = getattr(textmap, "_propagators", None)
    if not isinstance(textmap, CompositePropagator) or parts is None:
        return textmap
    kept = [part for part in parts if not isinstance(part, W3CBaggagePropagator)]
    return kept[0] if len(kept) == 1 else CompositePropagator(kept)


def _server(bootstrap_servers: str) -> dict[str, str | int]:
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    return {attr.SERVER_ADDRESS: host, attr.SERVER_PORT: int(port)} if port.isdigit() else {}


def send_attributes(topic: str, key: str, bootstrap_servers: str) -> dict[str, str | int]:
    """A PRODUCER span's messaging attributes for a message sent to `topic`."""
    return {
        attr.MESSAGING_SYSTEM: "kafka",
        attr.MESSAGING_DESTINATION: topic,
        attr.MESSAGING_OPERATION_TYPE: "send",
        attr.MESSAGING_OPERATION_NAME: "send",
        attr.MESSAGING_KAFKA_KEY: key,
        **_server(bootstrap_servers),
    }


def carrier(context: Context) -> Headers:
    """A header list carrying `context` (its span and baggage). Always a list, so injection
    cannot be skipped."""
    headers: Headers = []
    propagate.inject(headers, context=context, setter=HEADERS)
    return headers


def start_send_span(tracer: Tracer, topic: str, key: str,
                    bootstrap_servers: str) -> tuple[Span, Headers]:
    """A PRODUCER span (child of the current span) and a header list carrying its context.

    The span stays open until the delivery report (end_send_span), so its duration is the
    time to a durable write.
    """
    span = tracer.start_span(span_names.kafka_send(topic), kind=SpanKind.PRODUCER,
                             attributes=send_attributes(topic, key, bootstrap_servers))
    return span, carrier(trace.set_span_in_context(span))


def end_send_span(span: Span, error: KafkaError | Exception | None,
                  message: Message | None) -> None:
    """Record the delivery outcome on the send span and end it."""
    if error is None and message is not None:
        span.set_attributes({attr.MESSAGING_PARTITION: str(message.partition()),
                             attr.MESSAGING_KAFKA_OFFSET: message.offset()})
    elif error is not None:
        name = error.name() if isinstance(error, KafkaError) else error.__class__.__name__
        span.set_attribute(attr.ERROR_TYPE, name)
        span.set_status(Status(StatusCode.ERROR, str(error)))
    span.end()


@contextmanager
def receive_span(tracer: Tracer, topic: str, group: str, contexts: list[Context],
                 bootstrap_servers: str) -> Iterator[Span]:
    """The batch span: links every message's context, lasts as long as the batch's handling."""
    links = [Link(sc) for sc in (trace.get_current_span(c).get_span_context() for c in contexts)
             if sc.is_valid]
    with tracer.start_as_current_span(span_names.kafka_receive(topic), kind=SpanKind.CLIENT,
                                      links=links,
                                      context=Context(), attributes={
            attr.MESSAGING_SYSTEM: "kafka",
            attr.MESSAGING_DESTINATION: topic,
            attr.MESSAGING_OPERATION_TYPE: "receive",
            attr.MESSAGING_OPERATION_NAME: "receive",
            attr.MESSAGING_CONSUMER_GROUP: group,
            attr.MESSAGING_BATCH_COUNT: len(contexts),
            **_server(bootstrap_servers),
    }) as span:
        yield span


@contextmanager
def process_span(tracer: Tracer, message: Message, parent: Context, problem: str | None,
                 batch: Span, group: str) -> Iterator[Span]:
    """`start_process_span`, current inside the block and ended after it."""
    with trace.use_span(start_process_span(tracer, message, parent, problem, batch, group),
                        end_on_exit=True) as span:
        yield span


def start_process_span(tracer: Tracer, message: Message, parent: Context, problem: str | None,
                       batch: Span, group: str) -> Span:
    """One message's CONSUMER span: its parent is the message's own context (a new root when
    that is missing or invalid, marked so); it links to the batch span. Started, not made
    current: the dispatcher keeps a batch's process spans open while it does their I/O
    together, and enters each one's context when working for that message."""
    topic = message.topic() or ""
    attributes: dict[str, str | int | float] = {
        attr.MESSAGING_SYSTEM: "kafka",
        attr.MESSAGING_DESTINATION: topic,
        attr.MESSAGING_OPERATION_TYPE: "process",
        attr.MESSAGING_OPERATION_NAME: "process",
        attr.MESSAGING_CONSUMER_GROUP: group,
        attr.MESSAGING_PARTITION: str(message.partition()),
        attr.MESSAGING_KAFKA_OFFSET: message.offset() or 0,
    }
    key = message.key()
    if key is not None:
        attributes[attr.MESSAGING_KAFKA_KEY] = key.decode("utf-8", errors="replace")
    kind, timestamp_ms = message.timestamp()
    if timestamp_ms and timestamp_ms > 0:
        attributes[attr.MESSAGE_AGE_MS] = max(0.0, time.time() * 1000 - timestamp_ms)
    if problem:
        attributes[attr.TRACE_CONTEXT] = problem
    return tracer.start_span(span_names.kafka_process(topic), context=parent,
                             kind=SpanKind.CONSUMER, attributes=attributes,
                             links=[Link(batch.get_span_context())])
