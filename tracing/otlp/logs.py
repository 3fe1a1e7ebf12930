"""ExportLogsServiceRequest bytes for SDK log records (logs.proto), as the stock `encode_logs`
writes them: the body always (an empty AnyValue for None), trace and span ids only when not 0."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk._logs import ReadableLogRecord

from tracing.otlp import wire
from tracing.otlp.request import encode_request

# LogRecord's tags, by field number (4 is reserved).
_TIME = b"\x09"                  # 1, fixed64
_SEVERITY_NUMBER = b"\x10"       # 2
_SEVERITY_TEXT = b"\x1a"         # 3
_BODY = b"\x2a"                  # 5
_ATTRIBUTES = b"\x32"            # 6
_DROPPED_ATTRIBUTES = b"\x38"    # 7
_FLAGS = b"\x45"                 # 8, fixed32
_TRACE_ID = b"\x4a\x10"          # 9
_SPAN_ID = b"\x52\x08"           # 10
_OBSERVED_TIME = b"\x59"         # 11, fixed64
_EVENT_NAME = b"\x62"            # 12


def encode_log_record(readable: ReadableLogRecord) -> bytes:
    """One LogRecord message."""
    record = readable.log_record
    flags = int(record.trace_flags)  # as the stock encoder reads it (None fails it too)
    severity = getattr(record.severity_number, "value", None)
    return b"".join((
        wire.fixed64_field(_TIME, record.timestamp),
        wire.uint_field(_SEVERITY_NUMBER, severity),
        wire.string_field(_SEVERITY_TEXT, record.severity_text),
        wire.delimited(_BODY, wire.any_value(record.body)),
        wire.attributes(_ATTRIBUTES, record.attributes),
        wire.uint_field(_DROPPED_ATTRIBUTES, readable.dropped_attributes),
        _FLAGS + wire.fixed32(flags) if flags else b"",
        _TRACE_ID + record.trace_id.to_bytes(16, "big") if record.trace_id else b"",
        _SPAN_ID + record.span_id.to_bytes(8, "big") if record.span_id else b"",
        wire.fixed64_field(_OBSERVED_TIME, record.observed_timestamp),
        wire.string_field(_EVENT_NAME, record.event_name),
    ))


def encode_logs_request(records: Sequence[ReadableLogRecord]) -> bytes:
    """A serialized ExportLogsServiceRequest, byte for byte what
    `encode_logs(records).SerializeToString()` returns."""
    return encode_request(records, encode_log_record)
