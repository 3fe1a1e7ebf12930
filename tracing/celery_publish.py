"""The publish span of a Celery task, made by us rather than by the Celery instrumentation.

CeleryInstrumentor's `before/after_task_publish` handlers cost the dispatcher ~94 us per task
(`../shared/reference/perf.md`): they look the task up in the app, start a span and keep its
activation in a dict by task id until the second signal, and copy attributes one by one from
the signal's arguments. A publisher that sends many tasks makes the same span here in one
step: the same name, kind and attributes, and the context goes into the task message's
headers as `traceparent` and `baggage`, where the worker's instrumentation extracts it as
before. Only where the instrumentation is not on, so no publish is spanned
twice (the dispatcher does not turn it on: services/trigger_dispatcher/telemetry.py).
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from tracing import attributes as attr
from tracing import span_names
from tracing.conventions import CELERY_SYSTEM
from tracing.setup import tracing_disabled
from tracing.spans import tracer


def publish_spans_wanted() -> bool:
    """Whether a publisher should make its own publish spans: tracing on, and the Celery
    instrumentation (which would make them too) off in this process."""
    if tracing_disabled():
        return False
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    return not CeleryInstrumentor().is_instrumented_by_opentelemetry  # type: ignore[no-untyped-call]


def start_publish_span(task_name: str, task_id: str, queue: str) -> tuple[Span, dict[str, str]]:
    """A PRODUCER span, child of the current span, and the headers that carry its context (and
    the current baggage) to the worker. The caller ends it once the message is handed over."""
    span = tracer().start_span(span_names.celery_publish(task_name), kind=SpanKind.PRODUCER,
                               attributes={attr.MESSAGING_SYSTEM: CELERY_SYSTEM,
                                           attr.CELERY_ACTION: "apply_async",
                                           attr.MESSAGING_MESSAGE_ID: task_id,
                                           attr.CELERY_TASK_NAME: task_name,
                                           attr.CELERY_QUEUE: queue,
                                           attr.CELERY_QUEUE_KIND: "queue"})
    headers: dict[str, str] = {}
    propagate.inject(headers, context=trace.set_span_in_context(span))
    return span, headers
