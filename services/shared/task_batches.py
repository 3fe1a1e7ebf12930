"""Publishing many pipeline runs at once: Celery's messages written from a template, one LPUSH.

`apply_async` costs ~115 us per task (`../shared/reference/perf.md`): Celery's publish signals,
its option routing, kombu's producer, message and serializer objects, a queue binding looked up.
The dispatcher publishes thousands of runs a second, all of one task to one queue, so it writes
the message `apply_async` would write to kombu's Redis transport (Celery protocol 2: headers,
properties, the base64 JSON body, the queue's list, a delivery tag) from a template, and pushes
a batch's messages in one multi-value LPUSH. An unchanged Celery worker runs them;
`tests/integration/test_task_batches.py` holds the template equal to a message captured from
`apply_async`, with and without a trace context in the headers, and fails when Celery or kombu
changes what they write.

What a template does not do, and a dispatcher never asks for: ETA or countdown, expiry,
priorities, a parent task. Celery retried a publish on a connection error
(`task_publish_retry_policy`); `TaskBatch.push` does, with the same policy.
"""

from __future__ import annotations

import json
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery
from celery.utils.nodenames import anon_nodename
from kombu.utils.uuid import uuid

from services.shared.settings import Settings
from services.shared.tasks import PIPELINE_QUEUE, PIPELINE_TASK, PipelineRun, kwargs_repr, publisher
from tracing import record_failure
from tracing.celery_publish import publish_spans_wanted, start_publish_span

# Messages per LPUSH (a batch's pushes still go in one round trip).
VALUES_PER_PUSH = 1000
# What Celery's body carries besides the arguments: no callbacks, no canvas.
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


class RunMessages:
    """The Redis payload of a `PipelineRun` task, as `apply_async` writes it through `app`.

    Only the ids, the run and its trace context change from one message to the next; the rest
    (time limits, origin, the reply queue) is the app's and is fixed once."""

    def __init__(self, app: Celery) -> None:
        conf = app.conf
        self._headers: dict[str, Any] = {
            "lang": "py", "task": PIPELINE_TASK, "id": None, "shadow": None, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0,
            "timelimit": [conf.task_time_limit, conf.task_soft_time_limit],
            "root_id": None, "parent_id": None, "argsrepr": "()", "kwargsrepr": None,
            "origin": anon_nodename(), "ignore_result": conf.task_ignore_result,
            "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {}}
        self._properties: dict[str, Any] = {
            "correlation_id": None, "reply_to": app.thread_oid, "argsrepr": "()",
            "kwargsrepr": None, "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": PIPELINE_QUEUE},
            "priority": 0, "body_encoding": "base64", "delivery_tag": None}

    def payload(self, run: PipelineRun, task_id: str, trace_headers: dict[str, str]) -> bytes:
        """The message's JSON as kombu pushes it; `trace_headers` end the headers, as the
        `headers` option of `apply_async` would put them."""
        body = json.dumps([[], run.model_dump(mode="json"), _EMBED]).encode()
        described = kwargs_repr(run)
        return json.dumps({
            "body": b64encode(body).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {**self._headers, "id": task_id, "root_id": task_id,
                        "kwargsrepr": described, **trace_headers},
            "properties": {**self._properties, "correlation_id": task_id,
                           "kwargsrepr": described, "delivery_tag": uuid()},
        }).encode()


class TaskBatch:
    """Runs added one by one (each under its own publish span when tracing is on, as the
    Celery instrumentation would make it), pushed together."""

    def __init__(self, app: Celery) -> None:
        self._messages = RunMessages(app)
        self._retry_policy: dict[str, float] = app.conf.task_publish_retry_policy
        self._spanned = publish_spans_wanted()
        self.payloads: list[bytes] = []

    def add(self, run: PipelineRun) -> str:
        """Write the run's message into the batch; returns its Celery task id."""
        task_id = uuid()
        if not self._spanned:
            self.payloads.append(self._messages.payload(run, task_id, {}))
            return task_id
        span, headers = start_publish_span(PIPELINE_TASK, task_id, PIPELINE_QUEUE)
        try:
            self.payloads.append(self._messages.payload(run, task_id, headers))
        except Exception as error:
            record_failure(span, error)
            raise
        finally:
            span.end()
        return task_id

    def push(self, client: redis.Redis) -> None:
        """Hand every message to Redis in one round trip. A connection error is retried as
        Celery's publish retry policy says, then raised: the caller publishes the batch again
        (a message pushed twice still runs once)."""
        policy = self._retry_policy
        retries = int(policy["max_retries"])
        for attempt in range(retries + 1):
            try:
                self._push_once(client)
                return
            except (redis.ConnectionError, redis.TimeoutError):
                if attempt == retries:
                    raise
                time.sleep(min(policy["interval_max"],
                               policy["interval_start"] + attempt * policy["interval_step"]))

    def _push_once(self, client: redis.Redis) -> None:
        pipe = client.pipeline(transaction=False)
        for start in range(0, len(self.payloads), VALUES_PER_PUSH):
            pipe.lpush(PIPELINE_QUEUE, *self.payloads[start:start + VALUES_PER_PUSH])
        pipe.execute()


@contextmanager
def pipeline_run_sender(settings: Settings,
                        client: redis.Redis) -> Iterator[Callable[[PipelineRun], str]]:
    """A `send(run)` for many runs, pushed to `client` (the broker's Redis of `settings`) when
    the block ends. Leaving the block means every run is in Redis; an error means some may
    not be, so the caller publishes them all again."""
    batch = TaskBatch(publisher(settings))
    yield batch.add
    if batch.payloads:
        batch.push(client)
