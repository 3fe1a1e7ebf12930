"""Log lines carry the trace: JSON by default, the same ids as text for a terminal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from tracing import signal_baggage, tracer
from tracing.logs import configure_logging


@pytest.fixture
def captured(_provider, monkeypatch) -> Iterator[tuple[io.StringIO, Callable[[str], None]]]:
    saved = logging.getLogger().handlers[:], logging.getLogger().level
    buffer = io.StringIO()

    def configure(log_format: str) -> None:
        monkeypatch.setenv("TRADETRACE_LOG_FORMAT", log_format)
        configure_logging("unit-svc")
        logging.getLogger().handlers[0].setStream(buffer)

    yield buffer, configure
    logging.getLogger().handlers[:], level = saved
    logging.getLogger().setLevel(level)


def test_json_lines_carry_trace_span_service_and_signal(captured) -> None:
    buffer, configure = captured
    configure("json")
    logging.getLogger("t").info("before")
    with tracer().start_as_current_span("work") as span, signal_baggage("sig-7"):
        logging.getLogger("t").info("inside %d", 1)
    before, inside = (json.loads(line) for line in buffer.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["message"] == "inside 1" and inside["level"] == "INFO"
    assert (inside["trace_id"], inside["span_id"]) == (format(context.trace_id, "032x"),
                                                       format(context.span_id, "016x"))
    assert (inside["service.name"], inside["signal.id"]) == ("unit-svc", "sig-7")
    assert (before["trace_id"], before["span_id"], before["signal.id"]) == (None, None, None)
    assert "otelServiceName" not in inside and "time" in inside


def test_text_lines_keep_the_ids_for_a_terminal(captured) -> None:
    buffer, configure = captured
    configure("text")
    with tracer().start_as_current_span("work") as span, signal_baggage("sig-8"):
        logging.getLogger("t").info("readable")
    line = buffer.getvalue().strip()
    assert line.endswith("readable") and "signal.id=sig-8" in line
    assert f"trace_id={format(span.get_span_context().trace_id, '032x')}" in line


def test_otlp_records_carry_the_trace_as_fields_and_the_signal_as_attribute(captured) -> None:
    """The log record exported over OTLP: ids as the data model's fields, `signal.id` as an
    attribute, none of the stderr line's extra fields, and no record of the exporter's own."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from tracing.log_export import OtlpLogHandler

    _, configure = captured
    configure("json")
    exported = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exported))
    logging.getLogger().addHandler(OtlpLogHandler(logger_provider=provider))
    with tracer().start_as_current_span("work") as span, signal_baggage("sig-9"):
        logging.getLogger("t").warning("inside %s", "x")
        logging.getLogger("opentelemetry.exporter.otlp").warning("export failed")
    [record] = [r.log_record for r in exported.get_finished_logs()]
    context = span.get_span_context()
    assert (record.trace_id, record.span_id) == (context.trace_id, context.span_id)
    assert record.body == "inside x" and record.severity_text == "WARN"
    assert record.attributes["signal.id"] == "sig-9"
    assert not {"otelTraceID", "otelSpanID", "signal_id"} & set(record.attributes)
