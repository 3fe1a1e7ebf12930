"""The "pipeline is running" lock in Redis: taken by the dispatcher, released by the worker.

The lock has a timeout so a worker that dies cannot block its pipeline for ever; it holds a
token so a worker only ever releases the lock it was given.
"""

from __future__ import annotations

import uuid

import redis

_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def running_key(pipeline_id: int) -> str:
    return f"tradetrace:pipeline-running:{pipeline_id}"


def acquire_running_lock(client: redis.Redis, pipeline_id: int, ttl_seconds: int) -> str | None:
    """The lock's token, or None if the pipeline is already running."""
    token = uuid.uuid4().hex
    if client.set(running_key(pipeline_id), token, nx=True, ex=ttl_seconds):
        return token
    return None


def release_running_lock(client: redis.Redis, pipeline_id: int, token: str) -> bool:
    return bool(client.eval(_RELEASE_IF_OWNER, 1, running_key(pipeline_id), token))
