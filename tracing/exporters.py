"""The OTLP exporter for one signal (traces, metrics or logs), as the standard variables choose it:
OTEL_EXPORTER_OTLP_(<SIGNAL>_)PROTOCOL (grpc by default, or http/protobuf), endpoint, headers
and timeout through the exporters themselves. Spans and log records are written by our own
encoder (tracing/otlp/) inside the stock exporters; TRADETRACE_OTLP_ENCODER=stock goes back to
the stock encoder."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from typing import Any, Literal

from tracing.settings import TracingSettings

log = logging.getLogger(__name__)

# The collector is local (or a sidecar): if it does not answer in this time, the batch is
# dropped rather than held, and the batch processor's thread moves on.
DEFAULT_EXPORT_TIMEOUT_SECONDS = 3.0

Signal = Literal["traces", "metrics", "logs"]


def _variable(signal: Signal, name: str) -> str | None:
    return os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}",
                          os.environ.get(f"OTEL_EXPORTER_OTLP_{name}"))


def _wire_written(signal: Signal) -> bool:
    """Spans and log records go out wire-written (tracing/otlp/) unless
    TRADETRACE_OTLP_ENCODER=stock, or the installed SDK is not the one it was tested with."""
    if signal == "metrics" or TracingSettings().otlp_encoder == "stock":
        return False
    from tracing.otlp.exporters import usable
    return usable()


def _exporter_class(signal: Signal, http: bool, wire: bool) -> Any:
    """The class, imported only when chosen (each pulls in gRPC or requests)."""
    if wire:
        from tracing.otlp import exporters
        return {("traces", False): exporters.GrpcWireSpanExporter,
                ("traces", True): exporters.HttpWireSpanExporter,
                ("logs", False): exporters.GrpcWireLogExporter,
                ("logs", True): exporters.HttpWireLogExporter}[(signal, http)]
    module = {"traces": "trace_exporter", "metrics": "metric_exporter",
              "logs": "_log_exporter"}[signal]
    name = {"traces": "OTLPSpanExporter", "metrics": "OTLPMetricExporter",
            "logs": "OTLPLogExporter"}[signal]
    transport = "http" if http else "grpc"
    return getattr(importlib.import_module(
        f"opentelemetry.exporter.otlp.proto.{transport}.{module}"), name)


def otlp_exporter(signal: Signal) -> Any:
    """An OTLP span, metric or log record exporter; the short default timeout unless one is
    set."""
    http = (_variable(signal, "PROTOCOL") or "grpc").startswith("http")
    timeout = None if _variable(signal, "TIMEOUT") else DEFAULT_EXPORT_TIMEOUT_SECONDS
    return _exporter_class(signal, http, _wire_written(signal))(timeout=timeout)


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
