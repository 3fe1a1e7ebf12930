"""Supervision on the native stack: a service SIGKILLed under traffic is started again by its
supervisor within 10 s and nothing is lost; a service that cannot start is left down after
the crash-loop limit, and `services status` names it.

"Back" is a heartbeat written after the kill by a new process (the file outlives the old one),
and "nothing lost" is the database's: each signal of the run ran each pipeline the
dispatcher enqueued for it exactly once, and succeeded.
"""

from __future__ import annotations

import json
import os
import signal as os_signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.signal_generator.publisher import SignalPublisher
from tests.support.ground_truth import pipeline_per_ticker, wait_all_finished
from tests.support.platform import signal_for, signal_messages
from tests.support.polling import eventually
from tracing.service_names import SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace import emit
from tradetrace.errors import PlatformError
from tradetrace.platform import Platform
from tradetrace.supervisor import RestartPolicy

BACK_WITHIN_SECONDS = 10.0
SIGNALS = 40


def _back(platform: Platform, service: str, old_pid: int, killed_at: float) -> float:
    """Seconds from the kill until a new process of the service beats (bounded)."""
    beat = platform.heartbeat_path(service)

    def beating_again() -> bool:
        pid = platform.pid(service)
        return pid not in (None, old_pid) and beat.stat().st_mtime > killed_at
    eventually(beating_again, f"{service} back after SIGKILL", timeout=60, interval=0.1)
    return time.time() - killed_at


def _restarts(platform: Platform, service: str) -> tuple[int, str | None]:
    [row] = [r for r in platform.status() if r.name == service]
    assert row.supervisor is not None
    return row.supervisor.restarts, row.supervisor.last_exit


@pytest.mark.parametrize("service", [WORKER, TRIGGER_DISPATCHER])
def test_a_service_killed_under_traffic_is_back_within_10s_and_loses_nothing(
        api: httpx.Client, settings, platform: Platform, ticker: str, service: str,
        restore) -> None:
    pipelines = pipeline_per_ticker(api, settings, f"sup-{service}", ticker, SIGNALS)
    signals = [signal_for(t) for t in pipelines]
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    restarts_before, _ = _restarts(platform, service)
    half = SIGNALS // 2
    for signal in signals[:half]:
        publisher.publish(signal)
    assert publisher.flush(30) == 0

    old = platform.pid(service)
    assert old is not None
    killed_at = time.time()
    os.kill(old, os_signal.SIGKILL)
    for signal in signals[half:]:         # traffic goes on while it is down
        publisher.publish(signal)
    assert publisher.flush(30) == 0
    back = _back(platform, service, old, killed_at)

    wait_all_finished(settings, [s.signal_id for s in signals], SIGNALS, timeout=180)
    restarts, last_exit = _restarts(platform, service)
    print(f"\n[faults] {service} SIGKILL under {SIGNALS} signals: back in {back:.1f}s, "
          f"{SIGNALS} executions, each once")
    assert back <= BACK_WITHIN_SECONDS
    assert (restarts - restarts_before, last_exit) == (1, "signal SIGKILL")


def test_the_generator_killed_is_back_within_10s_and_every_signal_it_sent_runs_once(
        api: httpx.Client, settings, platform_env: dict[str, str], ticker: str,
        tmp_path: Path) -> None:
    """What the generator handed to Kafka before the kill, and after, runs once; what it held
    in memory unsent when SIGKILLed is gone with it (never acknowledged, never generated for
    the platform: the broker-outage test covers what it holds through an outage)."""
    pipelines = pipeline_per_ticker(api, settings, "sup-gen", ticker, 30)
    tickers = list(pipelines)
    generator = Platform(env={**platform_env, "TRADETRACE_TICKERS": json.dumps(tickers),
                              "TRADETRACE_SIGNALS_PER_SECOND": "20"}, state=tmp_path)

    def in_kafka() -> int:
        return len(signal_messages(settings, tickers))

    generator.up([SIGNAL_GENERATOR])
    try:
        eventually(lambda: in_kafka() >= 20, "20 signals before the kill")
        old = generator.pid(SIGNAL_GENERATOR)
        assert old is not None
        killed_at = time.time()
        os.kill(old, os_signal.SIGKILL)
        back = _back(generator, SIGNAL_GENERATOR, old, killed_at)
        after_kill = in_kafka()
        eventually(lambda: in_kafka() >= after_kill + 20, "20 signals after the restart")
    finally:
        generator.down([SIGNAL_GENERATOR])

    sent = [json.loads(m.value())["signal_id"] for m in signal_messages(settings, tickers)]
    enqueued = sum(len(emit.wait_for_dispatch(settings, s)["enqueued"]) for s in sent)
    wait_all_finished(settings, sent, enqueued, timeout=180)
    print(f"\n[faults] generator SIGKILL: back in {back:.1f}s, {len(sent)} signals sent, "
          f"{enqueued} executions, each once")
    assert back <= BACK_WITHIN_SECONDS
    assert enqueued > 0


def test_a_service_that_exits_at_once_is_left_down_and_named(
        platform_env: dict[str, str], tmp_path: Path) -> None:
    broken = Platform(env={**platform_env, "TRADETRACE_SIGNALS_PER_SECOND": "not-a-number"},
                      state=tmp_path,
                      restart_policy=RestartPolicy(backoff=0.1, crash_loop_limit=3))
    try:
        started = time.monotonic()
        with pytest.raises(PlatformError, match="left down"):
            broken.up([SIGNAL_GENERATOR])
        waited = time.monotonic() - started

        [row] = [r for r in broken.status() if r.name == SIGNAL_GENERATOR]
        assert row.condition == "crash-looped"
        assert row.supervisor is not None
        assert (row.supervisor.restarts, row.supervisor.last_exit) == (2, "exit 1")
        shown = subprocess.run(
            [sys.executable, "-m", "tradetrace.cli", "services", "status", "--json"],
            env={**os.environ, "TRADETRACE_STATE_DIR": str(tmp_path)},
            capture_output=True, text=True, timeout=60)
        assert shown.returncode == 1
        states = {row["service"]: row for row in json.loads(shown.stdout)}
        assert states[SIGNAL_GENERATOR]["state"] == "crash-looped"
        assert "signal-generator (crash-looped)" in shown.stderr
    finally:
        broken.down([SIGNAL_GENERATOR])     # its supervisor too, even on a failure
    print(f"\n[faults] a generator that cannot start: left down after 3 exits in "
          f"{waited:.1f}s")
