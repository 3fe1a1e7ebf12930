"""Our OTLP wire encoder writes the stock encoder's bytes, to the byte.

Spans and log records are generated with every attribute type and edge the data model allows
(and some it does not: ints beyond int64, lone surrogates, unknown types, which both encoders
must drop alike), several resources and scopes interleaved, events, links, every status and
kind, dropped counts, remote and local parents, trace state.
"""

from __future__ import annotations

import logging
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from tracing.otlp import encode_logs_request, encode_spans_request
from tracing.setup import HashedOnce

UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
NANOS = st.one_of(st.just(0), st.integers(min_value=1, max_value=2**63))
TEXT = st.text(max_size=12) | st.sampled_from(["", "é", "信号", "🙂", "a" * 200])
NAMES = TEXT | st.just("name \ud800")
# Values the encoders must refuse (and drop the attribute) the same way.
REFUSED = st.sampled_from(["lone \ud800 surrogate", 2**63, -(2**63) - 1, 2**80, frozenset({1})])
SCALARS = st.one_of(
    st.none(), st.booleans(), TEXT, st.binary(max_size=8),
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from([0, -1, 127, 128]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0]),
)
VALUES = st.recursive(
    SCALARS | REFUSED,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
ATTRIBUTES = st.dictionaries(TEXT | st.just("key \udfff"), VALUES, max_size=5)
RESOURCE_VALUES = st.one_of(TEXT, st.booleans(), st.integers(-5, 5), st.floats(-1, 1),
                            st.lists(TEXT, max_size=2).map(tuple))

RESOURCES = st.lists(
    st.builds(lambda attrs, url, hashed: (HashedOnce if hashed else lambda r: r)(
        Resource(attrs, url)),
        st.dictionaries(TEXT, RESOURCE_VALUES, max_size=4),
        st.sampled_from([None, "", "https://opentelemetry.io/schemas/1.30.0"]), st.booleans()),
    min_size=1, max_size=3)
SCOPES = st.lists(
    st.one_of(st.none(), st.builds(
        InstrumentationScope, TEXT, st.none() | TEXT, st.none() | st.just("https://s/1"),
        st.none() | st.dictionaries(TEXT, RESOURCE_VALUES, max_size=2))),
    min_size=1, max_size=3)


def bounded(attributes: dict[str, Any], dropped: int) -> BoundedAttributes:
    """Attributes as the SDK holds them, with a dropped count, unvalidated (so the encoders
    meet values the SDK would have refused)."""
    held = BoundedAttributes(immutable=False)
    held._dict = dict(attributes)
    held.dropped = dropped
    return held


def bounded_list(items: list[Any], dropped: int) -> BoundedList:
    held = BoundedList(None)
    held.extend(items)
    held.dropped = dropped
    return held


DROPPED = st.sampled_from([0, 0, 1, 300])
TRACE_STATE = st.sampled_from([None, TraceState(), TraceState([("vendor", "v1")]),
                               TraceState([("a", "1"), ("b@x", "two")])])


@st.composite
def contexts(draw: st.DrawFn) -> SpanContext:
    return SpanContext(trace_id=draw(st.integers(0, 2**128 - 1)), span_id=draw(UINT64),
                       is_remote=draw(st.booleans()),
                       trace_flags=TraceFlags(draw(st.sampled_from([0, 1]))),
                       trace_state=draw(TRACE_STATE))


@st.composite
def events(draw: st.DrawFn) -> Event:
    event = Event(draw(TEXT), timestamp=draw(NANOS))
    event._attributes = bounded(draw(ATTRIBUTES), draw(DROPPED))
    return event


@st.composite
def links(draw: st.DrawFn) -> Link:
    link = Link(draw(contexts()))
    link._attributes = bounded(draw(ATTRIBUTES), draw(DROPPED))
    return link


@st.composite
def spans(draw: st.DrawFn, resources: list[Resource],
          scopes: list[InstrumentationScope | None]) -> ReadableSpan:
    code = draw(st.sampled_from(list(StatusCode)))
    return ReadableSpan(
        name=draw(NAMES), context=draw(contexts()), parent=draw(st.none() | contexts()),
        resource=draw(st.sampled_from(resources)),
        attributes=bounded(draw(ATTRIBUTES), draw(DROPPED)),
        events=bounded_list(draw(st.lists(events(), max_size=2)), draw(DROPPED)),
        links=bounded_list(draw(st.lists(links(), max_size=2)), draw(DROPPED)),
        kind=draw(st.sampled_from(list(SpanKind))),
        status=Status(code, draw(st.none() | TEXT) if code is StatusCode.ERROR else None),
        start_time=draw(NANOS), end_time=draw(NANOS),
        instrumentation_scope=draw(st.sampled_from(scopes)))


@st.composite
def span_batches(draw: st.DrawFn) -> list[ReadableSpan]:
    resources, scopes = draw(RESOURCES), draw(SCOPES)
    return draw(st.lists(spans(resources, scopes), max_size=6))


@st.composite
def log_records(draw: st.DrawFn, resources: list[Resource],
                scopes: list[InstrumentationScope | None]) -> ReadableLogRecord:
    record = LogRecord(
        timestamp=draw(st.none() | NANOS), observed_timestamp=draw(NANOS),
        trace_id=draw(st.just(0) | st.integers(1, 2**128 - 1)),
        span_id=draw(st.just(0) | st.integers(1, 2**64 - 1)),
        trace_flags=TraceFlags(draw(st.sampled_from([0, 1]))),
        severity_text=draw(st.none() | st.sampled_from(["", "INFO", "ERROR"])),
        severity_number=draw(st.none() | st.sampled_from(list(SeverityNumber))),
        body=draw(VALUES),
        attributes=bounded(draw(ATTRIBUTES), draw(DROPPED)),
        event_name=draw(st.none() | TEXT))
    return ReadableLogRecord(record, resource=draw(st.sampled_from(resources)),
                             instrumentation_scope=draw(st.sampled_from(scopes)))


@st.composite
def log_batches(draw: st.DrawFn) -> list[ReadableLogRecord]:
    resources, scopes = draw(RESOURCES), draw(SCOPES)
    return draw(st.lists(log_records(resources, scopes), max_size=6))


def outcome(encode: Any, batch: list[Any]) -> bytes | type[BaseException]:
    """The bytes, or the kind of error: a span name or a log body that cannot be encoded
    (a lone surrogate, an int beyond int64) fails the whole request in both."""
    try:
        return encode(batch)  # type: ignore[no-any-return]
    except Exception as error:  # noqa: BLE001
        return type(error)


def _quiet() -> None:
    """Both encoders log every attribute they drop; the test makes many on purpose."""
    for name in ("tracing.otlp.wire", "opentelemetry.exporter.otlp.proto.common._internal"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span_batches())
def test_spans_are_written_as_the_stock_encoder_writes_them(batch: list[ReadableSpan]) -> None:
    _quiet()
    assert outcome(encode_spans_request, batch) == outcome(
        lambda b: encode_spans(b).SerializeToString(), batch)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_batches())
def test_log_records_are_written_as_the_stock_encoder_writes_them(
        batch: list[ReadableLogRecord]) -> None:
    _quiet()
    assert outcome(encode_logs_request, batch) == outcome(
        lambda b: encode_logs(b).SerializeToString(), batch)


def test_an_empty_batch_is_an_empty_request() -> None:
    assert encode_spans_request([]) == encode_spans([]).SerializeToString() == b""
