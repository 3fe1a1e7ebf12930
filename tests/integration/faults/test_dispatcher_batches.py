"""The dispatcher does a batch's I/O together, and still loses nothing and parks only poison.

A dispatcher of the test's own (its own topic and consumer group) on the platform's database,
Redis and worker: the fault is injected at a chosen step of its batch, and the ground truth
read from Kafka (committed offsets) and the executions table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis
from confluent_kafka import Consumer, Message, TopicPartition

from services.shared.clients import INFRASTRUCTURE_ERRORS, redis_client
from services.shared.settings import Settings
from services.shared.tasks import PipelineRun
from services.shared.topics import ensure_topics
from services.trigger_dispatcher import dispatch as dispatch_module
from services.trigger_dispatcher.dispatcher import Dispatcher
from services.trigger_dispatcher.dlq import create_dlq_producer
from services.trigger_dispatcher.index import load_index
from services.trigger_dispatcher.offsets import create_consumer
from tests.support.ground_truth import pipeline_per_ticker, publish_signals, wait_all_finished
from tests.support.polling import eventually
from tracing.service_names import WORKER
from tradetrace.platform import Platform
from tradetrace.stack import Stack


@pytest.fixture
def own(settings: Settings, unique_name: str) -> Settings:
    """The platform's settings with a topic, a DLQ and a consumer group of the test's own."""
    own = settings.model_copy(update={"signals_topic": unique_name,
                                      "dlq_topic": f"{unique_name}.dlq",
                                      "consumer_group": unique_name,
                                      "retry_backoff_seconds": 0.5})
    ensure_topics(own)
    return own


def _dispatcher(own: Settings) -> tuple[Dispatcher, Consumer]:
    consumer = create_consumer(own)
    consumer.subscribe([own.signals_topic])
    dispatcher = Dispatcher(own, consumer, create_dlq_producer(own), redis_client(own))
    dispatcher.use_index(load_index(own.database_url))
    return dispatcher, consumer


def _whole_batch(consumer: Consumer, count: int) -> list[Message]:
    """The `count` messages published, consumed as one batch."""
    batch: list[Message] = []
    deadline = time.monotonic() + 30
    while len(batch) < count and time.monotonic() < deadline:
        batch += [m for m in consumer.consume(count, 1.0) if m.error() is None]
    assert len(batch) == count
    return batch


def _committed(consumer: Consumer, own: Settings) -> int:
    """How many of the topic's messages the group has committed (all partitions)."""
    metadata = consumer.list_topics(own.signals_topic, timeout=10).topics[own.signals_topic]
    partitions = [TopicPartition(own.signals_topic, p) for p in metadata.partitions]
    return sum(max(0, tp.offset) for tp in consumer.committed(partitions, timeout=10))


def _dispatch_until(dispatcher: Dispatcher, done: Callable[[], bool], what: str) -> None:
    def step() -> bool:
        dispatcher.run_once()
        return done()

    eventually(step, what, timeout=90, interval=0.1)


@contextmanager
def _sender_then(after_first: Callable[[], None]) -> Iterator[list[PipelineRun]]:
    """The dispatcher's task sender, calling `after_first` once the batch's first task is
    published: a fault at exactly that step of the batch."""
    real = dispatch_module.pipeline_run_sender
    sent: list[PipelineRun] = []

    @contextmanager
    def sender(settings: Settings, broker: redis.Redis) -> Iterator[Callable[[PipelineRun], str]]:
        with real(settings, broker) as send:
            def send_then(run: PipelineRun) -> str:
                task_id = send(run)
                sent.append(run)
                if len(sent) == 1:
                    after_first()
                return task_id
            yield send_then

    dispatch_module.pipeline_run_sender = sender
    try:
        yield sent
    finally:
        dispatch_module.pipeline_run_sender = real


def test_redis_lost_mid_batch_commits_nothing_and_the_redelivered_batch_runs_once(
        api: httpx.Client, own: Settings, stack: Stack, platform: Platform, ticker: str,
        restore) -> None:
    """The worker is stopped meanwhile: the fault is the dispatcher's. (Celery 5.7's worker
    can exit with "Unrecoverable error" when Redis goes away under a running task, a
    long-standing Celery/kombu bug; a supervisor restarts it, see the README.)"""
    tickers = list(pipeline_per_ticker(api, own, "midbatch", ticker, 4))
    platform.down([WORKER])
    signal_ids = publish_signals(own, tickers)
    dispatcher, consumer = _dispatcher(own)
    batch = _whole_batch(consumer, len(tickers))
    redis = stack.select(["redis"])

    try:
        with _sender_then(redis.down) as sent:
            try:
                with pytest.raises(Exception) as failure:
                    dispatcher.handle_batch(batch)
            finally:
                redis.up()
        assert sent, "Redis stopped while the batch's tasks were being published"
        assert isinstance(failure.value, INFRASTRUCTURE_ERRORS), repr(failure.value)
        assert _committed(consumer, own) == 0, "nothing of the failed batch may be committed"
    finally:
        consumer.close()                    # as if the dispatcher died there

    replay, replay_consumer = _dispatcher(own)    # Kafka delivers the batch again
    try:
        _dispatch_until(replay, lambda: _committed(replay_consumer, own) == len(tickers),
                        "the redelivered batch committed")
    finally:
        replay_consumer.close()
    platform.up([WORKER])
    executions = wait_all_finished(own, signal_ids, expected=len(tickers))
    assert sorted(e.signal_id for e in executions) == sorted(signal_ids)
    assert [e.attempts for e in executions] == [1] * len(tickers), "each ran once"


def test_a_signal_that_breaks_the_batch_is_parked_and_the_rest_dispatched(
        api: httpx.Client, own: Settings, ticker: str) -> None:
    """A failure that is not an outage (here a bug reached by one signal's ticker) fails the
    batch's shared I/O: the dispatcher then dispatches its signals one by one, parks the one
    that still fails, and the rest run; the batch is committed."""
    tickers = list(pipeline_per_ticker(api, own, "poisonbatch", ticker, 4))
    signal_ids = publish_signals(own, tickers)
    poison = tickers[2]
    dispatcher, consumer = _dispatcher(own)
    real_dispatch = dispatcher._dispatch

    def dispatch_with_a_bug(flights):
        if any(f.signal.ticker == poison for f in flights):
            raise ValueError(f"a bug reached by {poison}")
        real_dispatch(flights)

    dispatcher._dispatch = dispatch_with_a_bug
    batch = _whole_batch(consumer, len(tickers))
    try:
        dispatcher.handle_batch(batch)
        committed = _committed(consumer, own)
    finally:
        consumer.close()
    assert committed == len(tickers), "the batch is committed"
    healthy = [s for s, t in zip(signal_ids, tickers, strict=True) if t != poison]
    executions = wait_all_finished(own, healthy, expected=len(healthy))
    assert sorted(e.signal_id for e in executions) == sorted(healthy)

    dlq = Consumer(own.kafka_config({"group.id": f"{own.consumer_group}-dlq",
                                     "auto.offset.reset": "earliest"}))
    dlq.subscribe([own.dlq_topic])
    try:
        [parked] = _whole_batch(dlq, 1)
    finally:
        dlq.close()
    headers = dict(parked.headers())
    assert headers["dlq.reason"].startswith(b"dispatch failed: ValueError: a bug reached by")
    assert signal_ids[2].encode() in parked.value()


def test_two_dispatchers_in_one_group_share_the_partitions(api: httpx.Client, own: Settings,
                                                          ticker: str) -> None:
    """The signal topic has `signal_partitions` partitions; two dispatchers of one group each
    get some of them, and between them every signal runs once."""
    tickers = list(pipeline_per_ticker(api, own, "shared", ticker, 12))
    first, first_consumer = _dispatcher(own)
    second, second_consumer = _dispatcher(own)
    try:
        def both_assigned() -> bool:
            first.run_once()
            second.run_once()
            return bool(first_consumer.assignment()) and bool(second_consumer.assignment())

        eventually(both_assigned, "both dispatchers assigned partitions", timeout=60,
                   interval=0.1)
        shares = [{tp.partition for tp in c.assignment()}
                  for c in (first_consumer, second_consumer)]
        assert not shares[0] & shares[1]
        assert len(shares[0] | shares[1]) == own.signal_partitions
        signal_ids = publish_signals(own, tickers)

        def all_committed() -> bool:
            first.run_once()
            second.run_once()
            return _committed(first_consumer, own) == len(tickers)

        eventually(all_committed, "the signals dispatched", timeout=90, interval=0.1)
    finally:
        first_consumer.close()
        second_consumer.close()
    executions = wait_all_finished(own, signal_ids, expected=len(tickers))
    assert sorted(e.signal_id for e in executions) == sorted(signal_ids)
