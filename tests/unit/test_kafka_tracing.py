"""Trace context in Kafka headers and the shapes of the send and process spans."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError
from opentelemetry import baggage, trace
from opentelemetry.trace import SpanKind, StatusCode

from services.shared.signals import Signal
from services.signal_generator.emitting import generate_and_publish
from services.signal_generator.publisher import SignalPublisher
from tracing import signal_baggage, span_names, tracer
from tracing.kafka import (
    end_send_span,
    extract_context,
    process_span,
    receive_span,
    start_send_span,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class StubMessage:
    """What the process span reads from a confluent-kafka Message."""

    def __init__(self, headers, offset: int = 7) -> None:
        self._headers, self._offset = headers, offset

    def headers(self):
        return self._headers

    def topic(self) -> str:
        return "trading-signals"

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"AAPL"

    def timestamp(self):
        return (1, 1_700_000_000_000)


def _trace_id(context) -> str:
    return format(trace.get_current_span(context).get_span_context().trace_id, "032x")


@pytest.mark.parametrize("name", ["traceparent", "Traceparent", "TRACEPARENT"])
def test_header_lookup_ignores_case(name: str) -> None:
    context, problem = extract_context([(name, PARENT.encode())])
    assert problem is None and _trace_id(context) == TRACE_ID


@pytest.mark.parametrize(("headers", "problem"), [
    (None, "missing"),
    ([], "missing"),
    ([("signal_id", b"x")], "missing"),
    ([("traceparent", b"garbage")], "invalid"),
    ([("traceparent", b"\xff\xfe\xfd")], "invalid"),                 # not UTF-8
    ([("traceparent", None)], "invalid"),
    ([("traceparent", f"00-{'0' * 32}-00f067aa0ba902b7-01".encode())], "invalid"),
])
def test_missing_or_bad_context_is_reported_not_raised(headers, problem: str) -> None:
    context, found = extract_context(headers)
    assert found == problem
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_baggage_from_a_message_is_dropped_unless_trusted() -> None:
    """Any producer can write to a topic: its baggage must not label our spans (the
    BaggageSpanProcessor would copy a foreign `signal.id` onto the consumer span)."""
    headers = [("traceparent", PARENT.encode()), ("baggage", b"signal.id=forged")]
    context, _ = extract_context(headers)
    assert baggage.get_baggage("signal.id", context) is None
    assert trace.get_current_span(context).get_span_context().is_valid   # the parent is kept
    trusted, _ = extract_context(headers, trust_baggage=True)
    assert baggage.get_baggage("signal.id", trusted) == "forged"


def test_send_span_injects_its_context_and_records_delivery(spans) -> None:
    with (tracer().start_as_current_span(span_names.SIGNAL_GENERATE) as parent,
          signal_baggage("s-1")):
        span, headers = start_send_span(tracer(), "trading-signals", "AAPL", "127.0.0.1:9092")
    names = [name for name, _ in headers]
    assert "traceparent" in names and ("baggage", b"signal.id=s-1") in headers
    carried, _ = extract_context(headers, trust_baggage=True)
    assert baggage.get_baggage("signal.id", carried) == "s-1"
    assert trace.get_current_span(carried).get_span_context().span_id == \
        span.get_span_context().span_id

    class Delivered:
        def partition(self):
            return 1

        def offset(self):
            return 99

    end_send_span(span, None, Delivered())
    [send] = [s for s in spans.get_finished_spans() if s.name == "send trading-signals"]
    assert send.kind == SpanKind.PRODUCER
    assert send.parent.span_id == parent.get_span_context().span_id
    assert send.attributes["messaging.system"] == "kafka"
    assert send.attributes["messaging.operation.type"] == "send"
    assert send.attributes["messaging.destination.name"] == "trading-signals"
    assert send.attributes["messaging.kafka.message.key"] == "AAPL"
    assert send.attributes["messaging.destination.partition.id"] == "1"
    assert send.attributes["messaging.kafka.offset"] == 99
    assert send.attributes["server.address"] == "127.0.0.1"
    assert send.attributes["signal.id"] == "s-1"                 # from baggage


def test_failed_delivery_sets_error_status(spans) -> None:
    span, _ = start_send_span(tracer(), "trading-signals", "AAPL", "127.0.0.1:9092")
    end_send_span(span, KafkaError(KafkaError._MSG_TIMED_OUT), None)
    [send] = spans.get_finished_spans()
    assert send.status.status_code == StatusCode.ERROR
    assert send.attributes["error.type"] == "_MSG_TIMED_OUT"


def test_process_span_continues_the_message_trace_and_links_the_batch(spans) -> None:
    good = StubMessage([("traceparent", PARENT.encode())])
    bad = StubMessage([("traceparent", b"garbage")], offset=8)
    contexts = [extract_context(m.headers()) for m in (good, bad)]
    with receive_span(tracer(), "trading-signals", "dispatchers", [c for c, _ in contexts],
                      "127.0.0.1:9092") as batch:
        for message, (parent, problem) in zip((good, bad), contexts, strict=True):
            with process_span(tracer(), message, parent, problem, batch, "dispatchers"):
                pass
    finished = {s.name + str(s.attributes.get("messaging.kafka.offset", "")): s
                for s in spans.get_finished_spans()}
    receive, continued, fresh = (finished["receive trading-signals"],
                                 finished["process trading-signals7"],
                                 finished["process trading-signals8"])
    assert receive.kind == SpanKind.CLIENT and receive.parent is None
    assert receive.attributes["messaging.batch.message_count"] == 2
    assert [format(link.context.trace_id, "032x") for link in receive.links] == [TRACE_ID]

    assert continued.kind == SpanKind.CONSUMER
    assert format(continued.context.trace_id, "032x") == TRACE_ID
    assert continued.parent.span_id == 0x00f067aa0ba902b7
    assert [link.context.span_id for link in continued.links] == [receive.context.span_id]
    assert continued.attributes["messaging.consumer.group.name"] == "dispatchers"
    assert continued.attributes["messaging.destination.partition.id"] == "2"
    assert continued.attributes["tradetrace.message.age_ms"] > 0
    assert "tradetrace.trace_context" not in continued.attributes

    assert fresh.parent is None and format(fresh.context.trace_id, "032x") != TRACE_ID
    assert fresh.context.trace_id != receive.context.trace_id
    assert fresh.attributes["tradetrace.trace_context"] == "invalid"


def test_undeliverable_signal_ends_its_send_span_in_error(spans) -> None:
    """A broker that never answers: the delivery report fails, the span says so, nothing hangs."""
    publisher = SignalPublisher("127.0.0.1:1", "trading-signals",
                                {"message.timeout.ms": 200, "enable.idempotence": False})
    signal = Signal(signal_type="mock", source="test", ticker="AAPL", direction="buy",
                    strength=0.5)
    generate_and_publish(iter([signal]), publisher)
    assert publisher.flush(5) == 0
    assert (publisher.counts.delivered, publisher.counts.failed) == (0, 1)
    [generate] = spans.get_finished_spans()
    assert (generate.name, generate.kind) == (span_names.SIGNAL_GENERATE, SpanKind.PRODUCER)
    assert generate.attributes["signal.id"] == signal.signal_id
    assert generate.status.status_code == StatusCode.ERROR
    assert generate.attributes["error.type"] == "_MSG_TIMED_OUT"


class FlakyProducer:
    """confluent-kafka's Producer as far as the publisher uses it: refuses the first message
    (a full local queue), then reports every message delivered."""

    def __init__(self) -> None:
        self.sent: list[list] = []
        self.reports: list = []

    def produce(self, topic, key, value, headers, on_delivery) -> None:
        if not self.sent and not self.reports:
            self.reports.append(None)
            raise BufferError("Local: Queue full")
        self.sent.append(headers)
        self.reports.append(on_delivery)

    def poll(self, timeout: float = 0) -> int:
        for report in self.reports:
            if report is not None:
                report(None, _Delivered())
        self.reports = [None]
        return 0


class _Delivered:
    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 5


def test_a_signal_is_one_producer_span_and_a_retry_a_send_span_under_it(spans) -> None:
    """One span per signal on the generator (its PRODUCER span, the root of its trace); a
    signal the producer's queue refused is sent again later in a `send` span under it, and
    each message carries its own span's context and the signal id."""
    publisher = SignalPublisher("127.0.0.1:9092", "trading-signals")
    publisher.producer = FlakyProducer()  # type: ignore[assignment]
    signal = Signal(signal_type="mock", source="test", ticker="AAPL", direction="buy",
                    strength=0.5)
    generate_and_publish(iter([signal]), publisher)
    assert (publisher.counts.queue_full, len(publisher.pending)) == (1, 1)
    assert publisher.retry_pending() == 1
    finished = {s.name: s for s in spans.get_finished_spans()}
    generate, retry = finished[span_names.SIGNAL_GENERATE], finished["send trading-signals"]
    assert generate.parent is None and generate.kind == SpanKind.PRODUCER
    assert generate.attributes["messaging.destination.name"] == "trading-signals"
    assert generate.attributes["messaging.kafka.message.key"] == "AAPL"
    assert generate.attributes["signal.type"] == "mock"
    assert generate.status.status_code == StatusCode.ERROR            # the queue was full
    assert retry.parent.span_id == generate.context.span_id
    assert retry.attributes["messaging.kafka.offset"] == 5
    assert retry.attributes["signal.id"] == signal.signal_id             # from baggage
    [headers] = publisher.producer.sent
    carried, _ = extract_context(headers, trust_baggage=True)
    assert trace.get_current_span(carried).get_span_context().span_id == retry.context.span_id
    assert baggage.get_baggage("signal.id", carried) == signal.signal_id


def test_a_delivered_signal_carries_its_generate_span_and_id(spans) -> None:
    publisher = SignalPublisher("127.0.0.1:9092", "trading-signals")
    producer = FlakyProducer()
    producer.sent.append([])            # past the refusal
    publisher.producer = producer  # type: ignore[assignment]
    signal = Signal(signal_type="mock", source="test", ticker="MSFT", direction="sell",
                    strength=0.5)
    generate_and_publish(iter([signal]), publisher)
    [generate] = spans.get_finished_spans()
    assert generate.status.status_code == StatusCode.UNSET
    assert generate.attributes["messaging.destination.partition.id"] == "0"
    carried, _ = extract_context(producer.sent[-1], trust_baggage=True)
    assert trace.get_current_span(carried).get_span_context().span_id == \
        generate.context.span_id
    assert baggage.get_baggage("signal.id", carried) == signal.signal_id


def test_oversized_trace_headers_from_outside_are_bounded() -> None:
    """A stranger's headers cannot grow what we carry: a tracestate over W3C's 32 members is
    dropped, baggage is dropped at the boundary (and capped by the propagator if trusted)."""
    members = ",".join(f"k{i}=v{i}" for i in range(40))
    huge_baggage = ",".join(f"key{i}={'x' * 100}" for i in range(500)).encode()
    headers = [("traceparent", PARENT.encode()), ("tracestate", members.encode()),
               ("baggage", huge_baggage)]
    context, problem = extract_context(headers)
    span_context = trace.get_current_span(context).get_span_context()
    assert problem is None and span_context.is_valid
    assert len(span_context.trace_state) == 0
    assert baggage.get_all(context) == {}
    trusted, _ = extract_context(headers, trust_baggage=True)
    assert len(baggage.get_all(trusted)) <= 180            # W3C baggage: at most 180 entries


def test_a_signal_that_cannot_be_handed_over_ends_its_generate_span_in_error(spans) -> None:
    """As `start_as_current_span` did: the exception is recorded, the status says which."""
    class Refusing:
        topic, bootstrap_servers = "trading-signals", "127.0.0.1:9092"

        def publish(self, signal: Signal, span: object) -> None:
            raise RuntimeError("refused")

    signal = Signal(signal_type="mock", source="test", ticker="AAPL", direction="buy",
                    strength=0.5)
    with pytest.raises(RuntimeError):
        generate_and_publish(iter([signal]), Refusing())  # type: ignore[arg-type]
    [span] = spans.get_finished_spans()
    assert (span.name, span.status.status_code, span.status.description) == (
        span_names.SIGNAL_GENERATE, StatusCode.ERROR, "RuntimeError: refused")
    assert [e.name for e in span.events] == ["exception"]
    assert baggage.get_baggage("signal.id") is None          # no context was left behind
