"""The real collector takes our wire-written requests over both OTLP transports: a trace with
every attribute type, an event, a link and an error reaches Jaeger whole, its spans are counted
in the derived metrics, and a log record is counted by the collector's logs pipeline.

(Every other integration test sends through the same encoder over gRPC, the default: the
derived-metric tests compare its counts with the database.)
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from tests.support.polling import eventually
from tests.support.prometheus import instant
from tracing.otlp.exporters import (
    GrpcWireLogExporter,
    GrpcWireSpanExporter,
    HttpWireLogExporter,
    HttpWireSpanExporter,
)
from tradetrace.stack.ports import HOST, port

ATTRIBUTES: dict[str, Any] = {
    "text": "signal ✓ 信号", "flag": True, "count": -(2**62), "ratio": 0.25,
    "tickers": ("AAPL", "MSFT"), "offsets": (1, 2**40), "checks": (True, False),
    "weights": (0.5, 1.5), "empty": "",
}
LINKED = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331,
                     is_remote=True, trace_flags=TraceFlags(1))


def _exporters(transport: str) -> tuple[Any, Any]:
    if transport == "grpc":
        endpoint = f"http://{HOST}:{port('collector', 'OTLP gRPC')}"
        return (GrpcWireSpanExporter(endpoint=endpoint, insecure=True),
                GrpcWireLogExporter(endpoint=endpoint, insecure=True))
    base = f"http://{HOST}:{port('collector', 'OTLP HTTP')}"
    return (HttpWireSpanExporter(endpoint=f"{base}/v1/traces"),
            HttpWireLogExporter(endpoint=f"{base}/v1/logs"))


def _send(transport: str, service: str) -> int:
    """A SERVER span with a CONSUMER child (linked, erroring, with an event) and a log record
    inside the child; exported synchronously, so a failed export fails here."""
    span_exporter, log_exporter = _exporters(transport)
    resource = Resource.create({"service.name": service})
    spans = TracerProvider(resource=resource)
    spans.add_span_processor(SimpleSpanProcessor(span_exporter))
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    tracer = spans.get_tracer("tradetrace.tests", "1.0")
    try:
        with tracer.start_as_current_span("receive", kind=SpanKind.SERVER,
                                          attributes=ATTRIBUTES) as root:
            with tracer.start_as_current_span("process", kind=SpanKind.CONSUMER,
                                              links=[Link(LINKED, {"why": "batch"})]) as child:
                child.add_event("parked", {"reason": "bad ticker é", "offset": 7})
                child.set_status(Status(StatusCode.ERROR, "boom ✗"))
                logs.get_logger("tradetrace.tests").emit(LogRecord(
                    body="a line ✓", severity_number=SeverityNumber.WARN,
                    severity_text="WARNING", attributes={"signal.id": "s-1"}))
    finally:
        spans.shutdown()
        logs.shutdown()
    return root.get_span_context().trace_id


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_wire_written_telemetry_reaches_jaeger_and_prometheus_whole(
        transport: str, jaeger: httpx.Client, prometheus: httpx.Client, unique_name: str,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        trace_id = format(_send(transport, unique_name), "032x")
    assert not [r for r in caplog.records if "export" in r.getMessage().lower()], caplog.text

    def fetch() -> list[dict[str, Any]] | None:
        response = jaeger.get(f"/api/traces/{trace_id}")
        data = response.json()["data"] if response.status_code == 200 else None
        return data[0]["spans"] if data and len(data[0]["spans"]) == 2 else None

    spans = {s["operationName"]: s for s in eventually(fetch, f"trace {trace_id} in Jaeger")}
    root, child = spans["receive"], spans["process"]
    tags = _tags(root)
    for key in ("text", "flag", "ratio", "empty"):
        assert tags[key] == ATTRIBUTES[key], key
    assert int(tags["count"]) == ATTRIBUTES["count"]   # Jaeger's JSON: past 2**53, a string
    for key in ("tickers", "offsets", "checks", "weights"):
        assert key in tags, f"array attribute {key} missing"
    references = {(r["refType"], r["spanID"]) for r in child["references"]}
    assert ("CHILD_OF", root["spanID"]) in references
    assert any(r["traceID"] == format(LINKED.trace_id, "032x") for r in child["references"])
    assert _tags(child)["otel.status_code"] == "ERROR"
    assert _tags(child)["otel.status_description"] == "boom ✗"
    [event] = child["logs"]
    assert {f["key"]: f["value"] for f in event["fields"]} == {
        "event": "parked", "reason": "bad ticker é", "offset": 7}

    def derived() -> float | None:
        result = instant(prometheus, f'sum(traces_span_metrics_calls_total'
                                     f'{{service_name="{unique_name}"}})')
        return float(result[0]["value"][1]) if result and result[0]["value"][1] == "2" else None

    assert eventually(derived, f"{unique_name}'s 2 spans counted", timeout=60) == 2

    def counted_logs() -> float | None:
        result = instant(prometheus, f'sum(log_records_total{{job=~".*{unique_name}"}})')
        return float(result[0]["value"][1]) if result else None

    assert eventually(counted_logs, f"{unique_name}'s log record counted", timeout=60) == 1
