"""What the dispatcher made of each signal, where others read it: on the signal's process span,
in one log line per batch (and one per signal, inside its trace, with `log_every_signal`), and
in Redis (the record `signal emit` reports, the recent signals the explorer lists, the
dispatcher's stats), all of a batch in one round trip; and which pipeline index it serves."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime

import redis

from services.shared import redis_keys
from services.shared.settings import Settings
from services.trigger_dispatcher.in_flight import InFlight, entered
from tracing import attributes as attr

log = logging.getLogger(__name__)


def record_outcomes(client: redis.Redis, flights: list[InFlight], settings: Settings) -> None:
    """Write on each dispatched signal's process span what became of it, log the batch's
    outcome (each signal's under its span with `log_every_signal`), and record every outcome
    in one round trip: a record per signal, the recent signals in one command, the batch's
    stats summed into one per field."""
    pipe = client.pipeline(transaction=False)
    recent: dict[str, float] = {}
    stats: Counter[str] = Counter()
    for flight in flights:
        if flight.parked:
            continue
        outcome, signal = flight.outcome, flight.signal
        flight.process.set_attributes({
            attr.PIPELINES_MATCHED: len(outcome.matched),
            attr.PIPELINES_ENQUEUED: len(outcome.enqueued),
            attr.PIPELINES_SKIPPED_RUNNING: len(outcome.skipped_running),
            attr.PIPELINES_DUPLICATES: len(outcome.duplicates)})
        if settings.log_every_signal:
            with entered(flight.context):
                log.info("signal %s (%s): matched %s, enqueued %s, skipped (running) %s",
                         signal.signal_id, signal.ticker, outcome.matched, outcome.enqueued,
                         outcome.skipped_running)
        # The first handling is what `signal emit` reports; a redelivery only adds stats.
        record = replace(outcome, ticker=signal.ticker, signal_type=signal.signal_type,
                         generated_at=signal.generated_at.isoformat())
        pipe.set(redis_keys.signal_dispatch(signal.signal_id), record.to_json(),
                 ex=settings.dispatch_record_seconds, nx=True)
        recent[signal.signal_id] = signal.generated_at.timestamp()
        stats.update({"pipelines_matched": len(outcome.matched),
                      "pipelines_enqueued": len(outcome.enqueued),
                      "pipelines_skipped_running": len(outcome.skipped_running),
                      "duplicates": len(outcome.duplicates)})
    if recent:
        pipe.zadd(redis_keys.RECENT_SIGNALS, recent)
    for field_name, count in stats.items():
        if count:
            pipe.hincrby(redis_keys.DISPATCHER_STATS, field_name, count)
    pipe.zremrangebyscore(redis_keys.RECENT_SIGNALS, "-inf",
                          time.time() - settings.dispatch_record_seconds)
    pipe.execute()
    if recent:
        log.info("%d signal(s) dispatched: %d pipeline(s) matched, %d enqueued, %d skipped "
                 "(running), %d duplicate(s)", len(recent), stats["pipelines_matched"],
                 stats["pipelines_enqueued"], stats["pipelines_skipped_running"],
                 stats["duplicates"])


def count(client: redis.Redis, counts: dict[str, int]) -> None:
    """Add to the dispatcher's stats (signals consumed, parked)."""
    pipe = client.pipeline()
    for name, value in counts.items():
        pipe.hincrby(redis_keys.DISPATCHER_STATS, name, value)
    pipe.execute()


# This process among the dispatchers that share the Redis (two in the scale profile).
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


def announce_index(client: redis.Redis, as_of: datetime, settings: Settings) -> None:
    """Say which index this dispatcher serves (the database time it was read at), for as
    long as three refreshes: a dispatcher that is gone stops being waited for."""
    client.set(redis_keys.dispatcher_index(INSTANCE), as_of.isoformat(),
               ex=max(1, round(3 * settings.index_refresh_seconds + 1)))


def withdraw_index(client: redis.Redis) -> None:
    """A dispatcher that stops serves no index (its key would otherwise outlive it a while)."""
    client.delete(redis_keys.dispatcher_index(INSTANCE))
