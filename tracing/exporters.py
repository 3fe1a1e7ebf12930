"""The OTLP exporter for one signal (traces, metrics or logs), as the standard variables choose it:
OTEL_EXPORTER_OTLP_(<SIGNAL>_)PROTOCOL (grpc by default, or http/protobuf), endpoint, headers
and timeout through the exporters themselves."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Literal

log = logging.getLogger(__name__)

# The collector is local (or a sidecar): if it does not answer in this time, the batch is
# dropped rather than held, and the batch processor's thread moves on.
DEFAULT_EXPORT_TIMEOUT_SECONDS = 3.0

Signal = Literal["traces", "metrics", "logs"]


def _variable(signal: Signal, name: str) -> str | None:
    return os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}",
                          os.environ.get(f"OTEL_EXPORTER_OTLP_{name}"))


def otlp_exporter(signal: Signal) -> Any:
    """An OTLP span, metric or log record exporter; the short default timeout unless one is
    set."""
    http = (_variable(signal, "PROTOCOL") or "grpc").startswith("http")
    timeout = None if _variable(signal, "TIMEOUT") else DEFAULT_EXPORT_TIMEOUT_SECONDS
    if signal == "traces" and http:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(timeout=timeout)
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )
        return GrpcSpanExporter(timeout=timeout)
    if signal == "metrics" and http:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        return OTLPMetricExporter(timeout=timeout)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )
        return GrpcMetricExporter(timeout=timeout)
    if http:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        return OTLPLogExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
        OTLPLogExporter as GrpcLogExporter,
    )
    return GrpcLogExporter(timeout=timeout)


def chosen_exporter(signal: Literal["traces", "logs"], console: Callable[[], Any]) -> Any:
    """The exporter OTEL_<SIGNAL>_EXPORTER names: otlp (the default), console, or none (None)."""
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    kind = os.environ.get(variable, "otlp").strip().lower()
    if kind == "none":
        return None
    if kind == "console":
        return console()
    if kind != "otlp":
        log.warning("%s=%s is not supported here; using otlp", variable, kind)
    return otlp_exporter(signal)
