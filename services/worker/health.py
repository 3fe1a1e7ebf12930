"""The worker's and beat's heartbeat files: beaten from a thread of the main process once the
worker is ready (or beat has started), so `services status` and compose can tell they live."""

from __future__ import annotations

from celery.signals import beat_init, worker_ready

from services.shared.heartbeat import Heartbeat
from services.shared.settings import get_settings


@worker_ready.connect(weak=False)
def worker_heartbeat(**_) -> None:
    Heartbeat(get_settings().heartbeat_file).beat_in_background()


@beat_init.connect(weak=False)
def beat_heartbeat(**_) -> None:
    Heartbeat(get_settings().heartbeat_file).beat_in_background()
