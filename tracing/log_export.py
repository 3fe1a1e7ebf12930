"""Log records over OTLP, beside the JSON lines on stderr (tracing/logs.py).

Each record carries its trace and span ids as the OpenTelemetry log data model's own fields,
the service's resource (service.name, namespace, version) and `signal.id` as an attribute, so a
log backend links it to the trace: natively the collector counts the records by service and
severity (log_records_total), on AWS they go to CloudWatch Logs, where X-Ray shows a trace's
log lines. OTEL_LOGS_EXPORTER (otlp by default, console or none) and the usual
OTEL_EXPORTER_OTLP_(LOGS_)* variables apply.
"""

from __future__ import annotations

import logging

from opentelemetry import baggage
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    LogRecordExporter,
)
from opentelemetry.sdk.resources import Resource

from tracing.attributes import SIGNAL_ID
from tracing.exporters import chosen_exporter
from tracing.sdk_metrics import counting_drops

# Fields the stderr lines get from the logging instrumentation and our filter: in a log
# record they are first-class (trace and span ids) or an attribute under its own name.
DUPLICATES = frozenset({"otelTraceID", "otelSpanID", "otelTraceSampled", "otelServiceName",
                        "signal_id"})


class OtlpLogHandler(LoggingHandler):
    """The OpenTelemetry logging handler, minus the exporter's own records (a failing export
    would log, and that line be exported, and fail...) and the stderr line's extra fields."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("opentelemetry"):
            return
        fields = {k: v for k, v in vars(record).items() if k not in DUPLICATES}
        signal_id = baggage.get_baggage(SIGNAL_ID)
        if signal_id is not None:
            fields[SIGNAL_ID] = signal_id
        # A copy, so the other handlers' record stays whole; not through the record factory
        # (makeLogRecord), which would add the instrumentation's fields again.
        copy = logging.LogRecord.__new__(logging.LogRecord)
        copy.__dict__.update(fields)
        super().emit(copy)


def setup_log_export(resource: Resource) -> LoggerProvider | None:
    """A LoggerProvider exporting in batches, and its handler on the root logger (replacing
    one inherited across a fork, whose export thread did not survive it)."""
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, OtlpLogHandler)]
    with counting_drops():
        exporter: LogRecordExporter | None = chosen_exporter("logs", ConsoleLogRecordExporter)
        if exporter is None:
            return None
        processor = BatchLogRecordProcessor(exporter)
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(processor)
    root.addHandler(OtlpLogHandler(logger_provider=provider))
    return provider
