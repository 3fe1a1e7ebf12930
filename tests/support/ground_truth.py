"""What every fault test asserts, read from the executions table and Redis, never from logs.

After a fault: one finished execution per (pipeline, signal), none left running or queued, the
running lock free, and the platform as fast as before (a batch of signals finishes within
`RECOVERY_BOUND` times the healthy batch's time, measured in the same session).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import redis
from sqlalchemy import select

from services.shared import redis_keys
from services.shared.db import FINISHED, Execution, ExecutionStatus, session_scope
from services.shared.settings import Settings
from services.signal_generator.publisher import SignalPublisher
from tests.support.dispatcher import wait_for_index
from tests.support.platform import create_pipeline, publish_and_follow, signal_for
from tests.support.polling import eventually
from tracing.service_names import BACKEND, BEAT, TRIGGER_DISPATCHER, WORKER

# After any fault, a batch takes at most this many times a healthy batch (plus a few seconds of
# slack for a machine busy with other tests): the services are back to full speed, not limping.
RECOVERY_BOUND = 3.0
RECOVERY_SLACK_SECONDS = 5.0
BATCH_SIZE = 8
# The session platform's services (the generator runs only when a test starts one).
SERVICES = [BACKEND, WORKER, BEAT, TRIGGER_DISPATCHER]

# recovered(pipeline_id, ticker, fault): the check every fault test ends with.
Recovery = Callable[[int, str, str], None]


def rows(settings: Settings, signal_ids: list[str]) -> list[Execution]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Execution).where(Execution.signal_id.in_(signal_ids))))


def running(settings: Settings, signal_id: str) -> bool:
    return any(e.status == ExecutionStatus.RUNNING for e in rows(settings, [signal_id]))


def finished_rows(settings: Settings, signal_ids: list[str], expected: int,
                  timeout: float = 120) -> list[Execution]:
    """The signals' executions once `expected` of them have finished, whatever their outcome."""
    def finished() -> list[Execution] | None:
        found = rows(settings, signal_ids)
        return found if sum(e.status in FINISHED for e in found) >= expected else None

    try:
        return eventually(finished, f"{expected} finished executions", timeout=timeout,
                          interval=1)
    except AssertionError as timed_out:
        states = sorted((e.signal_id or "", e.pipeline_id, e.status.value, e.attempts)
                        for e in rows(settings, signal_ids))
        raise AssertionError(f"{timed_out}; (signal, pipeline, status, attempts): "
                             f"{states}") from None


def wait_all_finished(settings: Settings, signal_ids: list[str], expected: int,
                      timeout: float = 120) -> list[Execution]:
    """The signals' executions once `expected` have finished; then checks none is left over
    and every one succeeded."""
    found = finished_rows(settings, signal_ids, expected, timeout)
    assert len(found) == expected, "one row per (pipeline, signal), no more"
    assert {e.status for e in found} == {ExecutionStatus.SUCCEEDED}, [
        (e.status.value, e.error) for e in found]
    return found


def pipeline_per_ticker(api: httpx.Client, settings: Settings, prefix: str, ticker: str,
                        count: int) -> dict[str, int]:
    """`count` pipelines, each watching a ticker of its own (so no signal is skipped as already
    running), known to the dispatcher when this returns: {ticker: pipeline id}."""
    tickers = [f"{ticker[:6]}{i:02d}" for i in range(count)]
    ids = {t: create_pipeline(api, f"{prefix}-{t}", [t])["id"] for t in tickers}
    wait_for_index(settings)
    return ids


def publish_signals(settings: Settings, tickers: list[str]) -> list[str]:
    """One signal per ticker, delivered to the settings' topic; their ids."""
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    signals = [signal_for(ticker) for ticker in tickers]
    for signal in signals:
        publisher.publish(signal)
    assert publisher.flush(30) == 0
    return [s.signal_id for s in signals]


def run_wave(settings: Settings, tickers: list[str]) -> list[str]:
    """One signal per ticker, published and run to the end (each exactly once); their ids."""
    ids = publish_signals(settings, tickers)
    wait_all_finished(settings, ids, len(ids))
    return ids


@dataclass
class Batch:
    """A wave of signals on pipelines of their own, timed: the measure of a healthy platform."""

    tickers: list[str]

    @classmethod
    def create(cls, api: httpx.Client, settings: Settings, prefix: str) -> Batch:
        return cls(list(pipeline_per_ticker(api, settings, "batch", prefix, BATCH_SIZE)))

    def run(self, settings: Settings) -> float:
        """Seconds from publishing one signal per pipeline to every execution finished."""
        started = time.monotonic()
        run_wave(settings, self.tickers)
        return time.monotonic() - started


def assert_recovered(settings: Settings, healthy_seconds: float, batch: Batch,
                     pipeline_id: int, ticker: str, fault: str) -> None:
    """The lock of the faulted pipeline is free, its next signal runs, and a batch is as fast
    as a healthy one within the bound."""
    client = redis.Redis.from_url(settings.redis_url)
    lock = redis_keys.running_lock(pipeline_id)
    eventually(lambda: not client.exists(lock), "the running lock released")
    outcome, [execution] = publish_and_follow(settings, signal_for(ticker), timeout=90)
    assert outcome["enqueued"] == [pipeline_id]
    assert execution.status == ExecutionStatus.SUCCEEDED

    seconds = batch.run(settings)
    bound = RECOVERY_BOUND * healthy_seconds + RECOVERY_SLACK_SECONDS
    print(f"[faults] {fault}: a batch of {BATCH_SIZE} after recovery took {seconds:.2f}s, "
          f"{seconds / healthy_seconds:.1f}x the healthy {healthy_seconds:.2f}s")
    assert seconds <= bound, (f"after {fault}, a batch took {seconds:.1f}s, over "
                              f"{RECOVERY_BOUND}x the healthy {healthy_seconds:.1f}s + slack")
