"""Publish one signal and follow it: what the dispatcher made of it, and the executions it ran."""

from __future__ import annotations

import random
import time
from dataclasses import asdict

import redis
from sqlalchemy import select

from services.shared import redis_keys
from services.shared.db import FINISHED, Execution, session_scope
from services.shared.dispatch_record import SignalOutcome
from services.shared.settings import Settings
from services.shared.signals import Signal
from services.signal_generator.emitting import generate_and_publish
from services.signal_generator.golden_cross import crossovers
from services.signal_generator.prices import random_walk
from services.signal_generator.publisher import SignalPublisher
from tracing.service_names import CLI
from tradetrace.errors import CliError, PlatformError


def make_signal(ticker: str, signal_type: str) -> Signal:
    """A mock signal, or the ticker's latest golden/death cross in its price series."""
    if signal_type == "golden_cross":
        found = crossovers(random_walk(ticker))
        if not found:
            raise CliError(f"no golden cross in the price series of {ticker}")
        latest = found[-1]
        return Signal(signal_type="golden_cross", source=CLI, ticker=ticker,
                      direction=latest.direction, strength=round(latest.strength, 3))
    return Signal(signal_type="mock", source=CLI, ticker=ticker,
                  direction=random.choice(("buy", "sell")), strength=round(random.random(), 3))


def publish(settings: Settings, signal: Signal) -> None:
    """Publish as the signal-generator does: the signal's trace starts at `signal.generate`."""
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic,
                                settings.kafka_client)
    generate_and_publish(iter([signal]), publisher)
    if publisher.flush(15) or publisher.counts.failed:
        raise PlatformError(f"signal {signal.signal_id} was not delivered to Kafka")


def wait_for_dispatch(settings: Settings, signal_id: str, timeout: float = 30.0) -> dict:
    """What the dispatcher recorded for the signal: matched, enqueued, skipped, duplicates."""
    client = redis.Redis.from_url(settings.redis_url)
    deadline = time.monotonic() + timeout
    while (raw := client.get(redis_keys.signal_dispatch(signal_id))) is None:
        if time.monotonic() > deadline:
            raise PlatformError(f"the dispatcher did not handle signal {signal_id} within "
                             f"{timeout:.0f}s (is `tradetrace services up` running?)")
        time.sleep(0.2)
    return asdict(SignalOutcome.from_json(raw))


def wait_for_executions(settings: Settings, signal_id: str, expected: int,
                        timeout: float = 120.0) -> list[Execution]:
    """The signal's executions once `expected` of them have finished."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(settings.database_url) as session:
            executions = list(session.scalars(select(Execution).where(
                Execution.signal_id == signal_id).order_by(Execution.pipeline_id)))
        if sum(e.status in FINISHED for e in executions) >= expected:
            return executions
        if time.monotonic() > deadline:
            raise PlatformError(f"{expected} execution(s) of signal {signal_id} not finished after "
                             f"{timeout:.0f}s; states: {[e.status.value for e in executions]}")
        time.sleep(0.3)
