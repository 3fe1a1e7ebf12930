"""Celery tasks: run one pipeline; beat's tick that queues the periodic pipelines due; and the
reaper that republishes executions whose worker died or whose task was lost."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import redis
from sqlalchemy import select

from services.shared import redis_keys
from services.shared.clients import INFRASTRUCTURE_ERRORS, backoff_seconds, redis_client
from services.shared.db import Pipeline, TriggerMode, session_scope
from services.shared.executions import reap
from services.shared.running import publish_queued, queue_single_run, running_locks
from services.shared.settings import get_settings
from services.shared.tasks import (
    PERIODIC_TICK_TASK,
    PIPELINE_TASK,
    REAPER_TASK,
    PipelineRun,
    send_pipeline_run,
)
from services.worker.app import app
from services.worker.execution import PRE_PING, LockHeldElsewhere, RetryLater, execute
from services.worker.leases import LeaseKeeper

log = logging.getLogger(__name__)


@lru_cache
def _redis() -> redis.Redis:
    """One client (and connection pool) per process, not a new connection per task; redis-py
    resets a pool inherited across a fork."""
    return redis_client(get_settings())


@lru_cache
def _leases() -> LeaseKeeper:
    """The process's lease keeper: its thread renews the runs of this process."""
    settings = get_settings()
    return LeaseKeeper(settings, running_locks(_redis(), settings))


def _outage_budget_left(retries: int) -> bool:
    """Whether the backoffs so far stay within `outage_retry_seconds`."""
    settings = get_settings()
    spent = sum(backoff_seconds(i, settings.max_retry_backoff_seconds) for i in range(retries))
    return spent < settings.outage_retry_seconds


@app.task(name=PIPELINE_TASK, bind=True)
def execute_pipeline(self, **payload: Any) -> dict[str, Any] | None:
    """Run a pipeline's execution (its row is already queued). Nothing is lost whatever
    fails: a transient agent error and an infrastructure outage retry with backoff, and a
    task given up on leaves its row to the reaper."""
    settings = get_settings()
    run = PipelineRun.model_validate(payload)
    retries = self.request.retries
    try:
        return execute(run, self.request.id, settings, running_locks(_redis(), settings),
                       _leases())
    except RetryLater as later:
        raise self.retry(exc=later, countdown=later.seconds, max_retries=None) from later
    except LockHeldElsewhere as held:
        # Another run of this pipeline holds the lock (this task waited in a backlog past its
        # lock's timeout): run after it rather than beside it.
        log.info("execution %s waits: %s", run.execution_id, held)
        raise self.retry(exc=held, countdown=settings.retry_backoff_seconds * 2,
                         max_retries=None) from held
    except INFRASTRUCTURE_ERRORS as error:
        if not _outage_budget_left(retries):
            log.error("execution %s: %s for %.0fs; left to the reaper", run.execution_id,
                      error.__class__.__name__, settings.outage_retry_seconds)
            raise
        log.warning("execution %s: %s; retrying", run.execution_id, error.__class__.__name__)
        raise self.retry(exc=error, max_retries=None, countdown=backoff_seconds(
            retries, settings.max_retry_backoff_seconds)) from error


@app.task(name=PERIODIC_TICK_TASK)
def schedule_periodic_pipelines() -> int:
    """Beat's tick: queue each enabled periodic pipeline at most once per its interval."""
    settings = get_settings()
    client = _redis()
    with session_scope(settings.database_url, PRE_PING) as session:
        due = session.execute(select(Pipeline.id, Pipeline.interval_seconds).where(
            Pipeline.enabled.is_(True), Pipeline.trigger_mode == TriggerMode.PERIODIC)).all()
    queued = 0
    for pipeline_id, interval in due:
        # The key lives for one interval: while it exists the pipeline is not due again.
        mark = redis_keys.periodic_due(pipeline_id)
        if not client.set(mark, 1, nx=True, ex=max(1, interval or 60)):
            continue
        with session_scope(settings.database_url, PRE_PING) as session:
            execution = queue_single_run(session, running_locks(client, settings), pipeline_id,
                                         TriggerMode.PERIODIC, settings)
        if execution is not None:
            publish_queued(settings, execution, app=app)
            queued += 1
    return queued


@app.task(name=REAPER_TASK)
def reap_executions() -> int:
    """Republish the executions whose lease ran out; fail those out of attempts."""
    settings = get_settings()
    with session_scope(settings.database_url, PRE_PING) as session:
        reaped = reap(session, settings)
        for run in reaped.republish:   # published before the commit: a failure republishes
            send_pipeline_run(settings, run, app=app)
    locks = running_locks(_redis(), settings)
    for pipeline_id, token in reaped.failed_locks:
        locks.release(pipeline_id, token)
    if reaped.republish or reaped.failed_locks:
        log.warning("reaper: %d execution(s) published again, %d failed after every attempt",
                    len(reaped.republish), len(reaped.failed_locks))
    return len(reaped.republish)
