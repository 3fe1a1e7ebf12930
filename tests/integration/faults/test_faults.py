"""Faults: nothing is lost and nothing hangs when a component goes away and comes back.

Each test stops a real component of the stack and brings it back before it ends.
"""

from __future__ import annotations

import time

import httpx
import pytest

from services.signal_generator.publisher import SignalPublisher
from tests.integration.platform_helpers import create_pipeline, publish_and_follow, signal_for
from tests.integration.polling import eventually
from tradetrace import emit
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.traces import Jaeger


@pytest.fixture
def restore(stack: Stack):
    """Whatever a test stops, the stack is whole again afterwards."""
    yield
    stack.up()


def test_collector_down_loses_no_execution_and_tracing_recovers(
        api: httpx.Client, settings, stack: Stack, traces: Jaeger, ticker: str, restore) -> None:
    create_pipeline(api, f"nocollector-{ticker}", [ticker])
    time.sleep(1.0)
    stack.select(["collector"]).down()

    started = time.monotonic()
    _, [execution] = publish_and_follow(settings, signal_for(ticker))
    assert execution.status.value == "succeeded"
    assert execution.trace_id                   # still traced, just not exported
    assert time.monotonic() - started < 30      # no service waited on the missing collector

    stack.select(["collector"]).up()
    signal = signal_for(ticker)
    publish_and_follow(settings, signal)
    # The services' exporters reconnect by themselves: the next signal's trace arrives whole.
    trace = traces.signal_trace(signal.signal_id, executions=1, timeout=60)
    assert len(trace.named("agent.run")) == 2


def test_broker_restart_loses_no_signal(api: httpx.Client, settings, stack: Stack,
                                        ticker: str, restore) -> None:
    tickers = [f"{ticker[:6]}{i:02d}" for i in range(30)]
    for t in tickers:
        create_pipeline(api, f"restart-{t}", [t])
    time.sleep(1.0)
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    before = [signal_for(t) for t in tickers[:15]]
    for signal in before:
        publisher.publish(signal)
    assert publisher.flush(30) == 0

    stack.select(["kafka"]).down()
    during = [signal_for(t) for t in tickers[15:]]
    for signal in during:              # buffered by the producer while the broker is away
        publisher.publish(signal)
    stack.select(["kafka"]).up()
    assert publisher.flush(120) == 0
    assert (publisher.counts.delivered, publisher.counts.failed) == (30, 0)

    for signal in before + during:     # the dispatcher reconnected and handled every one
        outcome = emit.wait_for_dispatch(settings, signal.signal_id, timeout=120)
        assert len(emit.wait_for_executions(settings, signal.signal_id,
                                            len(outcome["enqueued"]))) == 1


def test_services_run_normally_with_tracing_disabled(platform_env, tmp_path, ticker: str) -> None:
    """OTEL_SDK_DISABLED=true: the backend and worker work as usual and record no trace id."""
    from tests.integration.conftest import free_port

    env = {**platform_env, "OTEL_SDK_DISABLED": "true",
           "TRADETRACE_REDIS_URL": platform_env["TRADETRACE_REDIS_URL"].rsplit("/", 1)[0] + "/4"}
    untraced = Platform(env=env, state=tmp_path, backend_port=free_port())
    untraced.up(["backend", "worker"])
    try:
        with httpx.Client(base_url=untraced.backend_url, timeout=10) as api:
            pipeline = create_pipeline(api, f"untraced-{ticker}", [ticker])
            queued = api.post(f"/pipelines/{pipeline['id']}/run").json()

            def finished():
                body = api.get(f"/executions/{queued['id']}").json()
                return body if body["status"] == "succeeded" else None

            execution = eventually(finished, "the untraced manual run")
        assert execution["trace_id"] is None and execution["trace_url"] is None
    finally:
        untraced.down()
