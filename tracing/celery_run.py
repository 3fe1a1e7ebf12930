"""The run span of a Celery task in the worker, made by us rather than by the instrumentation.

CeleryInstrumentor's `task_prerun`/`task_postrun` handlers cost the worker ~0.4 ms of CPU per
execution (py-spy on benchmarks/worker_cost.py): the prerun extracts the context and enters
the span through two context managers; the postrun copies nineteen request fields one
`set_attribute` at a time, twice over (once from the signal's arguments, once from the
request), and records a task-runtime histogram nothing reads. Here the span is the same (name,
kind, parent, attributes: tests/unit/test_celery_run.py holds them equal), started with one
context attach and given its attributes in one call when the task ends.

The instrumentation stays on for the rest, which is rare on this path: its failure and retry
handlers find our span where they find theirs (`utils.attach_context`), and its publish
handlers span the tasks a worker publishes (retries, the reaper's and beat's runs).
"""

from __future__ import annotations

from typing import Any

from celery import signals
from celery.app.task import Context, Task
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor, celery_getter, utils
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from tracing import attributes as attr
from tracing import span_names
from tracing.conventions import CELERY_SYSTEM
from tracing.spans import tracer

_UNSET_TIME_LIMIT = ((None, None), [None, None])


def use_own_run_spans() -> None:
    """Swap the instrumentation's run handlers for ours (after it is instrumented). Reads the
    names of its private handlers: tests/unit/test_celery_run.py fails if they change."""
    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    signals.task_prerun.disconnect(instrumentor._trace_prerun)
    signals.task_postrun.disconnect(instrumentor._trace_postrun)
    signals.task_prerun.connect(start_run_span, weak=False)
    signals.task_postrun.connect(end_run_span, weak=False)


def start_run_span(task: Task | None = None, task_id: str | None = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    parent = propagate.extract(task.request, getter=celery_getter)
    span = tracer().start_span(span_names.celery_run(task.name), context=parent,
                               kind=SpanKind.CONSUMER)
    token = context.attach(trace.set_span_in_context(span, parent))
    utils.attach_context(task, task_id, span, None, token)  # type: ignore[arg-type]


def end_run_span(task: Task | None = None, task_id: str | None = None,
                 state: str | None = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    found = utils.retrieve_context(task, task_id)
    if found is None:
        return
    span, _activation, token = found
    if span.is_recording():
        span.set_attributes(run_attributes(task.name, task.request, state))
    span.end()
    utils.detach_context(task, task_id)
    context.detach(token)  # type: ignore[arg-type]


def run_attributes(task_name: str, request: Context,
                   state: str | None) -> dict[str, AttributeValue]:
    """The attributes the instrumentation copies from a task's request when the run ends
    (`utils.set_attributes_from_context`), for the fields a worker's request carries."""
    found: dict[str, AttributeValue] = {attr.MESSAGING_SYSTEM: CELERY_SYSTEM,
                                        attr.CELERY_ACTION: "run"}
    if state:
        found["celery.state"] = state
    delivery = getattr(request, "delivery_info", None)
    if delivery is not None and delivery != "":
        if delivery.get("routing_key") is not None:
            found[attr.CELERY_QUEUE] = delivery["routing_key"]
        found["celery.delivery_info"] = str(delivery)
    for field in ("compression", "countdown", "eta", "exchange", "expires", "priority",
                  "queue", "reply_to", "serializer", "hostname", "origin"):
        value = getattr(request, field, None)
        if value is not None and value != "":
            found["celery.hostname" if field == "origin" else f"celery.{field}"] = value
    for field, key in (("id", attr.MESSAGING_MESSAGE_ID),
                       ("correlation_id", "messaging.conversation_id"),
                       ("routing_key", attr.CELERY_QUEUE)):
        value = getattr(request, field, None)
        if value is not None and value != "":
            found[key] = value
    if getattr(request, "retries", 0):
        found["celery.retries"] = request.retries
    limit = getattr(request, "timelimit", None)
    if limit and limit not in _UNSET_TIME_LIMIT:
        found["celery.timelimit"] = ["" if part is None else str(part) for part in limit] \
            if None in limit else limit
    found[attr.CELERY_TASK_NAME] = task_name
    return found
