"""ExportTraceServiceRequest bytes for SDK spans (trace.proto), as the stock `encode_spans`
writes them: span flags say whether the parent is remote (not the sampled bit), a link carries
no trace state, the status is always written."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext
from opentelemetry.trace.span import TraceState

from tracing.otlp import wire
from tracing.otlp.request import encode_request

# Span.flags: SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, plus _IS_REMOTE_MASK for a remote parent.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_FLAGS_LOCAL = wire.fixed32(_HAS_IS_REMOTE)
_FLAGS_REMOTE = wire.fixed32(_HAS_IS_REMOTE | _IS_REMOTE)

# Span's tags, by field number.
_TRACE_ID = b"\x0a\x10"          # 1, always 16 bytes
_SPAN_ID = b"\x12\x08"           # 2, always 8 bytes
_TRACE_STATE = b"\x1a"           # 3
_PARENT_SPAN_ID = b"\x22\x08"    # 4
_NAME = b"\x2a"                  # 5
_KIND = b"\x30"                  # 6: the SDK's SpanKind value + 1
_START = b"\x39"                 # 7, fixed64
_END = b"\x41"                   # 8, fixed64
_ATTRIBUTES = b"\x4a"            # 9
_DROPPED_ATTRIBUTES = b"\x50"    # 10
_EVENTS = b"\x5a"                # 11
_DROPPED_EVENTS = b"\x60"        # 12
_LINKS = b"\x6a"                 # 13
_DROPPED_LINKS = b"\x70"         # 14
_STATUS = b"\x7a"                # 15
_FLAGS = b"\x85\x01"             # 16, fixed32
_KINDS = [wire.varint(kind + 1) for kind in range(5)]


def _flags(context: SpanContext | None) -> bytes:
    return _FLAGS_REMOTE if context and context.is_remote else _FLAGS_LOCAL


def _trace_state(trace_state: TraceState | None) -> bytes:
    if not trace_state:
        return b""
    return wire.delimited(_TRACE_STATE,
                          ",".join(f"{k}={v}" for k, v in trace_state.items()).encode())


def _event(event: Event) -> bytes:
    """Event { time = 1 (fixed64); name = 2; attributes = 3; dropped_attributes_count = 4 }."""
    return (wire.fixed64_field(b"\x09", event.timestamp)
            + wire.string_field(b"\x12", event.name)
            + wire.attributes(b"\x1a", event.attributes)
            + wire.uint_field(b"\x20", event.dropped_attributes))


def _link(link: Link) -> bytes:
    """Link { trace_id = 1; span_id = 2; attributes = 4; dropped = 5; flags = 6 (fixed32) }."""
    context = link.context
    return (_TRACE_ID + context.trace_id.to_bytes(16, "big")
            + _SPAN_ID + context.span_id.to_bytes(8, "big")
            + wire.attributes(b"\x22", link.attributes)
            + wire.uint_field(b"\x28", link.dropped_attributes)
            + b"\x35" + _flags(context))


def _dropped(held: object) -> int:
    return getattr(held, "dropped", 0)


def encode_span(span: ReadableSpan) -> bytes:
    """One Span message. It reads the span's fields, not its properties (SDK internals,
    checked at start-up by tracing/otlp/exporters.py): the properties copy the attributes,
    events and links into new containers on every read."""
    context = span._context
    assert context is not None
    parent = span._parent
    attributes = span._attributes
    events = span._events
    links = span._links
    status = span._status
    parts = [
        _TRACE_ID, context.trace_id.to_bytes(16, "big"),
        _SPAN_ID, context.span_id.to_bytes(8, "big"),
        _trace_state(context.trace_state),
        _PARENT_SPAN_ID + parent.span_id.to_bytes(8, "big") if parent else b"",
        wire.string_field(_NAME, span._name),
        _KIND, _KINDS[span._kind.value],
        wire.fixed64_field(_START, span._start_time),
        wire.fixed64_field(_END, span._end_time),
        wire.attributes(_ATTRIBUTES, attributes),
        wire.uint_field(_DROPPED_ATTRIBUTES, _dropped(attributes)),
    ]
    if events:
        parts.extend(wire.delimited(_EVENTS, _event(event)) for event in events)
    parts.append(wire.uint_field(_DROPPED_EVENTS, _dropped(events)))
    if links:
        parts.extend(wire.delimited(_LINKS, _link(link)) for link in links)
    parts.append(wire.uint_field(_DROPPED_LINKS, _dropped(links)))
    if status is not None:
        # Status { message = 2; code = 3 }
        parts.append(wire.delimited(_STATUS, wire.string_field(b"\x12", status.description)
                                    + wire.uint_field(b"\x18", status.status_code.value)))
    parts.append(_FLAGS)
    parts.append(_flags(parent))
    return b"".join(parts)


def encode_spans_request(spans: Sequence[ReadableSpan]) -> bytes:
    """A serialized ExportTraceServiceRequest, byte for byte what
    `encode_spans(spans).SerializeToString()` returns."""
    return encode_request(spans, encode_span)
