"""The hand-off to the worker: one Celery task, known by name, with a typed payload.

Beat's tick, the reaper and the backend publish a `PipelineRun` with
`send_pipeline_run(settings, run)`, the dispatcher many at a time from a template of the same
message (`services/shared/task_batches.py`); none of them imports the worker's code. The Celery
configuration both sides need (serializer, queue, broker timeouts, time limits) lives here too.

Why the publisher registers a stand-in task under the real name: the Celery instrumentation
(0.66b1) looks the published task up in the current app's registry. For a name it does not find
(a plain `send_task`) it starts the publish span and makes it current, but never ends it nor
restores the previous context, so every later span of the publishing thread would nest under
a dead publish span. The stand-in is never run here: its body only says where the task runs.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from pydantic import BaseModel, ConfigDict, Field

from services.shared import redis_broker
from services.shared.db import TriggerMode
from services.shared.settings import Settings

PIPELINE_TASK = "tradetrace.execute_pipeline"
PERIODIC_TICK_TASK = "tradetrace.schedule_periodic_pipelines"
REAPER_TASK = "tradetrace.reap_executions"
PIPELINE_QUEUE = "pipelines"
# Redis redelivers a task not acknowledged within this long; every time limit stays below it.
VISIBILITY_TIMEOUT_SECONDS = 3600


class PipelineRun(BaseModel):
    """Run this execution (a row already in the database, `queued`) of this pipeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    execution_id: str = Field(min_length=1, max_length=36)
    pipeline_id: int
    trigger_mode: TriggerMode
    signal: dict[str, Any] | None = None
    lock_token: str = Field(min_length=1, max_length=64)


def celery_config(settings: Settings) -> dict[str, Any]:
    """What the worker and every publisher agree on."""
    timeout = settings.redis_timeout_seconds
    return {
        "broker_url": settings.redis_url,
        # kombu's Redis transport with a client per channel (see there)
        "broker_transport": redis_broker.transport_for(settings.redis_url),
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": PIPELINE_QUEUE,
        "task_ignore_result": True,             # outcomes live in the executions table
        "task_acks_late": True,                 # a worker killed mid-task leaves it to redeliver
        "task_reject_on_worker_lost": True,     # ... at once (the row's attempts stop a loop)
        "worker_pool": "prefork",
        "worker_concurrency": settings.worker_concurrency,
        "worker_prefetch_multiplier": settings.worker_prefetch_multiplier,
        "task_soft_time_limit": settings.task_soft_time_limit_seconds,
        "task_time_limit": settings.task_time_limit_seconds,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
                                     "socket_timeout": timeout,
                                     "socket_connect_timeout": timeout},
        # Publishing to a Redis that is away fails within about this long instead of hanging.
        "broker_connection_timeout": timeout,
        "task_publish_retry_policy": {"max_retries": 3, "interval_start": 0.2,
                                      "interval_step": 0.5, "interval_max": 1.0},
    }


_publishers: dict[str, Celery] = {}


def _stand_in(**_: Any) -> None:
    """Registered under the real task's name in publisher apps (see `publisher`)."""
    raise RuntimeError(f"{PIPELINE_TASK} runs in the worker, not here")


def publisher(settings: Settings) -> Celery:
    """A Celery app that publishes to these settings' Redis (one per configuration and process)."""
    config = celery_config(settings)
    key = repr(sorted(config.items()))
    if key not in _publishers:
        app = Celery("tradetrace-publisher", set_as_current=True)
        app.conf.update(config)
        app.task(name=PIPELINE_TASK)(_stand_in)   # one callable for every publisher app
        _publishers[key] = app
    return _publishers[key]


def send_pipeline_run(settings: Settings, run: PipelineRun, app: Celery | None = None) -> str:
    """Publish the run; returns the Celery task id. `app`: the worker publishes through its own
    app (the real task is registered there), everyone else through `publisher(settings)`."""
    result = (app or publisher(settings)).tasks[PIPELINE_TASK].apply_async(
        kwargs=run.model_dump(mode="json"), queue=PIPELINE_QUEUE, argsrepr="()",
        kwargsrepr=kwargs_repr(run))
    return str(result.id)


def kwargs_repr(run: PipelineRun) -> str:
    """What logs and monitors show of a run's arguments (`kwargsrepr`): Celery would otherwise
    build a `saferepr` of the whole payload, the signal included, for every task."""
    return f"{{'execution_id': '{run.execution_id}', 'pipeline_id': {run.pipeline_id}}}"
