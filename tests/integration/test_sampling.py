"""Derived metrics stay exact when traces are sampled: the connectors sit beside the sampling.

A second collector, our binary and our config, runs on ports of its own with the sampling of
the rest set to 0%: Jaeger receives only the error traces, the counters count every span.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.support.polling import eventually
from tests.support.prometheus import exposed_sum
from trace_reader.jaeger import Jaeger
from tracing import span_names
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CollectorOnOwnPorts


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

        def error_traces():
            found = traces.http.get("/api/traces", params={"service": service, "limit": 100,
                                                           "lookback": "1h"}).json()["data"]
            return found if found and len(found) >= 3 else None

        stored = eventually(error_traces, "the 3 error traces in Jaeger", timeout=60)
        time.sleep(4)   # two decision waits: nothing else may follow
        stored = traces.http.get("/api/traces", params={"service": service, "limit": 100,
                                                        "lookback": "1h"}).json()["data"]
        assert len(stored) == 3
        assert all(any(t["key"] == "error" and t["value"] for t in s["tags"])
                   for trace in stored for s in trace["spans"])
    finally:
        sampled.down()
