"""Metrics of *state* (pool sizes, queue depth, offsets, CPU, memory), as observable
instruments sent over OTLP to the same collector. Metrics of events and durations are not
made here: the collector derives them from the spans.

Honours OTEL_SDK_DISABLED, OTEL_METRICS_EXPORTER (otlp or none), OTEL_METRIC_EXPORT_INTERVAL
and the OTLP exporter variables, like setup_tracing.
"""

from __future__ import annotations

import logging
import os
import resource as rusage
from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import DropAggregation, View

from tracing.exporters import otlp_exporter
from tracing.setup import build_resource, tracing_disabled

logger = logging.getLogger(__name__)

DEFAULT_EXPORT_INTERVAL_MS = "15000"
Gauge = Callable[[], Iterable[tuple[float, dict[str, str]]]]


def setup_metrics(service_name: str) -> MeterProvider | None:
    """Install the global MeterProvider with process CPU and memory; None when disabled."""
    if tracing_disabled() or os.environ.get("OTEL_METRICS_EXPORTER", "otlp") == "none":
        return None
    os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", DEFAULT_EXPORT_INTERVAL_MS)
    exporter = otlp_exporter("metrics")
    # Durations are derived from spans by the collector: an instrumentation's own duration
    # histogram (e.g. FastAPI's http.server.request.duration) would count every request twice
    # under the same Prometheus name.
    drop_durations = View(instrument_name="*duration*", aggregation=DropAggregation())
    provider = MeterProvider(resource=build_resource(service_name),
                             metric_readers=[PeriodicExportingMetricReader(exporter)],
                             views=[drop_durations])
    metrics.set_meter_provider(provider)
    _process_metrics(provider.get_meter("tradetrace.process"))
    return provider


def _process_metrics(meter: metrics.Meter) -> None:
    def cpu(_: CallbackOptions) -> Iterable[Observation]:
        usage = rusage.getrusage(rusage.RUSAGE_SELF)
        yield Observation(usage.ru_utime, {"cpu.mode": "user"})
        yield Observation(usage.ru_stime, {"cpu.mode": "system"})

    def memory(_: CallbackOptions) -> Iterable[Observation]:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
        yield Observation(resident_pages * os.sysconf("SC_PAGE_SIZE"))

    meter.create_observable_counter("process.cpu.time", [cpu], unit="s",
                                    description="CPU time of this process")
    meter.create_observable_up_down_counter("process.memory.usage", [memory], unit="By",
                                            description="Resident memory of this process")


def observe_gauge(name: str, read: Gauge, unit: str, description: str) -> None:
    """A gauge read when metrics are exported; a read that fails is skipped and logged, never
    raised (the series then has a gap, which the operator should be able to explain)."""

    def callback(_: CallbackOptions) -> Iterable[Observation]:
        try:
            return [Observation(value, attributes) for value, attributes in read()]
        except Exception:  # a probe of Redis or Kafka may fail; the service must not
            logger.warning("gauge %s: no reading this export", name, exc_info=True)
            return []

    metrics.get_meter("tradetrace").create_observable_gauge(name, [callback], unit=unit,
                                                            description=description)


def shutdown_metrics(provider: MeterProvider | None) -> None:
    if provider is not None:
        provider.shutdown()
