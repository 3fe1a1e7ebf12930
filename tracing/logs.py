"""Log lines that point to their trace: JSON with `trace_id`, `span_id`, `service.name` and
`signal.id` on every line, so an engineer finds a signal's logs from its trace and back.

The trace and span ids come from OpenTelemetry's logging instrumentation (a log record factory
that reads the current span); `signal.id` from the baggage every signal's work carries; the
JSON from python-json-logger. `TRADETRACE_LOG_FORMAT=text` keeps a terminal readable, ids
included. `tradetrace trace` reads these lines back (trace_reader/logs.py).
"""

from __future__ import annotations

import logging

from opentelemetry import baggage
from opentelemetry.instrumentation.logging import LoggingInstrumentor
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from tracing.attributes import SIGNAL_ID
from tracing.settings import TracingSettings
from tracing.setup import use_stable_http_conventions

TEXT_FORMAT = ("%(asctime)s %(levelname)s %(name)s [trace_id=%(otelTraceID)s "
               "span_id=%(otelSpanID)s signal.id=%(signal_id)s] %(message)s")
# The record's fields a JSON line carries, under the names the trace's attributes use.
JSON_FIELDS = ["levelname", "name", "message", "otelTraceID", "otelSpanID", "signal_id"]
RENAMED = {"levelname": "level", "name": "logger", "otelTraceID": "trace_id",
           "otelSpanID": "span_id", "signal_id": "signal.id"}
NO_TRACE = "0"      # what the instrumentation writes outside a span
# Also set by the instrumentation, not wanted: the sampled flag, and the provider's service
# name (read once, before a Celery child has its provider; ours is passed in).
LEFT_OUT = ["otelTraceSampled", "otelServiceName"]


class SignalIdFilter(logging.Filter):
    """Adds the current signal's id (from baggage) to every record; outside a span or a
    signal the ids are null, not the instrumentation's "0"."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.signal_id = baggage.get_baggage(SIGNAL_ID)
        for field in ("otelTraceID", "otelSpanID"):
            if getattr(record, field, NO_TRACE) == NO_TRACE:
                setattr(record, field, None)
        return True


def configure_logging(service_name: str, level: int = logging.INFO) -> None:
    """Root logging for a service: one handler on stderr, JSON (or text) lines with ids."""
    use_stable_http_conventions()      # before this first instrumentor locks the choice in
    if not LoggingInstrumentor().is_instrumented_by_opentelemetry:
        LoggingInstrumentor().instrument(set_logging_format=False, inject_trace_context=True)
    handler = logging.StreamHandler()
    handler.addFilter(SignalIdFilter())
    if TracingSettings().log_format == "text":
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields=RENAMED,
                                           static_fields={"service.name": service_name},
                                           reserved_attrs=[*RESERVED_ATTRS, *LEFT_OUT],
                                           timestamp="time"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
