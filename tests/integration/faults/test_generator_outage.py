"""The signal generator through a broker outage: it lives on, and Kafka ends up holding every
signal it generated, none skipped.

The generator runs with a seed, so the signals it generates are a known sequence; with a tiny
local queue and a short delivery timeout, the outage makes produce() refuse signals and
delivery reports fail, the two paths that used to drop them. Ground truth is the topic: its
distinct signals must be exactly the first N of the seeded sequence, for the N it holds.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from itertools import islice
from pathlib import Path

from services.signal_generator.generators import mock_signals
from tests.support.platform import settings_from_env, signal_messages
from tests.support.polling import eventually
from tracing.service_names import SIGNAL_GENERATOR
from tradetrace.platform import Platform
from tradetrace.stack import Stack

SEED = 5
RATE = 20            # signals per second
QUEUE = 10           # the producer's local queue, in messages
MAX_PENDING = 50     # signals held for a retry before generation pauses
OUTAGE_BEATS = 5.0   # seconds the generator must be seen alive inside the outage


def test_generator_outlives_a_broker_outage_and_loses_no_signal(
        platform_env: dict[str, str], stack: Stack, tmp_path: Path, restore) -> None:
    tickers = [f"G{secrets.token_hex(3).upper()}" for _ in range(3)]
    env = {**platform_env,
           "TRADETRACE_SIGNALS_TOPIC": f"generator-outage-{secrets.token_hex(4)}",
           "TRADETRACE_TICKERS": json.dumps(tickers),
           "TRADETRACE_SIGNALS_PER_SECOND": str(RATE),
           "TRADETRACE_GENERATOR_SEED": str(SEED),
           "TRADETRACE_GENERATOR_MAX_PENDING": str(MAX_PENDING),
           # The local queue fills in half a second; a delivery fails after two.
           "TRADETRACE_GENERATOR_PRODUCER": json.dumps(
               {"queue.buffering.max.messages": QUEUE, "message.timeout.ms": 2000})}
    settings = settings_from_env(env)
    generator = Platform(env=env, state=tmp_path)
    beat = generator.heartbeat_path(SIGNAL_GENERATOR)

    def in_kafka() -> int:
        return len(signal_messages(settings, tickers))

    generator.up([SIGNAL_GENERATOR])
    try:
        eventually(lambda: in_kafka() >= RATE, f"{RATE} signals before the outage")
        before = in_kafka()
        with stack.select(["kafka"]).stopped():
            down_at = time.time()
            eventually(lambda: beat.stat().st_mtime > down_at + OUTAGE_BEATS,
                       "the generator beating inside the outage", timeout=OUTAGE_BEATS + 30)
        # More than the generator can hold through an outage: it generates again.
        resumed = before + QUEUE + MAX_PENDING + 2 * RATE
        eventually(lambda: in_kafka() >= resumed, "generation to resume after the outage",
                   timeout=90)
        [row] = [r for r in generator.status() if r.name == SIGNAL_GENERATOR]
        assert row.supervisor is not None and row.supervisor.restarts == 0, \
            f"the generator died ({row.supervisor}); its supervisor started it again"
    finally:
        generator.down([SIGNAL_GENERATOR])      # SIGTERM: it flushes what it holds

    messages = signal_messages(settings, tickers)
    delivered = Counter((b["ticker"], b["direction"], b["strength"])
                        for b in (json.loads(m.value()) for m in messages))
    expected = Counter((s.ticker, s.direction, s.strength)
                       for s in islice(mock_signals(tickers, SEED), len(messages)))
    print(f"\n[faults] broker outage under the generator: {len(messages)} distinct signals in "
          f"Kafka, the first {len(messages)} of the seeded sequence: {delivered == expected}")
    assert delivered == expected, "a generated signal is missing from Kafka"
