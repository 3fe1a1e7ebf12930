"""Faults: nothing is lost and nothing hangs when a component goes away and comes back.

Each test stops a real component of the stack and brings it back before it ends.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from confluent_kafka import Consumer, KafkaException

from services.backend.explorer.access import COOKIE
from services.signal_generator.publisher import SignalPublisher
from tests.support.dispatcher import wait_for_index
from tests.support.ground_truth import SERVICES, Recovery
from tests.support.platform import api_client, create_pipeline, publish_and_follow, signal_for
from tests.support.polling import eventually
from trace_reader.jaeger import Jaeger
from tracing import span_names
from tracing.service_names import BACKEND, WORKER
from tradetrace import emit
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.ports import free_port


def test_collector_down_loses_no_execution_and_tracing_recovers(
        api: httpx.Client, settings, stack: Stack, traces: Jaeger, ticker: str,
        recovered: Recovery, restore) -> None:
    pipeline = create_pipeline(api, f"nocollector-{ticker}", [ticker])
    wait_for_index(settings)
    with stack.select(["collector"]).stopped():
        started = time.monotonic()
        _, [execution] = publish_and_follow(settings, signal_for(ticker))
        assert execution.status.value == "succeeded"
        assert execution.trace_id                   # still traced, just not exported
        assert time.monotonic() - started < 30      # no service waited on the collector

    signal = signal_for(ticker)
    publish_and_follow(settings, signal)
    # The services' exporters reconnect by themselves: the next signal's trace arrives whole.
    trace = traces.signal_trace(signal.signal_id, executions=1, timeout=60)
    assert len(trace.named(span_names.AGENT_RUN)) == 2
    recovered(pipeline["id"], ticker, "collector down")


def test_broker_restart_loses_no_signal(api: httpx.Client, settings, stack: Stack,
                                        platform: Platform, ticker: str, recovered: Recovery,
                                        restore) -> None:
    """The broker away: every signal published before, during and after is handled once, and
    no service dies of it (the backend's lag reader once aborted its process). The funnel
    page says the broker is away, and counts again once it is back (its Kafka clients are
    kept between loads)."""
    pids = {name: platform.pid(name) for name in SERVICES}
    tickers = [f"{ticker[:6]}{i:02d}" for i in range(30)]
    pipelines = [create_pipeline(api, f"restart-{t}", [t])["id"] for t in tickers]
    wait_for_index(settings)
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    before = [signal_for(t) for t in tickers[:15]]
    for signal in before:
        publisher.publish(signal)
    assert publisher.flush(30) == 0

    during = [signal_for(t) for t in tickers[15:]]
    with stack.select(["kafka"]).stopped():
        for signal in during:          # buffered by the producer while the broker is away
            publisher.publish(signal)
        assert 'id="funnel-problem"' in _funnel_page(api, f"ticker={tickers[0]}")
    assert publisher.flush(120) == 0
    assert (publisher.counts.delivered, publisher.counts.failed) == (30, 0)

    for signal in before + during:     # the dispatcher reconnected and handled every one
        outcome = emit.wait_for_dispatch(settings, signal.signal_id, timeout=120)
        assert len(emit.wait_for_executions(settings, signal.signal_id,
                                            len(outcome["enqueued"]))) == 1
    assert {name: platform.pid(name) for name in SERVICES} == pids, "a service restarted"
    succeeded = _funnel_page(api, f"ticker={tickers[0]}&step=succeeded")
    assert re.findall(r'data-member="([^"]+)"', succeeded) == [before[0].signal_id]
    recovered(pipelines[0], tickers[0], "broker restart")


def _funnel_page(api: httpx.Client, query: str) -> str:
    """The explorer's funnel of the last hour, read with the API client's key."""
    key = api.headers["Authorization"].removeprefix("Bearer ")
    page = api.get(f"/explorer/funnel?window=1h&{query}", headers={"Cookie": f"{COOKIE}={key}"},
                   timeout=60)
    assert page.status_code == 200, page.text
    return page.text


def test_services_run_normally_with_tracing_disabled(platform_env, tmp_path, ticker: str,
                                                     own_redis_url: str) -> None:
    """OTEL_SDK_DISABLED=true: the backend and worker work as usual and record no trace id."""
    env = {**platform_env, "OTEL_SDK_DISABLED": "true",
           "TRADETRACE_REDIS_URL": own_redis_url}
    untraced = Platform(env=env, state=tmp_path, backend_port=free_port())
    untraced.up([BACKEND, WORKER])
    try:
        with api_client(untraced) as api:
            pipeline = create_pipeline(api, f"untraced-{ticker}", [ticker])
            queued = api.post(f"/pipelines/{pipeline['id']}/run").json()

            def finished():
                body = api.get(f"/executions/{queued['id']}").json()
                return body if body["status"] == "succeeded" else None

            execution = eventually(finished, "the untraced manual run")
        assert execution["trace_id"] is None and execution["trace_url"] is None
    finally:
        untraced.down()


class _CommitsRefused:
    """A dispatcher's consumer that counts the commits the broker refused: twice refused and
    still handling is the fact that the commit waits instead of giving up."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._consumer.commit(*args, **kwargs)
        except KafkaException:
            self.refused += 1
            raise


def test_a_commit_caught_by_a_broker_restart_waits_for_it_and_lands(
        settings, stack: Stack, kafka_bootstrap: str, unique_name: str, restore) -> None:
    """The dispatcher's batch, committed while the broker is away: the commit waits for the
    group coordinator instead of ending the dispatcher (CI once saw it die), and the batch
    ends up committed: by that commit, or, when the restart cost the consumer its group
    membership, by the replay after it rejoins (deduplicated, triggering nothing twice)."""
    import threading

    import redis
    from confluent_kafka import TopicPartition

    from services.shared.topics import ensure_topics
    from services.trigger_dispatcher.dispatcher import Dispatcher
    from services.trigger_dispatcher.dlq import create_dlq_producer
    from services.trigger_dispatcher.index import PipelineIndex
    from services.trigger_dispatcher.offsets import create_consumer

    own = settings.model_copy(update={"signals_topic": unique_name,
                                      "consumer_group": unique_name,
                                      "retry_backoff_seconds": 0.5})
    ensure_topics(own)                      # as the services do: the broker creates none
    publisher = SignalPublisher(kafka_bootstrap, own.signals_topic)
    for _ in range(5):
        publisher.publish(signal_for("NOPIPELINE"))
    assert publisher.flush(30) == 0
    consumer = _CommitsRefused(create_consumer(own))
    consumer.subscribe([own.signals_topic])
    dispatcher = Dispatcher(own, consumer, create_dlq_producer(own),
                            redis.Redis.from_url(own.redis_url))
    dispatcher.use_index(PipelineIndex())                   # matches nothing
    batch = []
    deadline = time.monotonic() + 30
    while len(batch) < 5 and time.monotonic() < deadline:
        batch += [m for m in consumer.consume(5, 1.0) if m.error() is None]
    assert len(batch) == 5

    failures: list[BaseException] = []

    def handle() -> None:
        try:
            dispatcher.handle_batch(batch)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    with stack.select(["kafka"]).stopped():
        handling = threading.Thread(target=handle)
        handling.start()
        eventually(lambda: consumer.refused >= 2, "the commit refused and tried again",
                   timeout=60)
        assert handling.is_alive() and not failures, "the commit should wait for the broker"
    handling.join(90)
    assert not handling.is_alive() and not failures, failures

    partitions = [TopicPartition(t, p) for t, p in {(m.topic(), m.partition()) for m in batch}]
    ends = {p.partition: max(m.offset() for m in batch if m.partition() == p.partition) + 1
            for p in partitions}

    def batch_committed() -> bool:
        dispatcher.run_once()           # a consumer that lost its membership rejoins here
        committed = consumer.committed(partitions, timeout=10)
        return all(tp.offset == ends[tp.partition] for tp in committed)

    eventually(batch_committed, "the batch committed after the restart", timeout=90)
    consumer.close()
