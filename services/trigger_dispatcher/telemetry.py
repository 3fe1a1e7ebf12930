"""The dispatcher's telemetry as production runs it: its log lines (JSON on stderr and OTLP log
records), spans, metrics, and the libraries it instruments. One home, so that `make bench`
measures the dispatcher as it runs, not one without logging or its SQL spans."""

from __future__ import annotations

from tracing import setup_tracing, shutdown_tracing
from tracing.instrumentation import instrument_libraries
from tracing.logs import configure_logging
from tracing.metrics import setup_metrics, shutdown_metrics
from tracing.service_names import TRIGGER_DISPATCHER


class DispatcherTelemetry:
    def __init__(self, service_name: str = TRIGGER_DISPATCHER) -> None:
        configure_logging(service_name)
        self.tracing = setup_tracing(service_name)
        self.meters = setup_metrics(service_name)
        # The execution rows it queues. Not Celery: the dispatcher makes its tasks' publish
        # spans itself (tracing/celery_publish.py), at a fraction of the instrumentation's cost.
        instrument_libraries(sqlalchemy=True)

    def shutdown(self) -> None:
        """Flush what is queued (bounded by the exporters' timeouts)."""
        shutdown_tracing(self.tracing)
        shutdown_metrics(self.meters)
