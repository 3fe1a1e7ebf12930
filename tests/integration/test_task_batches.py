"""The dispatcher's template (services/shared/task_batches.py) writes to Redis, byte for byte,
the message `apply_async` writes for the same run, with and without a trace context.

Run after run: a Celery or kombu upgrade that changes what they write fails here, before a
worker meets a message it reads differently. That a worker runs these messages and continues
their trace is the integration tier's everyday work (every dispatched signal goes this way;
tests/integration/test_one_trace.py holds the run span under the publish span).
"""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from services.shared.clients import redis_client
from services.shared.db import TriggerMode
from services.shared.settings import Settings
from services.shared.task_batches import RunMessages, pipeline_run_sender
from services.shared.tasks import PIPELINE_QUEUE, PIPELINE_TASK, PipelineRun, kwargs_repr, publisher

TRACE_HEADERS = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                 "baggage": "signal.id=s%C3%A9-1"}


@pytest.fixture
def own(settings: Settings, own_redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": own_redis_url})


def _run(**signal: object) -> PipelineRun:
    return PipelineRun(execution_id=str(uuid.uuid4()), pipeline_id=2**40,
                       trigger_mode=TriggerMode.SIGNAL, signal=signal or None,
                       lock_token="token-\u00e9")


def _popped(client: redis.Redis) -> bytes:
    raw = client.rpop(PIPELINE_QUEUE)
    assert isinstance(raw, bytes), "nothing was queued"
    return raw


def _without_delivery_tag(raw: bytes) -> tuple[bytes, str]:
    """The message with its delivery tag (a fresh uuid per message) cut out, and the tag."""
    tag = json.loads(raw)["properties"]["delivery_tag"]
    return raw.replace(tag.encode(), b"<tag>"), tag


@pytest.mark.parametrize("trace_headers", [{}, TRACE_HEADERS], ids=["untraced", "traced"])
@pytest.mark.parametrize("signal", [{}, {"ticker": "ÄAPL", "price": 1.5, "n": [1, None, True]}],
                         ids=["no-signal", "signal"])
def test_the_template_writes_what_apply_async_writes(own: Settings, trace_headers: dict,
                                                     signal: dict) -> None:
    client = redis_client(own)
    run, task_id = _run(**signal), str(uuid.uuid4())
    publisher(own).tasks[PIPELINE_TASK].apply_async(
        kwargs=run.model_dump(mode="json"), queue=PIPELINE_QUEUE, task_id=task_id,
        argsrepr="()", kwargsrepr=kwargs_repr(run), headers=trace_headers)
    theirs, their_tag = _without_delivery_tag(_popped(client))

    client.lpush(PIPELINE_QUEUE, RunMessages(publisher(own)).payload(run, task_id,
                                                                     trace_headers))
    ours, our_tag = _without_delivery_tag(_popped(client))

    assert ours == theirs
    assert our_tag != their_tag and uuid.UUID(our_tag)


def test_a_batch_lands_whole_and_in_order_when_the_block_ends(own: Settings) -> None:
    """The worker pops from the right: the first run sent is the first run taken."""
    client = redis_client(own)
    runs = [_run(ticker=f"T{i}") for i in range(2_500)]   # more than one LPUSH's values
    with pipeline_run_sender(own, client) as send:
        task_ids = [send(run) for run in runs]
        assert client.llen(PIPELINE_QUEUE) == 0, "nothing is pushed before the block ends"
    popped = [json.loads(_popped(client)) for _ in runs]
    assert [m["headers"]["id"] for m in popped] == task_ids
    assert client.llen(PIPELINE_QUEUE) == 0
