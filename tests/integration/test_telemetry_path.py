"""Spans sent over OTLP reach Jaeger through the collector, and their RED metrics reach
Prometheus."""

from __future__ import annotations

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.support.polling import eventually
from tests.support.prometheus import instant


def _send_trace(endpoint: str, service: str) -> str:
    """Send one SERVER span with an erroring CLIENT child; returns the trace id in hex."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint,
                                                                    insecure=True)))
    tracer = provider.get_tracer("tradetrace.tests")
    with tracer.start_as_current_span("GET /pipelines", kind=SpanKind.SERVER,
                                      attributes={"http.route": "/pipelines"}) as root:
        with tracer.start_as_current_span("SELECT pipelines", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()  # flushes
    return format(root.get_span_context().trace_id, "032x")


def test_span_reaches_jaeger_through_the_collector(otlp_grpc_endpoint: str, jaeger: httpx.Client,
                                                   unique_name: str) -> None:
    trace_id = _send_trace(otlp_grpc_endpoint, unique_name)

    def fetch_trace():
        response = jaeger.get(f"/api/traces/{trace_id}")
        return response.json()["data"] if response.status_code == 200 else None

    traces = eventually(fetch_trace, f"trace {trace_id} in Jaeger")
    spans = traces[0]["spans"]
    assert sorted(s["operationName"] for s in spans) == ["GET /pipelines", "SELECT pipelines"]
    processes = traces[0]["processes"]
    assert {p["serviceName"] for p in processes.values()} == {unique_name}
    assert unique_name in jaeger.get("/api/services").json()["data"]


def test_span_metrics_reach_prometheus(otlp_grpc_endpoint: str, prometheus: httpx.Client,
                                       unique_name: str) -> None:
    _send_trace(otlp_grpc_endpoint, unique_name)

    def calls():
        # A new series is first exposed at 0 (so rate() sees its first increment), then at 1.
        query = f'traces_span_metrics_calls_total{{service_name="{unique_name}"}}'
        result = instant(prometheus, query)
        counted = len(result) == 2 and all(float(s["value"][1]) >= 1 for s in result)
        return result if counted else None

    series = eventually(calls, f"span metrics of {unique_name} in Prometheus", timeout=60)
    by_span = {s["metric"]["span_name"]: s for s in series}
    assert by_span["GET /pipelines"]["metric"]["span_kind"] == "SPAN_KIND_SERVER"
    assert by_span["GET /pipelines"]["metric"]["http_route"] == "/pipelines"
    assert by_span["SELECT pipelines"]["metric"]["status_code"] == "STATUS_CODE_ERROR"
    assert all(float(s["value"][1]) == 1.0 for s in series)
    assert "collector_instance_id" not in by_span["GET /pipelines"]["metric"]

    histogram = f'traces_span_metrics_duration_milliseconds_count{{service_name="{unique_name}"}}'
    result = instant(prometheus, histogram)
    assert len(result) == 2
