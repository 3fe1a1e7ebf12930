"""The task contract (services/shared/tasks.py): a run goes where the caller's settings say."""

from __future__ import annotations

import base64
import json
import uuid

import redis

from services.shared.db import TriggerMode
from services.shared.tasks import PIPELINE_QUEUE, PIPELINE_TASK, PipelineRun, send_pipeline_run


def _queued(redis_url: str) -> list[dict]:
    client = redis.Redis.from_url(redis_url)
    return [json.loads(raw) for raw in client.lrange(PIPELINE_QUEUE, 0, -1)]


def test_a_run_published_with_explicit_settings_lands_in_their_redis_database(
        settings, own_redis_url: str) -> None:
    """No publisher built at import time from the environment: a benchmark's or a test's own
    Redis database receives the task, the session's does not."""
    own = settings.model_copy(update={"redis_url": own_redis_url})
    run = PipelineRun(execution_id=str(uuid.uuid4()), pipeline_id=7,
                      trigger_mode=TriggerMode.MANUAL, lock_token="token-1")
    task_id = send_pipeline_run(own, run)

    [message] = _queued(own.redis_url)
    assert (message["headers"]["id"], message["headers"]["task"]) == (task_id, PIPELINE_TASK)
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, PipelineRun.model_validate(kwargs)) == ([], run)
    assert all(m["headers"]["id"] != task_id for m in _queued(settings.redis_url))
