"""The dead-letter queue's contract: the `dlq.*` headers a park adds, and an entry as read.

The dispatcher parks a message it cannot handle in the DLQ topic with its original key, value
and headers, plus `dlq.*` headers saying why, where it came from and which span parked it
(services/trigger_dispatcher/dlq.py). The CLI, the API and the explorer read and redrive
entries through `services/shared/redrive.py`. A redriven message carries the reasons it was
parked for (`dlq.previous.reasons`), so if it fails again its new entry says all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tracing.kafka import read_headers

REASON = "dlq.reason"
ERROR_TYPE = "dlq.error.type"              # invalid_signal, dispatch_error (the span's error.type)
SOURCE_TOPIC = "dlq.source.topic"
SOURCE_PARTITION = "dlq.source.partition"
SOURCE_OFFSET = "dlq.source.offset"
NOTE = "dlq.note"                          # what the copy left out (unreadable, oversized)
PARK_TRACEPARENT = "dlq.park.traceparent"  # the span that parked it (W3C traceparent)
PREVIOUS_REASONS = "dlq.previous.reasons"  # a JSON list: why it was parked before a redrive
REDRIVEN_FROM = "dlq.redriven.from"        # "<dlq topic>/<partition>/<offset>" it came from
# The headers a park adds, left out when the message goes back to its source.
PARK_HEADERS = (REASON, ERROR_TYPE, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, NOTE,
                PARK_TRACEPARENT)
# Trace context headers: a redriven message carries the redrive span's instead.
TRACE_HEADERS = ("traceparent", "tracestate", "x-amzn-trace-id")
_W3C = TraceContextTextMapPropagator()


def park_traceparent(span: Span) -> list[tuple[str, bytes]]:
    """The header naming the span that parks a message (none when it is not recorded)."""
    found: dict[str, str] = {}
    _W3C.inject(found, context=trace.set_span_in_context(span))
    return [(PARK_TRACEPARENT, found["traceparent"].encode())] if "traceparent" in found else []


def traceparent_context(traceparent: str | None) -> Context:
    """The context a W3C traceparent names (an invalid one when it names none)."""
    return _W3C.extract({"traceparent": traceparent or ""})


@dataclass(frozen=True)
class Parked:
    """One DLQ entry: where it is, why, where it came from, and the original message."""

    partition: int
    offset: int
    parked_at: datetime
    reasons: list[str]           # oldest first; the last is why it is parked now
    error_type: str              # why, in a word ("unknown" for an entry parked before it)
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    note: str | None
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]     # the original message's, without the park's
    park_traceparent: str | None
    redriven_at: str | None = None       # when this entry was redriven, if it was

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        return self.reasons[-1]

    @property
    def body(self) -> dict[str, Any] | None:
        """The value as a JSON object, when it is one (a signal, or something like one)."""
        try:
            found = json.loads(self.value or b"")
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    @property
    def ticker(self) -> str | None:
        ticker = (self.body or {}).get("ticker")
        return ticker if isinstance(ticker, str) else None

    @property
    def signal_id(self) -> str | None:
        signal_id = (self.body or {}).get("signal_id")
        return signal_id if isinstance(signal_id, str) else None

    @property
    def trace_id(self) -> str | None:
        """The trace the park is in (the signal's, when the message carried its context)."""
        parent = self.park_traceparent or _header(self.headers, "traceparent")
        context = trace.get_current_span(traceparent_context(parent)).get_span_context()
        return f"{context.trace_id:032x}" if context.is_valid else None

    def summary(self) -> dict[str, Any]:
        """What a list shows: everything but the value and headers."""
        return {"id": self.id, "partition": self.partition, "offset": self.offset,
                "parked_at": self.parked_at.isoformat(), "reason": self.reason,
                "error_type": self.error_type,
                "reasons": self.reasons, "source": {"topic": self.source_topic,
                                                    "partition": self.source_partition,
                                                    "offset": self.source_offset},
                "note": self.note, "ticker": self.ticker, "signal_id": self.signal_id,
                "trace_id": self.trace_id, "redriven_at": self.redriven_at}

    def detail(self) -> dict[str, Any]:
        """`summary` with the key, value and headers (text where they are UTF-8)."""
        return {**self.summary(), "key": _text(self.key), "value": _text(self.value),
                "headers": [[name, _text(value)] for name, value in self.headers]}


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", errors="replace")


def _header(headers: Iterable[tuple[str, bytes | None]], name: str) -> str | None:
    for key, value in headers:
        if key == name and value is not None:
            return value.decode("utf-8", errors="replace")
    return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def parked_from(message: Message) -> Parked:
    """A DLQ message as an entry (its headers as the dispatcher wrote them)."""
    raw = [(name, value) for name, value in read_headers(message) or []
           if isinstance(name, str) and isinstance(value, bytes)]
    previous = _header(raw, PREVIOUS_REASONS)
    try:
        reasons = [str(r) for r in json.loads(previous)] if previous else []
    except ValueError:
        reasons = [previous or ""]
    _, timestamp_ms = message.timestamp()
    return Parked(
        partition=message.partition() or 0, offset=message.offset() or 0,
        parked_at=datetime.fromtimestamp(max(timestamp_ms, 0) / 1000, UTC),
        reasons=[*reasons, _header(raw, REASON) or "(no reason recorded)"],
        error_type=_header(raw, ERROR_TYPE) or "unknown",
        source_topic=_header(raw, SOURCE_TOPIC) or "",
        source_partition=_int(_header(raw, SOURCE_PARTITION)),
        source_offset=_int(_header(raw, SOURCE_OFFSET)),
        note=_header(raw, NOTE), key=message.key(), value=message.value(),
        headers=[(n, v) for n, v in raw if n not in PARK_HEADERS and n != PREVIOUS_REASONS],
        park_traceparent=_header(raw, PARK_TRACEPARENT))
