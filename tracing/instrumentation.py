"""The opentelemetry-python-contrib instrumentations each service turns on."""

from __future__ import annotations

from tracing.setup import tracing_disabled


def instrument_libraries(*, sqlalchemy: bool = False, redis: bool = False,
                         celery: bool = False) -> None:
    """Instrument the libraries a service uses. Call it after setup_tracing."""
    if tracing_disabled():
        return
    if sqlalchemy:
        from tracing.sql import trace_sql

        trace_sql()        # the SQLAlchemy instrumentation's spans, made cheaper
    if redis:
        from tracing.redis_spans import trace_redis

        trace_redis()      # the Redis instrumentation's spans, made cheaper
    if celery:
        # Parent-child across the queue (never use_span_links): the run continues the trace.
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]
