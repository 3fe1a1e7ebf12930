"""Consumer lag read from the broker: it rises while the dispatcher is down (when its own
spans say nothing) and falls back to zero once it is back."""

from __future__ import annotations

import httpx

from services.signal_generator.publisher import SignalPublisher
from tests.support.platform import signal_for
from tests.support.polling import eventually
from tests.support.prometheus import scalar
from tracing.service_names import TRIGGER_DISPATCHER
from tradetrace.platform import Platform

WAITING = 12


def test_lag_is_seen_from_the_broker_while_the_dispatcher_is_down(
        settings, platform: Platform, prometheus: httpx.Client, ticker: str) -> None:
    group = f'group="{settings.consumer_group}"'
    lag = f"sum(kafka_consumer_group_lag{{{group}}})"
    age = f"max(kafka_consumer_group_lag_age_seconds{{{group}}})"
    try:
        eventually(lambda: scalar(prometheus, lag) == 0, f"{lag} = 0 before", timeout=60)
    except AssertionError as missing:     # CI once saw the series end: say what the backend saw
        raise AssertionError(f"{missing}; now {scalar(prometheus, lag)}; the backend's "
                             f"warnings: {_warnings(platform)}") from None

    with platform.stopped([TRIGGER_DISPATCHER]):
        publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
        for i in range(WAITING):
            publisher.publish(signal_for(f"{ticker[:6]}{i:02d}"))
        assert publisher.flush(30) == 0
        eventually(lambda: (scalar(prometheus, lag) or 0) >= WAITING,
                   f"{lag} >= {WAITING} while the dispatcher is down", timeout=60)
        eventually(lambda: (scalar(prometheus, age) or 0) >= 3,
                   f"{age} growing while the dispatcher is down", timeout=60)

    eventually(lambda: scalar(prometheus, lag) == 0, f"{lag} back to 0", timeout=90)
    assert scalar(prometheus, age) == 0


def _warnings(platform: Platform) -> list[str]:
    [log] = [path for path in platform.log_paths() if path.name == "backend.log"]
    lines = log.read_text(errors="replace").splitlines()
    return [line[:300] for line in lines if '"level": "WARNING"' in line
            or '"level": "ERROR"' in line][-10:]
