"""The dispatcher's own publish span is the Celery instrumentation's span, made cheaper: same
name, kind, parent and attributes, and its context in the task's headers for the worker.

Theirs: a run published by `apply_async` to kombu's in-memory transport with the
instrumentation on. Ours: the same run written by the dispatcher's template
(services/shared/task_batches.py) with the instrumentation off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opentelemetry import baggage, context
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import ReadableSpan

from services.shared.db import TriggerMode
from services.shared.settings import Settings
from services.shared.task_batches import TaskBatch
from services.shared.tasks import (
    PIPELINE_QUEUE,
    PIPELINE_TASK,
    PipelineRun,
    publisher,
    send_pipeline_run,
)
from tracing import span_names, tracer
from tracing.attributes import MESSAGING_MESSAGE_ID, SIGNAL_ID
from tracing.celery_publish import publish_spans_wanted

SETTINGS = Settings(redis_url="memory://")
RUN = PipelineRun(execution_id="e-1", pipeline_id=7, trigger_mode=TriggerMode.SIGNAL,
                  lock_token="t-1")


def _by_apply_async() -> tuple[str, dict[str, Any]]:
    """Published as beat, the reaper and the backend publish: the task id, the headers."""
    task_id = send_pipeline_run(SETTINGS, RUN)
    with publisher(SETTINGS).connection_for_write() as connection:
        message = connection.SimpleQueue(PIPELINE_QUEUE).get(timeout=1)
        message.ack()
    return task_id, message.headers


def _by_template() -> tuple[str, dict[str, Any]]:
    """Written as the dispatcher writes a batch (pushing it to Redis is the integration
    tier's: tests/integration/test_task_batches.py)."""
    batch = TaskBatch(publisher(SETTINGS))
    task_id = batch.add(RUN)
    [payload] = batch.payloads
    return task_id, json.loads(payload)["headers"]


PROCESS = span_names.kafka_process("trading-signals")


def _publish(spans: Any, publish: Callable[[], tuple[str, dict[str, Any]]],
             ) -> tuple[ReadableSpan, ReadableSpan, dict[str, Any]]:
    """One run published under a process span with the signal id in baggage, as the
    dispatcher publishes: the publish span, the process span, the message's headers."""
    spans.clear()
    token = context.attach(baggage.set_baggage(SIGNAL_ID, "sig-1"))
    try:
        with tracer().start_as_current_span(PROCESS):
            task_id, headers = publish()
    finally:
        context.detach(token)
    by_name = {s.name: s for s in spans.get_finished_spans()}
    publish_span = by_name[span_names.celery_publish(PIPELINE_TASK)]
    assert publish_span.attributes[MESSAGING_MESSAGE_ID] == task_id == headers["id"]
    return publish_span, by_name[PROCESS], headers


def _shape(publish: ReadableSpan, process: ReadableSpan,
           headers: dict[str, Any]) -> dict[str, Any]:
    """What must agree: all but the ids."""
    attributes = {k: v for k, v in publish.attributes.items() if k != MESSAGING_MESSAGE_ID}
    assert publish.parent is not None
    parent, span_id = headers["traceparent"].split("-")[1:3]
    return {"name": publish.name, "kind": publish.kind, "attributes": attributes,
            "parent is the process span": publish.parent.span_id == process.context.span_id,
            "headers carry the publish span": (parent, span_id) == (
                format(publish.context.trace_id, "032x"), format(publish.context.span_id, "016x")),
            "baggage": headers.get("baggage")}


def test_our_publish_span_is_the_instrumentations(spans: Any,
                                                  celery_instrumented: None) -> None:
    assert not publish_spans_wanted(), "with the instrumentation on, it makes the span"
    theirs = _shape(*_publish(spans, _by_apply_async))
    CeleryInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    assert publish_spans_wanted()
    ours = _shape(*_publish(spans, _by_template))
    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]  # for the fixture
    assert ours == theirs
    assert ours["baggage"] == "signal.id=sig-1"
    assert ours["parent is the process span"] and ours["headers carry the publish span"]
