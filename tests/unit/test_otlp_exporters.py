"""Which OTLP exporter a service gets, and that the gRPC one sends our bytes as they are."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as StockGrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as StockHttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as StockHttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tracing.exporters import otlp_exporter
from tracing.otlp import exporters


@pytest.fixture(autouse=True)
def _fresh_check() -> Iterator[None]:
    exporters.usable.cache_clear()
    yield
    exporters.usable.cache_clear()


@pytest.mark.parametrize(("signal", "protocol", "expected"), [
    ("traces", "grpc", exporters.GrpcWireSpanExporter),
    ("traces", "http/protobuf", exporters.HttpWireSpanExporter),
    ("logs", "grpc", exporters.GrpcWireLogExporter),
    ("logs", "http/protobuf", exporters.HttpWireLogExporter),
])
def test_spans_and_logs_are_wire_written_by_default(monkeypatch: pytest.MonkeyPatch, signal: str,
                                                    protocol: str, expected: type) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    assert type(otlp_exporter(signal)) is expected  # type: ignore[arg-type]


def test_a_setting_goes_back_to_the_stock_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADETRACE_OTLP_ENCODER", "stock")
    assert type(otlp_exporter("traces")) is StockGrpcSpanExporter
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert type(otlp_exporter("logs")) is StockHttpLogExporter


def test_an_sdk_it_was_not_tested_with_gets_the_stock_encoder(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(exporters.TESTED_WITH, "opentelemetry-sdk", "0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    with caplog.at_level(logging.WARNING, logger="tracing.otlp.exporters"):
        assert type(otlp_exporter("traces")) is StockHttpSpanExporter
        assert type(otlp_exporter("logs")) is StockHttpLogExporter
    said = [r for r in caplog.records if "using the stock encoder" in r.getMessage()]
    assert len(said) == 1, "said once, not per exporter"


def test_the_grpc_exporter_sends_the_wire_bytes_as_they_are() -> None:
    """A gRPC server that keeps the raw request: what arrives is the stock encoder's request."""
    received: list[bytes] = []

    def export(request: bytes, context: grpc.ServicerContext) -> bytes:
        received.append(request)
        return b""

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)})])
    bound = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        memory = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource({"service.name": "wire"}))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        with provider.get_tracer("t").start_as_current_span("a", attributes={"k": "v ✓"}):
            provider.get_tracer("t").start_span("b").end()
        spans = memory.get_finished_spans()
        exporter = exporters.GrpcWireSpanExporter(endpoint=f"http://127.0.0.1:{bound}",
                                                  insecure=True, timeout=5)
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
    finally:
        server.stop(None)
    assert received == [encode_spans(spans).SerializeToString()]
