"""The Celery application: Redis broker, prefork workers, beat for the periodic pipelines and
the reaper.

Run with `celery -A services.worker.app worker` and `celery -A services.worker.app beat`.
Publishers do not import this module: they use the contract in `services.shared.tasks`.
"""

from __future__ import annotations

from celery import Celery

from services.shared.settings import Settings, get_settings
from services.shared.tasks import PERIODIC_TICK_TASK, REAPER_TASK, celery_config


def create_celery(settings: Settings) -> Celery:
    app = Celery("tradetrace", include=["services.worker.tasks"])
    app.conf.update(
        celery_config(settings),
        beat_schedule={
            "periodic-pipelines": {"task": PERIODIC_TICK_TASK,
                                   "schedule": settings.periodic_tick_seconds},
            "reaper": {"task": REAPER_TASK, "schedule": settings.reaper_interval_seconds},
        },
    )
    return app


app = create_celery(get_settings())

from services.worker import health, logs, telemetry  # noqa: E402,F401  (connects the signal hooks)
