"""Running a pipeline: the one way a run is queued, and the running lock's whole life.

A pipeline runs once at a time. Its running lock in Redis is taken by whoever queues a run
(the backend's manual run, beat's periodic tick, the dispatcher's batch), renewed by the worker
while the run lives, and released when the run is over (by the worker, or by the reaper for a
run out of attempts). The lock has a timeout, so a worker that dies cannot block its pipeline
for ever, and holds a token, so a worker only ever releases the lock it was given. No other
module speaks to the lock.

A single run is queued lock, row, commit, publish: the row is committed before the task is
published (the worker must find it), and a publish that fails leaves the committed row to
the reaper, which publishes it again. The dispatcher queues a batch the other way round (rows
first, for their dedup, then the locks of the new rows in one round trip: `take_all`).
"""

from __future__ import annotations

import logging
import uuid

import redis
from celery import Celery
from sqlalchemy.orm import Session

from services.shared import redis_keys
from services.shared.clients import INFRASTRUCTURE_ERRORS
from services.shared.db import Execution, TriggerMode
from services.shared.executions import run_of
from services.shared.queueing import queue_run
from services.shared.settings import Settings
from services.shared.tasks import send_pipeline_run

log = logging.getLogger(__name__)

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


class RunningLocks:
    """The pipelines' running locks in one Redis, each living `ttl_seconds` unless renewed."""

    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds

    def take(self, pipeline_id: int, owner: str | None = None) -> str | None:
        """The lock's token, or None if the pipeline is already running for another owner.

        The dispatcher passes the signal id as owner: if it died between taking the lock and
        enqueueing the task, the replayed signal finds its own lock and goes on, instead of
        being skipped as "running" and lost while the orphaned lock lives out its timeout.
        """
        token = owner or uuid.uuid4().hex
        [taken] = self.take_all([(pipeline_id, token)])
        return token if taken else None

    def take_all(self, wanted: list[tuple[int, str]]) -> list[bool]:
        """Take (or re-enter) each (pipeline id, owner) lock, in order, in one round trip: the
        dispatcher's whole batch at once. Redis runs them one after another, so a pipeline
        matched twice in a batch goes to the first owner, as if they were taken one by one."""
        if not wanted:
            return []
        pipe = self.client.pipeline(transaction=False)
        for pipeline_id, owner in wanted:
            pipe.eval(_ACQUIRE_OR_REENTER, 1, redis_keys.running_lock(pipeline_id), owner,
                      self.ttl_seconds)
        return [bool(taken) for taken in pipe.execute()]

    def renew(self, pipeline_id: int, token: str) -> bool:
        """Give the lock a new timeout while its run lives; False if another owner has it."""
        return self.take(pipeline_id, owner=token) is not None

    def release(self, pipeline_id: int, token: str) -> bool:
        """Let the pipeline run again, if the lock is still this token's."""
        return bool(self.client.eval(_RELEASE_IF_OWNER, 1, redis_keys.running_lock(pipeline_id),
                                     token))


def running_locks(client: redis.Redis, settings: Settings) -> RunningLocks:
    return RunningLocks(client, settings.running_lock_seconds)


def queue_single_run(session: Session, locks: RunningLocks, pipeline_id: int,
                     trigger_mode: TriggerMode, settings: Settings, ticker: str | None = None,
                     trace_id: str | None = None) -> Execution | None:
    """Lock the pipeline, queue its run's row and commit it; None if it is already running.
    The lock is released if the row cannot be committed. Publish the run afterwards
    (`publish_queued`)."""
    token = locks.take(pipeline_id)
    if token is None:
        return None
    try:
        execution = queue_run(session, pipeline_id, trigger_mode, token, settings,
                              ticker=ticker, trace_id=trace_id)
        session.commit()  # the worker must find the row
    except BaseException:
        locks.release(pipeline_id, token)
        raise
    return execution


def publish_queued(settings: Settings, execution: Execution, app: Celery | None = None) -> None:
    """Publish a committed run's task. An outage leaves it queued all the same: the reaper
    publishes it once its queue lease runs out."""
    try:
        send_pipeline_run(settings, run_of(execution), app=app)
    except INFRASTRUCTURE_ERRORS as error:
        log.warning("run %s queued, not yet published (%s)", execution.id, error)
