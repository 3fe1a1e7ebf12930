"""Celery tasks: run one pipeline; and beat's tick that enqueues the periodic pipelines due."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import redis
from sqlalchemy import select

from services.shared.db import Pipeline, TriggerMode, session_scope
from services.shared.locks import acquire_running_lock, release_running_lock
from services.shared.settings import get_settings
from services.worker.agents import TransientAgentError
from services.worker.app import app
from services.worker.execution import (
    DuplicateExecution, ExecutionRequest, PipelineGone, run_pipeline,
)

log = logging.getLogger(__name__)


@lru_cache
def _redis() -> redis.Redis:
    """One client (and connection pool) per process, not a new connection per task; redis-py
    resets a pool inherited across a fork."""
    return redis.Redis.from_url(get_settings().redis_url)


def retry_delay(retries: int) -> float:
    """Exponential backoff between attempts: 1 s, 2 s, 4 s, ... capped at 30 s."""
    return min(30.0, 2.0 ** retries)


@app.task(name="tradetrace.execute_pipeline", bind=True)
def execute_pipeline(self, pipeline_id: int, trigger_mode: str,
                     signal: dict[str, Any] | None = None, execution_id: str | None = None,
                     lock_token: str | None = None) -> dict[str, Any] | None:
    """Run a pipeline. The running lock is released whatever happens, except while a retry
    of this same execution is pending (the pipeline is still running then)."""
    settings = get_settings()
    retries = self.request.retries
    request = ExecutionRequest(pipeline_id, TriggerMode(trigger_mode), signal, execution_id,
                               attempt=retries, final_attempt=retries >= settings.task_max_retries)
    keep_lock = False
    try:
        return run_pipeline(request, settings)
    except TransientAgentError as error:
        keep_lock = True          # the retry of this same execution still holds it
        raise self.retry(exc=error, countdown=retry_delay(retries),
                         max_retries=settings.task_max_retries)
    except DuplicateExecution as duplicate:
        # The same signal's lock token: while the original still runs, the lock is its own.
        keep_lock = not duplicate.original_finished
        log.warning("skipped: %s", duplicate)
        return None
    except PipelineGone as gone:
        log.warning("skipped: %s", gone)
        return None
    finally:
        if lock_token and not keep_lock:
            release_running_lock(_redis(), pipeline_id, lock_token)


def _due_key(pipeline_id: int) -> str:
    return f"tradetrace:periodic-due:{pipeline_id}"


@app.task(name="tradetrace.schedule_periodic_pipelines")
def schedule_periodic_pipelines() -> int:
    """Beat's tick: enqueue each enabled periodic pipeline at most once per its interval."""
    settings = get_settings()
    client = _redis()
    with session_scope(settings.database_url) as session:
        due = session.execute(select(Pipeline.id, Pipeline.interval_seconds).where(
            Pipeline.enabled.is_(True), Pipeline.trigger_mode == TriggerMode.PERIODIC)).all()
    enqueued = 0
    for pipeline_id, interval in due:
        # The key lives for one interval: while it exists the pipeline is not due again.
        if not client.set(_due_key(pipeline_id), 1, nx=True, ex=max(1, interval or 60)):
            continue
        token = acquire_running_lock(client, pipeline_id, settings.running_lock_seconds)
        if token is None:
            continue
        execute_pipeline.apply_async(kwargs={"pipeline_id": pipeline_id,
                                             "trigger_mode": TriggerMode.PERIODIC.value,
                                             "lock_token": token})
        enqueued += 1
    return enqueued
