"""What tail sampling's held traces cost the collector: memory per 1000 traces in flight.

A trace is held in the collector while no policy has kept it, up to TRACE_DECISION_WAIT. This
starts our collector binary with our config on ports of its own (sampling 0% and a decision
wait longer than the run, so every trace sent stays held), sends traces shaped like a signal's
(16 spans with the attributes our services set), and reads the collector's Go heap after each
step. The heap is sampled for a few seconds and its minimum taken (the floor after a garbage
collection; GOGC=10 makes them frequent), so the figure is what the held traces keep alive,
not garbage.

    .venv/bin/python benchmarks/tail_sampling_memory.py [--steps 5] [--per-step 2000]

Prints the heap at each step and the cost per 1000 held traces (least-squares slope).
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from tracing import span_names
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CollectorOnOwnPorts
from tradetrace.stack.ports import free_port

# GOGC=10: the Go runtime collects at 10% growth, so the heap it reports is close to what is
# live (at the default, 100%, garbage up to the live size hides the slope).
HELD = {"TRACE_SAMPLING_PERCENTAGE": "0", "TRACE_DECISION_WAIT": "30m", "GOGC": "10"}
SPANS_PER_TRACE = 16


def heap_floor(collector: CollectorOnOwnPorts, seconds: float = 6.0) -> float:
    """The lowest Go heap the collector reports over a few seconds (after a collection)."""
    url = f"http://127.0.0.1:{collector.self_metrics}/metrics"
    floor = float("inf")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in httpx.get(url).text.splitlines():
            if line.startswith("otelcol_process_runtime_heap_alloc_bytes "):
                floor = min(floor, float(line.split()[1]))
        time.sleep(0.5)
    return floor


def send_traces(tracer, count: int) -> None:
    """`count` traces shaped like a signal's: the dispatcher's, the broker's and a run's spans."""
    for _ in range(count):
        signal_id = secrets.token_hex(16)
        with tracer.start_as_current_span("process signals", kind=SpanKind.CONSUMER, attributes={
                "messaging.system": "kafka", "messaging.destination.name": "trading-signals",
                "messaging.operation.type": "process", "signal.id": signal_id,
                "tradetrace.message.age_ms": 3, "ticker": "AAPL", "pipelines.matched": 1,
                "pipelines.enqueued": 1, "pipelines.skipped_running": 0}):
            for command in ("SET", "SET", "INCRBY"):
                with tracer.start_as_current_span(command, attributes={
                        "db.system": "redis", "db.statement": f"{command} ? ?",
                        "signal.id": signal_id}):
                    pass
            with tracer.start_as_current_span("INSERT tradetrace", attributes={
                    "db.system": "postgresql", "signal.id": signal_id}):
                pass
            with tracer.start_as_current_span("apply_async/pipeline.run", attributes={
                    "messaging.system": "celery", "signal.id": signal_id}):
                with tracer.start_as_current_span("run/pipeline.run", attributes={
                        "messaging.system": "celery", "celery.task_name": "pipeline.run",
                        "signal.id": signal_id}):
                    with tracer.start_as_current_span(span_names.PIPELINE_EXECUTE, attributes={
                            "pipeline.id": 1, "trigger.mode": "signal", "execution.id": 1,
                            "execution.status": "succeeded", "cost.usd": 0.005,
                            "signal.id": signal_id}):
                        for agent in ("market_data", "indicators", "risk_check",
                                      "order_decision"):
                            with tracer.start_as_current_span(span_names.AGENT_RUN, attributes={
                                    "agent.name": agent, "agent.outcome": "succeeded",
                                    "cost.usd": 0.001, "signal.id": signal_id}):
                                pass
                        for statement in ("SELECT tradetrace", "UPDATE tradetrace"):
                            with tracer.start_as_current_span(statement, attributes={
                                    "db.system": "postgresql", "signal.id": signal_id}):
                                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--per-step", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as state:
        collector = CollectorOnOwnPorts(Path(state), env={
            **HELD, "JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{free_port()}"})
        with Stack([collector]).running():
            provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
            provider.add_span_processor(BatchSpanProcessor(
                OTLPSpanExporter(endpoint=collector.otlp_grpc_endpoint, insecure=True),
                max_queue_size=50_000, max_export_batch_size=2048))
            tracer = provider.get_tracer("benchmarks")
            points = [(0, heap_floor(collector))]
            for step in range(1, args.steps + 1):
                send_traces(tracer, args.per_step)
                provider.force_flush()
                points.append((step * args.per_step, heap_floor(collector)))
                print(f"{points[-1][0]:>7} traces held: heap {points[-1][1] / 2**20:7.1f} MiB")
            provider.shutdown()

    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in points)
             / sum((x - mean_x) ** 2 for x, _ in points))
    print(f"\nper 1000 held traces of {SPANS_PER_TRACE} spans: {slope * 1000 / 2**20:.1f} MiB "
          f"of collector heap ({slope / SPANS_PER_TRACE:.0f} bytes per span)")


if __name__ == "__main__":
    main()
