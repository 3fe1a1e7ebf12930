"""Derived metrics stay exact when traces are sampled: the connectors sit beside the sampling.

A second collector, our binary and our config, runs on ports of its own with the sampling of
the rest set to 0%: Jaeger receives only the error traces, the counters count every span.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.support.polling import eventually
from tests.support.prometheus import exposed, exposed_sum
from trace_reader.jaeger import Jaeger
from tracing import span_names
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CollectorOnOwnPorts

# The sampler's decisions per policy: its first policy (errors) decides on every trace.
DECISIONS = "otelcol_processor_tail_sampling_count_traces_sampled_total"
KEPT = "otelcol_processor_tail_sampling_global_count_traces_sampled_total"
SENT_SPANS = "otelcol_exporter_sent_spans_total"


def test_counts_are_exact_while_jaeger_gets_only_sampled_traces(stack: Stack, tmp_path: Path,
                                                                traces: Jaeger) -> None:
    collector = CollectorOnOwnPorts(tmp_path, env={"TRACE_SAMPLING_PERCENTAGE": "0"})
    sampled = Stack([collector])
    sampled.up()
    service = f"sampled-{secrets.token_hex(4)}"
    try:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=collector.otlp_grpc_endpoint, insecure=True)))
        tracer = provider.get_tracer("tests")
        for i in range(20):
            failed = i % 7 == 0                                   # 3 of 20
            with tracer.start_as_current_span(span_names.PIPELINE_EXECUTE, attributes={
                    "pipeline.id": 1, "trigger.mode": "signal",
                    "execution.status": "failed" if failed else "succeeded"}) as span:
                if failed:
                    span.set_status(Status(StatusCode.ERROR, "agent failed"))
        provider.shutdown()

        eventually(lambda: exposed_sum(collector.metrics_url, "pipeline_executions_total",
                                       job=service, status="succeeded") == 17,
                   "17 succeeded executions counted", timeout=60)
        assert exposed_sum(collector.metrics_url, "pipeline_executions_total", job=service,
                           status="failed") == 3

        def decided() -> float | None:    # every trace decided, and what was kept sent on
            lines = exposed(collector.self_metrics_url)
            kept = exposed_sum(lines, KEPT, sampled="true")
            everything = exposed_sum(lines, DECISIONS, policy="errors")
            sent = exposed_sum(lines, SENT_SPANS, exporter="otlp_grpc/jaeger")
            return kept if everything == 20 and sent == kept else None

        kept = eventually(decided, "the sampler's 20 decisions, the kept spans sent to Jaeger",
                          timeout=60)
        def stored_traces() -> list[dict] | None:
            found = traces.http.get("/api/traces", params={
                "service": service, "limit": 100, "lookback": "1h"}).json()["data"] or []
            return found if len(found) >= kept else None

        stored = eventually(stored_traces, f"the {kept:.0f} kept traces in Jaeger", timeout=60)
        assert kept == 3 and len(stored) == 3
        assert all(any(t["key"] == "error" and t["value"] for t in s["tags"])
                   for trace in stored for s in trace["spans"])
    finally:
        sampled.down()
