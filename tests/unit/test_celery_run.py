"""The worker's own run span is the Celery instrumentation's, made cheaper: same name, kind,
parent and attributes for a request as a worker receives it, and the instrumentation's
failure handler still marks it."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery, signals

from tracing.celery_run import use_own_run_spans

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# A request as the worker builds it from our dispatcher's message (protocol 2).
REQUEST = {"id": "task-1", "correlation_id": "task-1", "reply_to": "reply-1",
           "hostname": "worker@host", "origin": "gen1@dispatcher", "retries": 0,
           "timelimit": (None, None), "eta": None, "expires": None,
           "delivery_info": {"exchange": "", "routing_key": "pipelines", "priority": 0,
                             "redelivered": False},
           "traceparent": TRACEPARENT, "baggage": "signal.id=sig-1"}

app = Celery("test", broker="memory://")


@app.task(name="tradetrace.test_task")
def the_task() -> None:
    return None


def _run(spans, fail: bool = False, **fields: Any) -> Any:
    """The task's signals as a worker sends them around one run; the run span."""
    spans.clear()
    the_task.push_request(**{**REQUEST, **fields})
    try:
        signals.task_prerun.send(sender=the_task, task_id="task-1", task=the_task, args=(),
                                 kwargs={})
        if fail:
            error = ValueError("agent crashed")
            signals.task_failure.send(sender=the_task, task_id="task-1", exception=error,
                                      args=(), kwargs={}, einfo=None)
        signals.task_postrun.send(sender=the_task, task_id="task-1", task=the_task, args=(),
                                  kwargs={}, retval=None,
                                  state="FAILURE" if fail else "SUCCESS")
    finally:
        the_task.pop_request()
    [span] = spans.get_finished_spans()
    return span


def _shape(span: Any) -> tuple:
    return (span.name, span.kind, span.parent.trace_id, span.parent.span_id,
            dict(span.attributes), span.status.status_code, span.status.description)


@pytest.mark.parametrize("fields", [{}, {"retries": 2, "timelimit": (30, None)},
                                    {"routing_key": "elsewhere", "priority": 5}])
@pytest.mark.parametrize("fail", [False, True])
def test_the_same_run_span_as_the_instrumentation(celery_instrumented, spans, fields,
                                                   fail) -> None:
    theirs = _run(spans, fail, **fields)
    use_own_run_spans()
    ours = _run(spans, fail, **fields)
    assert _shape(ours) == _shape(theirs)
    assert format(ours.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert ours.attributes["signal.id"] == "sig-1"            # the baggage, as before
