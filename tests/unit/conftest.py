"""Unit-tier fixtures: the real tracing set-up, with spans kept in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="session")
def _provider():
    """setup_tracing runs once per process (the global provider can be set only once)."""
    import os

    from tracing import setup_tracing

    saved = os.environ.get("OTEL_TRACES_EXPORTER")
    os.environ["OTEL_TRACES_EXPORTER"] = "none"   # no OTLP export from unit tests
    try:
        provider = setup_tracing("unit-tests")
    finally:
        if saved is None:
            del os.environ["OTEL_TRACES_EXPORTER"]
        else:
            os.environ["OTEL_TRACES_EXPORTER"] = saved
    assert provider is not None, "unit tests need tracing on (unset OTEL_SDK_DISABLED)"
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    return provider


@pytest.fixture
def spans(_provider) -> Iterator[InMemorySpanExporter]:
    """The finished spans of one test."""
    _exporter.clear()
    yield _exporter
    _exporter.clear()


@pytest.fixture
def celery_instrumented() -> Iterator[None]:
    """The Celery instrumentation on for one test (ours beside it: tracing/celery_publish.py,
    tracing/celery_run.py), and every handler of either off after it."""
    from celery import signals
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    from tracing.celery_run import end_run_span, start_run_span

    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        CeleryInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        signals.task_prerun.disconnect(start_run_span)
        signals.task_postrun.disconnect(end_run_span)
