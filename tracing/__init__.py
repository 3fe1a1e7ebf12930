"""tradetrace's telemetry: set-up, Kafka trace context, the signal id in baggage."""

from tracing.setup import setup_tracing, shutdown_tracing, tracing_disabled
from tracing.signal_context import signal_baggage
from tracing.spans import current_trace_id, record_failure, tracer

__all__ = ["current_trace_id", "record_failure", "setup_tracing", "shutdown_tracing",
           "signal_baggage", "tracer", "tracing_disabled"]
