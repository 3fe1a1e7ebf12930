"""The "pipeline is running" lock in Redis: taken by the dispatcher, released by the worker.

The lock has a timeout so a worker that dies cannot block its pipeline for ever; it holds a
token so a worker only ever releases the lock it was given.
"""

from __future__ import annotations

import uuid

import redis

from services.shared import redis_keys

_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# Take the lock, or keep it if this owner already holds it (a replay after a crash).
_ACQUIRE_OR_REENTER = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('expire', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


def acquire_running_lock(client: redis.Redis, pipeline_id: int, ttl_seconds: int,
                         owner: str | None = None) -> str | None:
    """The lock's token, or None if the pipeline is already running for another owner.

    The dispatcher passes the signal id as owner: if it died between taking the lock and
    enqueueing the task, the replayed signal finds its own lock and goes on, instead of
    being skipped as "running" and lost while the orphaned lock lives out its timeout.
    """
    token = owner or uuid.uuid4().hex
    [taken] = acquire_running_locks(client, [(pipeline_id, token)], ttl_seconds)
    return token if taken else None


def acquire_running_locks(client: redis.Redis, wanted: list[tuple[int, str]],
                          ttl_seconds: int) -> list[bool]:
    """Take (or re-enter) each (pipeline id, owner) lock, in order, in one round trip: the
    dispatcher's whole batch at once. Redis runs them one after another, so a pipeline
    matched twice in a batch goes to the first owner, as if they were taken one by one."""
    if not wanted:
        return []
    pipe = client.pipeline(transaction=False)
    for pipeline_id, owner in wanted:
        pipe.eval(_ACQUIRE_OR_REENTER, 1, redis_keys.running_lock(pipeline_id), owner,
                  ttl_seconds)
    return [bool(taken) for taken in pipe.execute()]


def release_running_lock(client: redis.Redis, pipeline_id: int, token: str) -> bool:
    return bool(client.eval(_RELEASE_IF_OWNER, 1, redis_keys.running_lock(pipeline_id), token))
