"""The funnel on the real stack: a window with unmatched tickers, a pipeline skipped because it
was running, a poison message and a failing agent, counted from Kafka, the DLQ, the
dispatcher's records and the executions table; each count equal to what the test produced and
each listing exactly those signals; `tradetrace funnel --json` says the same.

The signals go to a topic of the test's own, dispatched by a dispatcher of its own (the
platform's database, Redis, DLQ and workers), so the window holds only what the test sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx

from services.backend.explorer.funnel import build
from services.shared.clients import redis_client
from services.shared.db import session_scope, utcnow
from services.shared.topics import ensure_topics
from services.signal_generator.publisher import SignalPublisher
from tests.support.dispatcher import wait_for_index
from tests.support.ground_truth import finished_rows
from tests.support.kafka import produce
from tests.support.own_dispatcher import run_own_dispatcher
from tests.support.platform import create_pipeline, signal_for
from tradetrace.platform import Platform


def test_the_funnel_counts_each_stop_with_its_reason_and_lists_its_signals(
        api: httpx.Client, settings, platform: Platform, ticker: str) -> None:
    since = utcnow() - timedelta(seconds=5)
    own = settings.model_copy(update={"signals_topic": f"funnel-{uuid.uuid4().hex[:8]}",
                                      "consumer_group": f"funnel-{uuid.uuid4().hex[:8]}"})
    ensure_topics(own)
    slow, failing, fine, unwatched = (f"{ticker[:6]}{n}" for n in "SFOU")
    create_pipeline(api, f"funnel-slow-{ticker}", [slow],
                    agents=[{"name": "market_data", "params": {"duration_ms": 3000}}])
    create_pipeline(api, f"funnel-failing-{ticker}", [failing],
                    agents=[{"name": "risk_check", "params": {"fail": True}}])
    create_pipeline(api, f"funnel-fine-{ticker}", [fine])
    wait_for_index(settings)

    signals = {name: signal_for(t) for name, t in [
        ("slow", slow), ("slow_again", slow), ("failing", failing), ("fine", fine),
        ("unwatched", unwatched), ("unwatched_again", unwatched)]}
    publisher = SignalPublisher(own.kafka_bootstrap_servers, own.signals_topic)
    for signal in signals.values():
        publisher.publish(signal)
    assert publisher.flush(15) == 0
    produce(own.kafka_bootstrap_servers, own.signals_topic, [(None, b"not a signal", [])])
    # One batch: the second signal of the slow pipeline finds it running, and is skipped.
    run_own_dispatcher(platform.env, own.signals_topic, own.consumer_group, 7)
    ran = [signals[n].signal_id for n in ("slow", "failing", "fine")]
    finished_rows(settings, ran, 3)

    with session_scope(settings.database_url) as session:
        view = build(own, redis_client(settings), session, since)
    found = {step.key: sorted(step.members) for step in view.steps}
    ids = {name: s.signal_id for name, s in signals.items()}

    def of(*names: str) -> list[str]:
        return sorted(ids[n] for n in names)
    print("\n[funnel] " + ", ".join(f"{s.key} {s.count}" for s in view.steps if s.count))
    assert len(found["messages"]) == 7
    assert len(found["parked:invalid_signal"]) == 1 and found["parked:invalid_signal"][0] \
        .startswith("dlq:")
    assert found["dispatched"] == sorted(ids.values())
    assert found["no_pipeline"] == of("unwatched", "unwatched_again")
    assert found["matched"] == of("slow", "slow_again", "failing", "fine")
    assert found["runs_matched"] == of("slow", "slow_again", "failing", "fine")
    assert found["skipped_running"] == of("slow_again")
    assert found["enqueued"] == found["started"] == of("slow", "failing", "fine")
    assert found["failed"] == of("failing")
    assert found["succeeded"] == of("slow", "fine")
    assert "waiting" not in found                  # the dispatcher committed all of it
    assert not any(found[k] for k in ("no_record", "duplicate", "queued", "running",
                                      "abandoned"))

    shown = subprocess.run(
        [sys.executable, "-m", "tradetrace.cli", "funnel", "--window", "1h", "--json"],
        env={**os.environ, **platform.env, "TRADETRACE_SIGNALS_TOPIC": own.signals_topic,
             "TRADETRACE_CONSUMER_GROUP": own.consumer_group},
        capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    printed = {step["key"]: step["count"] for step in json.loads(shown.stdout)["steps"]}
    assert printed == {key: len(members) for key, members in found.items()}
