"""The Celery application: Redis broker, prefork workers, beat for the periodic pipelines.

Run with `celery -A services.worker.app worker` and `celery -A services.worker.app beat`.
The dispatcher and the backend import this module only to publish tasks.
"""

from __future__ import annotations

from celery import Celery

from services.shared.settings import Settings, get_settings

PIPELINE_QUEUE = "pipelines"


def create_celery(settings: Settings) -> Celery:
    app = Celery("tradetrace", broker=settings.redis_url, include=["services.worker.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=PIPELINE_QUEUE,
        task_ignore_result=True,            # outcomes live in the executions table
        task_acks_late=True,                # a worker killed mid-task leaves it to redeliver
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        beat_schedule={
            "periodic-pipelines": {
                "task": "tradetrace.schedule_periodic_pipelines",
                "schedule": settings.periodic_tick_seconds,
            },
        },
    )
    return app


app = create_celery(get_settings())

from services.worker import telemetry  # noqa: E402,F401  (connects the prefork tracing hooks)
