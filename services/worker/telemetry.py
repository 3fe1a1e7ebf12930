"""Tracing in the Celery worker's prefork children.

Each child sets tracing up after the fork (the exporter's gRPC channel and the batch
processor's thread do not survive a fork) and flushes when it exits, so spans of the last
tasks before `worker_max_tasks_per_child` recycles a child are not lost.
"""

from __future__ import annotations

from celery.signals import worker_process_init, worker_process_shutdown
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from services.shared.lifecycle import settle_heap
from tracing import setup_tracing, shutdown_tracing
from tracing.celery_run import use_own_run_spans
from tracing.instrumentation import instrument_libraries
from tracing.metrics import setup_metrics, shutdown_metrics
from tracing.service_names import WORKER

_provider: TracerProvider | None = None
_meters: MeterProvider | None = None


@worker_process_init.connect(weak=False)
def start_tracing_in_child(**_) -> None:
    """Must stay fast: Celery kills a child whose init exceeds worker_proc_alive_timeout (4 s)."""
    global _provider
    global _meters
    _provider = setup_tracing(WORKER)
    _meters = setup_metrics(WORKER)
    instrument_libraries(celery=True, sqlalchemy=True, redis=True)
    if _provider is not None:
        use_own_run_spans()          # the instrumentation's run span, made cheaper
    settle_heap()


@worker_process_shutdown.connect(weak=False)
def flush_tracing_in_child(**_) -> None:
    shutdown_tracing(_provider)
    shutdown_metrics(_meters)
